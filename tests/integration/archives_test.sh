#!/usr/bin/env bash
# strata save / load round trips (.tar, .tar.gz, .tar.zst) keep every digest,
# `strata load` takes podman's own archives, and a tampered blob is refused
# with nothing stored.
source "$(dirname "$0")/lib.sh"
make_busybox
digest=$("$STRATA" inspect busybox | jq -r .digest)
"$STRATA" save busybox -o "$T/bb.tar"
gzip -k "$T/bb.tar"
zstd -q "$T/bb.tar" -o "$T/bb.tar.zst"
for f in bb.tar bb.tar.gz bb.tar.zst; do
  STRATA_ROOT=$T/s-$f "$STRATA" load "$T/$f" >/dev/null
  got=$(STRATA_ROOT=$T/s-$f "$STRATA" inspect busybox | jq -r .digest)
  expect_eq "$got" "$digest" "$f"
  expect_eq "$(STRATA_ROOT=$T/s-$f "$STRATA" run busybox echo ok)" "ok" "$f"
done
# Tamper with the last layer blob: the load must fail and tag nothing.
mkdir "$T/x" && tar -C "$T/x" -xf "$T/bb.tar"
blob=$(ls -S "$T/x/blobs/sha256" | head -1)
printf 'garbage' >> "$T/x/blobs/sha256/$blob"
tar -C "$T/x" -cf "$T/bad.tar" .
if STRATA_ROOT=$T/bad "$STRATA" load "$T/bad.tar" 2> "$T/err"; then fail "a tampered archive loaded"; fi
grep -q "digest mismatch" "$T/err" || fail "error text: $(cat "$T/err")"
[ -z "$(STRATA_ROOT=$T/bad "$STRATA" images | tail -n +2)" ] || fail "a tampered archive left an image"
[ ! -e "$T/bad/blobs/sha256/$blob" ] || fail "a tampered blob was stored"
if command -v podman >/dev/null; then
  "$STRATA" save busybox -o "$T/for-podman.tar"
  podman load -i "$T/for-podman.tar" >/dev/null 2>&1 || fail "podman load"
  podman save --format docker-archive -o "$T/podman.tar" localhost/busybox:latest >/dev/null 2>&1
  STRATA_ROOT=$T/from-podman "$STRATA" load "$T/podman.tar" >/dev/null
  expect_eq "$(STRATA_ROOT=$T/from-podman "$STRATA" run localhost/busybox echo ok)" "ok" "podman's archive"
  podman rmi -f localhost/busybox:latest >/dev/null 2>&1 || true
fi
echo "ok"
