#!/usr/bin/env bash
# A store on a full 200 MB file system (a tmpfs of that size): a build that
# fills it fails with a clear error that says so, leaves nothing mounted
# and nothing in tmp/, and once space is freed the store builds again and
# gives the digest it gave before.
source "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=0
mkdir -p "$T/small"
mount -t tmpfs -o size=200m tmpfs "$T/small"
unmount_small() { umount "$T/small" 2>/dev/null || true; cleanup; }
trap unmount_small EXIT
export STRATA_ROOT=$T/small/store
make_busybox
mkdir -p "$T/ctx"
printf 'FROM busybox\nRUN echo small > /small\n' > "$T/ctx/Dockerfile"
before=$("$STRATA" build --progress quiet "$T/ctx" | tail -1)
printf 'FROM busybox\nRUN dd if=/dev/zero of=/big bs=1M count=300\n' > "$T/ctx/Dockerfile.big"
rc=0
"$STRATA" build --progress quiet -f "$T/ctx/Dockerfile.big" "$T/ctx" > "$T/out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a build of 300 MB on a 200 MB store succeeded"
[ "$rc" -lt 128 ] || fail "strata died (exit $rc): $(tail -3 "$T/out")"
grep -qiE "no space left on device|exited with|failed" "$T/out" || fail "unclear error: $(cat "$T/out")"
if grep -q " $STRATA_ROOT/" /proc/self/mounts; then fail "left mounted after the failure"; fi
[ -z "$(ls -A "$STRATA_ROOT/tmp")" ] || fail "left in tmp/: $(ls -A "$STRATA_ROOT/tmp")"
# Fill what is left from outside, then try again: still a clear error.
dd if=/dev/zero of="$T/small/filler" bs=1M count=400 2>/dev/null || true
rc=0
printf 'FROM busybox\nRUN echo other > /other\n' > "$T/ctx/Dockerfile.other"
"$STRATA" build --progress quiet -f "$T/ctx/Dockerfile.other" "$T/ctx" > "$T/out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a build on a full store succeeded"
[ "$rc" -lt 128 ] || fail "strata died on a full store (exit $rc)"
grep -qi "no space left on device" "$T/out" || fail "unclear error on a full store: $(cat "$T/out")"
rm -f "$T/small/filler"
expect_eq "$("$STRATA" build --progress quiet "$T/ctx" | tail -1)" "$before" "the build after space was freed"
"$STRATA" build --progress quiet -f "$T/ctx/Dockerfile.other" "$T/ctx" >/dev/null
echo "ok"
