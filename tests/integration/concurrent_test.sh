#!/usr/bin/env bash
# Four builds at once on one store, with shared and locked cache mounts,
# and a prune alongside, ten rounds: every build succeeds and gives the
# digest a build alone gives, the locked mount is never used by two at once,
# and the store is sound afterwards (blobs match their names, nothing
# mounted, tmp/ empty).
source "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=0
make_busybox
C=$T/ctx
mkdir -p "$C"
for i in 1 2 3 4; do
  cat > "$C/Dockerfile.$i" <<DOCKERFILE
FROM busybox
RUN --mount=type=cache,target=/shared,id=shared echo $i >> /shared/log && echo $i > /mine
RUN --mount=type=cache,target=/locked,id=locked,sharing=locked \\
    if [ -e /locked/busy ]; then echo "two users of a locked mount" > /clash; fi; \\
    touch /locked/busy; sleep 0.1; rm /locked/busy
RUN test ! -e /clash && cat /mine
DOCKERFILE
  alone[$i]=$(STRATA_ROOT=$T/alone-$i make_busybox; STRATA_ROOT=$T/alone-$i "$STRATA" build --progress quiet -f "$C/Dockerfile.$i" "$C" | tail -1)
done
for round in $(seq 10); do
  pids=()
  for i in 1 2 3 4; do
    "$STRATA" build --progress quiet --no-cache -f "$C/Dockerfile.$i" -t "c$i" "$C" > "$T/out.$i" 2>&1 &
    pids+=($!)
  done
  "$STRATA" cache prune --all > "$T/prune.out" 2>&1 &
  prune=$!
  for i in 1 2 3 4; do
    wait "${pids[$((i - 1))]}" || fail "round $round: build $i failed: $(cat "$T/out.$i")"
    expect_eq "$(tail -1 "$T/out.$i")" "${alone[$i]}" "round $round: build $i's digest"
  done
  wait "$prune" || fail "round $round: the prune failed: $(cat "$T/prune.out")"
done
for b in "$STRATA_ROOT"/blobs/sha256/*; do
  [ "$(sha256sum < "$b" | cut -d' ' -f1)" = "$(basename "$b")" ] || fail "blob $(basename "$b") is torn"
done
if grep -q " $STRATA_ROOT/" /proc/self/mounts; then fail "left mounted"; fi
[ -z "$(ls -A "$STRATA_ROOT/tmp")" ] || fail "left in tmp/: $(ls -A "$STRATA_ROOT/tmp")"
for i in 1 2 3 4; do expect_eq "$("$STRATA" run "c$i" cat /mine)" "$i"; done
echo "ok: 10 rounds of 4 builds and a prune"
