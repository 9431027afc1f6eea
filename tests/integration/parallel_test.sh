#!/usr/bin/env bash
# Independent stages run in parallel (--jobs): two stages that each wait for
# the other to have started, through a shared cache mount, can only finish
# when they run at the same time. Only the stages the target needs are built.
source "$(dirname "$0")/lib.sh"
make_busybox
mkdir -p "$T/ctx"
cat > "$T/ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox AS left
RUN --mount=type=cache,id=rendezvous,target=/sync \
    touch /sync/left && i=0; until [ -e /sync/right ]; do i=$((i+1)); [ $i -gt 200 ] && exit 9; sleep 0.05; done; echo left > /out
FROM busybox AS right
RUN --mount=type=cache,id=rendezvous,target=/sync \
    touch /sync/right && i=0; until [ -e /sync/left ]; do i=$((i+1)); [ $i -gt 200 ] && exit 9; sleep 0.05; done; echo right > /out
FROM busybox AS unused
RUN echo never > /never && touch /sync-unused-built
FROM busybox
COPY --from=left /out /left
COPY --from=right /out /right
DOCKERFILE
"$STRATA" build --jobs 2 -t par "$T/ctx" > "$T/out" 2> "$T/err" || fail "parallel build: $(cat "$T/err")"
expect_eq "$("$STRATA" run par cat /left /right)" $'left\nright'
grep -q "unused" "$T/err" && fail "a stage the target does not need was built"
echo "ok"
