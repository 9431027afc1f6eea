#!/usr/bin/env bash
# strata cache du / prune: sizes by kind; pruning evicts cache records and
# what only they used, never what a tagged image needs; a prune waits for a
# build that is running in another strata process; the automatic policy
# (STRATA_GC_KEEP_STORAGE) keeps the store under its limit.
source "$(dirname "$0")/lib.sh"
make_busybox
mkdir -p "$T/ctx"
printf 'FROM busybox\nRUN head -c 300000 /dev/urandom > /blob\nRUN echo kept > /kept\n' > "$T/ctx/Dockerfile"
"$STRATA" build --progress quiet -t keep "$T/ctx" >/dev/null
printf 'FROM busybox\nRUN head -c 200000 /dev/urandom > /garbage\n' > "$T/ctx/Dockerfile"
"$STRATA" build --progress quiet "$T/ctx" >/dev/null   # untagged: only the cache keeps it
"$STRATA" cache du > "$T/du"
grep -q "^layers" "$T/du" && grep -q "^snapshots" "$T/du" && grep -q "cache records" "$T/du" || fail "du: $(cat "$T/du")"
records=$(sed -n 's/^\([0-9]*\) cache records$/\1/p' "$T/du")
[ "$records" -ge 4 ] || fail "expected cache records, du says $records"

"$STRATA" cache prune --keep-duration 1h > "$T/p1"
grep -q "removed 0 cache records" "$T/p1" || fail "recent records were evicted: $(cat "$T/p1")"
"$STRATA" cache prune --all > "$T/p2"
grep -q "removed $records cache records" "$T/p2" || fail "prune --all: $(cat "$T/p2")"
expect_eq "$("$STRATA" run keep cat /kept)" "kept" "a tagged image survives prune --all"

# A prune waits while another process builds, and the build completes whole.
printf 'FROM busybox\nRUN sleep 2 && echo slow > /slow\n' > "$T/ctx/Dockerfile"
"$STRATA" build --progress quiet -t slow "$T/ctx" > "$T/build.out" 2>&1 & pid=$!
sleep 0.7
"$STRATA" cache prune --all > "$T/p3" 2> "$T/p3.err"
grep -q "waiting for the builds" "$T/p3.err" || fail "prune did not wait for the running build"
wait "$pid" || fail "the build failed while a prune waited: $(cat "$T/build.out")"
expect_eq "$("$STRATA" run slow cat /slow)" "slow"

# The automatic policy evicts least recently used records past the limit.
printf 'FROM busybox\nRUN head -c 400000 /dev/urandom > /big\n' > "$T/ctx/Dockerfile"
"$STRATA" build --progress quiet "$T/ctx" >/dev/null
before=$("$STRATA" cache du | sed -n 's/^\([0-9]*\) cache records$/\1/p')
STRATA_GC_KEEP_STORAGE=1KiB "$STRATA" build --progress plain --no-cache "$T/ctx" > /dev/null 2> "$T/gc.err"
grep -q "garbage collection:" "$T/gc.err" || fail "no automatic collection: $(tail -3 "$T/gc.err")"
after=$("$STRATA" cache du | sed -n 's/^\([0-9]*\) cache records$/\1/p')
[ "$after" -lt "$before" ] || fail "records before $before, after $after"
expect_eq "$("$STRATA" run keep cat /kept)" "kept" "tagged images survive the automatic policy"
echo "ok"
