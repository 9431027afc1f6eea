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
# The step runs until the test has seen the prune wait.
start_signals "$T/ctx"
cat > "$T/ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
ARG SIG
RUN --mount=type=bind,source=signals.sh,target=/signals.sh . /signals.sh && announce running && await go && echo slow > /slow
DOCKERFILE
"$STRATA" build --progress quiet -t slow --build-arg SIG="$SIGNALS" "$T/ctx" > "$T/build.out" 2>&1 & pid=$!
wait_signal running
"$STRATA" cache prune --all > "$T/p3" 2> "$T/p3.err" & prune=$!
wait_for_line "$T/p3.err" "waiting for the builds using this store to finish"
if [ -s "$T/p3" ]; then fail "prune went on while the build ran: $(cat "$T/p3")"; fi
raise_signal go
wait "$pid" || fail "the build failed while a prune waited: $(cat "$T/build.out")"
wait "$prune" || fail "the waiting prune failed: $(cat "$T/p3.err")"
grep -q "^removed [1-9][0-9]* cache records" "$T/p3" || fail "the prune after the build removed nothing: $(cat "$T/p3")"
expect_eq "$("$STRATA" run slow cat /slow)" "slow"

# The automatic policy evicts least recently used records past the limit.
printf 'FROM busybox\nRUN head -c 400000 /dev/urandom > /big\n' > "$T/ctx/Dockerfile"
"$STRATA" build --progress quiet "$T/ctx" >/dev/null
before=$("$STRATA" cache du | sed -n 's/^\([0-9]*\) cache records$/\1/p')
STRATA_GC_KEEP_STORAGE=1KiB "$STRATA" build --progress plain --no-cache "$T/ctx" > /dev/null 2> "$T/gc.err"
grep -qE "garbage collection: [1-9][0-9]* records" "$T/gc.err" || fail "no automatic collection: $(tail -3 "$T/gc.err")"
after=$("$STRATA" cache du | sed -n 's/^\([0-9]*\) cache records$/\1/p')
[ "$after" -lt "$before" ] || fail "records before $before, after $after"
expect_eq "$("$STRATA" run keep cat /kept)" "kept" "tagged images survive the automatic policy"
echo "ok"
