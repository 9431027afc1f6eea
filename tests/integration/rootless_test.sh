#!/usr/bin/env bash
# strata run by a user without root (a user the test makes, with a
# subuid/subgid range): it re-executes itself in a user namespace and builds
# what root builds. A busybox base and a build with COPY --chown=1000:1000,
# a RUN as USER 1000, a cache mount and secret, tmpfs and bind mounts give
# root's digest (SOURCE_DATE_EPOCH fixed); strata run prints what root's prints; the saved archive's layers
# hold uid/gid 0 and 1000, none of the host's ids; a push to a registry on
# 127.0.0.1 reads back with skopeo; every file under the user's store
# belongs to the user or its subordinate ids, and strata unshare rm -rf
# removes it; fuse-overlayfs (forced) gives the same image; a user without
# a range gets the error that says what to run.
source "$(dirname "$0")/lib.sh"
need newuidmap newgidmap skopeo jq docker-registry useradd usermod runuser
export SOURCE_DATE_EPOCH=0
USER_OK=strata-rootless
USER_NO=strata-nosubids
SUB_START=300000
for u in "$USER_OK" "$USER_NO"; do
  id "$u" > /dev/null 2>&1 || useradd -m -s /bin/sh "$u"
done
grep -q "^$USER_OK:" /etc/subuid || usermod --add-subuids $SUB_START-$((SUB_START + 65535)) "$USER_OK"
grep -q "^$USER_OK:" /etc/subgid || usermod --add-subgids $SUB_START-$((SUB_START + 65535)) "$USER_OK"
sed -i "/^$USER_NO:/d" /etc/subuid /etc/subgid
SUB_START=$(awk -F: -v u="$USER_OK" '$1 == u {print $2; exit}' /etc/subuid)
UID_OK=$(id -u "$USER_OK")
HOME_OK=$(getent passwd "$USER_OK" | cut -d: -f6)

# What the user may read: strata, the contexts, the base's archive.
chmod 0755 "$T"
mkdir -p "$T/pub"
cp "$STRATA" "$T/pub/strata"
make_busybox
"$STRATA" save busybox -o "$T/pub/busybox.tar" 2> /dev/null
mkdir -p "$T/pub/app/data"
echo payload > "$T/pub/app/data/file"
cat > "$T/pub/app/Dockerfile" <<'DOCKERFILE'
FROM busybox
COPY --chown=1000:1000 data /data
RUN --mount=type=cache,target=/cache echo run >> /cache/log && cp /cache/log /runs
RUN mkdir /work && chown 1000:1000 /work
RUN rm -rf /data && mkdir /data && echo new > /data/file2 && rm /bin/vi && test ! -e /bin/vi
RUN --mount=type=secret,id=token --mount=type=tmpfs,target=/scratch --mount=type=bind,source=data,target=/ctx \
    test "$(cat /run/secrets/token)" = s3cret && touch /scratch/x && cat /ctx/file > /work/from-bind
USER 1000
RUN id -u > /work/uid && id -g >> /work/uid && touch /work/mine
DOCKERFILE
chmod -R a+rX "$T/pub"
as_user() {  # USER CMD...: as that user, in its home, its own store
  local u=$1
  shift
  (cd / && runuser -u "$u" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$(getent passwd "$u" | cut -d: -f6)" \
    SOURCE_DATE_EPOCH=0 STRATA_INSECURE_REGISTRIES="${STRATA_INSECURE_REGISTRIES:-}" \
    STRATA_OVERLAY="${STRATA_OVERLAY:-}" "$@")
}
S=$T/pub/strata
STORE=$HOME_OK/.local/share/strata
rm -rf "$STORE" "$STORE.kernel"
trap 'rm -rf "$STORE" "$STORE.kernel"; cleanup' EXIT

# A user without a subordinate range: told what to run, nothing else done.
as_user "$USER_NO" "$S" images > "$T/out" 2>&1 && fail "strata ran without a subuid range"
grep -q "/etc/subuid gives $USER_NO no range of subordinate ids" "$T/out" || fail "the error: $(cat "$T/out")"
grep -q "usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER_NO" "$T/out" ||
  fail "the error does not say what to run: $(cat "$T/out")"
as_user "$USER_NO" "$S" --help > /dev/null 2>&1 || fail "--help needs no subuid range"

# The build, as the user and as root.
as_user "$USER_OK" "$S" load "$T/pub/busybox.tar" > "$T/out" 2>&1 || fail "load as the user: $(cat "$T/out")"
echo s3cret > "$T/pub/token"
as_user "$USER_OK" "$S" build --progress plain --secret id=token,src="$T/pub/token" -t app "$T/pub/app" > "$T/log" 2>&1 ||
  fail "the build as the user: $(cat "$T/log")"
rootless_digest=$(tail -1 "$T/log")
root_digest=$("$STRATA" build --progress quiet --secret id=token,src="$T/pub/token" -t app "$T/pub/app")
expect_eq "$rootless_digest" "$root_digest" "the image built without root and with it"
[ -d "$STORE/blobs" ] || fail "the user's store is not under ~/.local/share/strata"
# A context from standard input: in a directory of the user's under $TMPDIR,
# not root's (which strata, root in its namespace, must not take for its own).
mkdir -p -m 0700 /tmp/strata-0
printf 'FROM busybox\nRUN echo from-stdin > /s\n' | as_user "$USER_OK" "$S" build --progress quiet -t stdin - \
  > /dev/null 2> "$T/log" || fail "a build from standard input: $(cat "$T/log")"
cmd=(run app sh -c 'ls -ln /data /work | sed "s/  */ /g"; cat /work/uid /runs /work/from-bind; ls /bin | wc -l')
expect_eq "$(as_user "$USER_OK" "$S" "${cmd[@]}" 2>&1)" "$("$STRATA" "${cmd[@]}" 2>&1)" "strata run"
expect_eq "$(as_user "$USER_OK" "$S" run app cat /work/uid | tr '\n' ' ')" "1000 0 " "USER 1000 (no passwd entry: group 0)"

# Through fuse-overlayfs (where a kernel cannot mount overlayfs in a user
# namespace; forced here), on a store of its own: the same image again.
if command -v fuse-overlayfs > /dev/null && [ -e /dev/fuse ]; then
  fuse_mode=$(stat -c %a /dev/fuse)
  chmod 0666 /dev/fuse
  trap 'chmod "$fuse_mode" /dev/fuse; rm -rf "$STORE" "$STORE.kernel"; cleanup' EXIT
  mv "$STORE" "$STORE.kernel"
  export STRATA_OVERLAY=fuse-overlayfs
  as_user "$USER_OK" "$S" load "$T/pub/busybox.tar" > /dev/null 2>&1 || fail "load (fuse)"
  fuse_digest=$(as_user "$USER_OK" "$S" build --progress quiet --secret id=token,src="$T/pub/token" \
    -t app "$T/pub/app" 2> "$T/log") || fail "the build through fuse-overlayfs: $(cat "$T/log")"
  expect_eq "$fuse_digest" "$root_digest" "the image built through fuse-overlayfs"
  expect_eq "$(as_user "$USER_OK" "$S" "${cmd[@]}" 2>&1)" "$("$STRATA" "${cmd[@]}" 2>&1)" "strata run (fuse)"
  # Each fuse-overlayfs ends when its mount goes (it notices a moment later).
  for _ in $(seq 30); do pgrep -u "$USER_OK" fuse-overlayfs > /dev/null || break; sleep 0.1; done
  ! pgrep -u "$USER_OK" fuse-overlayfs > /dev/null || fail "fuse-overlayfs left running"
  unset STRATA_OVERLAY
  chmod "$fuse_mode" /dev/fuse
  rm -rf "$STORE"
  mv "$STORE.kernel" "$STORE"
else
  skip_part "fuse-overlayfs without root: fuse-overlayfs or /dev/fuse is missing"
fi

# The cache mount is kept: a changed step after it runs again and reads it.
echo more > "$T/pub/app/data/file"
second_digest=$(as_user "$USER_OK" "$S" build --progress quiet --secret id=token,src="$T/pub/token" -t app "$T/pub/app" 2> "$T/log") ||
  fail "the second build: $(cat "$T/log")"
expect_eq "$(as_user "$USER_OK" "$S" run app cat /runs | wc -l)" 2 "the cache mount's log"

# The archive's layers hold the image's owners, none of the host's ids.
as_user "$USER_OK" "$S" save app -o "$HOME_OK/app.tar" > /dev/null 2> "$T/log" || fail "save: $(cat "$T/log")"
mkdir -p "$T/x"
tar -xf "$HOME_OK/app.tar" -C "$T/x"
rm -f "$HOME_OK/app.tar"
owners=$(for l in $(jq -r '.[0].Layers[]' "$T/x/manifest.json"); do tar -tvf "$T/x/$l" --numeric-owner; done |
  awk '{print $2}' | sort -u | tr '\n' ' ')
expect_eq "$owners" "0/0 1000/0 1000/1000 " "the layers' owners (COPY --chown 1000:1000, the RUN as 1000 with group 0)"

# A push to a registry on 127.0.0.1, read by skopeo.
start_registry registry
export STRATA_INSECURE_REGISTRIES=127.0.0.1:$PORT
as_user "$USER_OK" "$S" push app "127.0.0.1:$PORT/rootless/app:1" > "$T/out" 2>&1 || fail "push: $(cat "$T/out")"
expect_eq "$(skopeo inspect --tls-verify=false "docker://127.0.0.1:$PORT/rootless/app:1" | jq -r .Digest)" \
  "$second_digest" "skopeo reads the pushed image"

# Every file of the user's store is the user's or its subordinate ids'.
strangers=$(find "$STORE" \( ! -uid "$UID_OK" -a \( -uid -$SUB_START -o -uid +$((SUB_START + 65535)) \) \) -print | head -5)
[ -z "$strangers" ] || fail "files of other users under the store: $strangers"
grep -q " $STORE" /proc/self/mounts && fail "mounts left under the user's store"
# The user removes the store, files of its subordinate ids included.
as_user "$USER_OK" "$S" unshare rm -rf "$STORE" || fail "strata unshare rm -rf the store"
[ ! -e "$STORE" ] || fail "the store is still there"
echo "rootless: OK"
