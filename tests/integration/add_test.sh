#!/usr/bin/env bash
# ADD: local archives (gz, bz2, xz, zst) are unpacked; a URL served on
# 127.0.0.1 is downloaded, named after the URL, given mode 0600, checked
# against --checksum; a wrong checksum fails the build.
source "$(dirname "$0")/lib.sh"
make_busybox
mkdir -p "$T/ctx/payload/dir" "$T/www"
echo inside > "$T/ctx/payload/dir/file"
tar -C "$T/ctx/payload" -czf "$T/ctx/p.tar.gz" dir
tar -C "$T/ctx/payload" -cjf "$T/ctx/p.tar.bz2" dir
tar -C "$T/ctx/payload" -cJf "$T/ctx/p.tar.xz" dir
tar -C "$T/ctx/payload" -cf - dir | zstd -q > "$T/ctx/p.tar.zst"
echo "downloaded content" > "$T/www/tool.txt"
sum=sha256:$(sha256sum "$T/www/tool.txt" | cut -d' ' -f1)
port=$(free_port)
busybox httpd -f -p "127.0.0.1:$port" -h "$T/www" &
PIDS+=($!)
for _ in $(seq 50); do busybox wget -q -O /dev/null "http://127.0.0.1:$port/tool.txt" 2>/dev/null && break; sleep 0.1; done
cat > "$T/ctx/Dockerfile" <<DOCKERFILE
FROM busybox
ADD p.tar.gz /gz/
ADD p.tar.bz2 /bz2/
ADD p.tar.xz /xz/
ADD p.tar.zst /zst/
ADD --checksum=$sum http://127.0.0.1:$port/tool.txt /opt/
ADD http://127.0.0.1:$port/tool.txt /renamed.txt
DOCKERFILE
"$STRATA" build --progress quiet -t added "$T/ctx" >/dev/null 2> "$T/err" || fail "build: $(cat "$T/err")"
for d in gz bz2 xz zst; do
  expect_eq "$("$STRATA" run added cat /$d/dir/file)" "inside" "ADD of a .tar.$d"
done
expect_eq "$("$STRATA" run added cat /opt/tool.txt)" "downloaded content" "ADD <url> into a directory"
expect_eq "$("$STRATA" run added stat -c %a /opt/tool.txt)" "600" "mode of a downloaded file"
expect_eq "$("$STRATA" run added cat /renamed.txt)" "downloaded content" "ADD <url> to a file name"
bad=sha256:$(printf '%064d' 0)
printf 'FROM busybox\nADD --checksum=%s http://127.0.0.1:%s/tool.txt /x\n' "$bad" "$port" > "$T/ctx/Dockerfile"
if "$STRATA" build --progress quiet "$T/ctx" > /dev/null 2> "$T/err"; then fail "a wrong checksum built"; fi
grep -q "does not match" "$T/err" || fail "error text: $(cat "$T/err")"
echo "ok"
