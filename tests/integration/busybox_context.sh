#!/usr/bin/env bash
# Writes into DIR a build context whose image has the shape of Docker Hub's
# busybox, made from Debian's busybox-static: one layer, the applets as links
# in /bin, /etc/passwd and /etc/group (root is in wheel), /tmp 1777, /root
# 0700, and `adduser -D NAME` (Debian's busybox has no adduser applet: a
# script does what busybox's does with -D). Used by tests/integration/lib.sh and the BuildKit suite.
#   tests/integration/busybox_context.sh DIR [BUSYBOX-BINARY]
set -euo pipefail
dir=$1
busybox=${2:-/bin/busybox}
root=$dir/rootfs
mkdir -p "$root"/{bin,dev,etc,home,proc,sys,usr/sbin,var/spool/mail,var/www}
install -d -m 1777 "$root/tmp"
install -d -m 0700 "$root/root"
cp "$busybox" "$root/bin/busybox"
# The applet list of the host's busybox: the target's binary may not run here.
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || [ "$applet" = adduser ] || ln -sf busybox "$root/bin/$applet"
done
cat > "$root/bin/adduser" <<'ADDUSER'
#!/bin/sh
# adduser -D NAME: a user and a group of that name with the next free id
# from 1000, home /home/NAME, shell /bin/sh, no password.
[ "$1" = -D ] && [ -n "$2" ] || { echo "usage: adduser -D NAME" >&2; exit 1; }
name=$2
if grep -q "^$name:" /etc/passwd; then echo "adduser: user '$name' in use" >&2; exit 1; fi
id=1000
# (a script for the image's sh: no pipefail there, so a pipe is safe)
while cut -d: -f3 /etc/passwd /etc/group | grep -qx "$id"; do id=$((id + 1)); done
echo "$name:x:$id:" >> /etc/group
echo "$name:x:$id:$id:Linux User,,,:/home/$name:/bin/sh" >> /etc/passwd
echo "$name:!:0:0:99999:7:::" >> /etc/shadow
mkdir -p "/home/$name" && chown "$id:$id" "/home/$name" && chmod 2755 "/home/$name"
ADDUSER
chmod 0755 "$root/bin/adduser"
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nobody:x:65534:
GROUP
printf 'root:*:0:0:99999:7:::\n' > "$root/etc/shadow"
chmod 0600 "$root/etc/shadow"
cat > "$dir/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
CMD ["sh"]
DOCKERFILE
