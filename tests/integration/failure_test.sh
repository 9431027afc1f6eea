#!/usr/bin/env bash
# A failing RUN names the step and the exit code and shows the output; an
# interrupted build stops its container; neither leaves mounts or temporary
# files, and the next build works.
source "$(dirname "$0")/lib.sh"
make_busybox
mkdir -p "$T/ctx"
printf 'FROM busybox\nRUN echo first\nRUN echo going down && exit 3\n' > "$T/ctx/Dockerfile"
if "$STRATA" build "$T/ctx" > "$T/out" 2> "$T/err"; then fail "a failing RUN built"; fi
grep -q "step 3/3 of stage stage-0 (Dockerfile:3): process \"/bin/sh -c echo going down && exit 3\" did not complete successfully: exit code: 3" "$T/err" || fail "error text: $(cat "$T/err")"
grep -q "| going down" "$T/err" || fail "no output in the error: $(cat "$T/err")"
grep -q " $T" /proc/self/mounts && fail "mounts left after a failed build"
[ -z "$(ls "$STRATA_ROOT/tmp")" ] || fail "temporary files left: $(ls "$STRATA_ROOT/tmp")"

# SIGTERM once the step's container runs (it says so).
start_signals "$T/ctx"
cat > "$T/ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
ARG SIG
RUN --mount=type=bind,source=signals.sh,target=/signals.sh . /signals.sh && announce running && sleep 60
DOCKERFILE
"$STRATA" build --progress quiet --build-arg SIG="$SIGNALS" "$T/ctx" >/dev/null 2>&1 & pid=$!
wait_signal running
pgrep -f "sleep 60" >/dev/null || fail "the step's container is not running"
kill -TERM "$pid"
if wait "$pid"; then fail "an interrupted build succeeded"; fi
grep -q " $T" /proc/self/mounts && fail "mounts left after SIGTERM"
[ -z "$(ls "$STRATA_ROOT/tmp")" ] || fail "temporary files left after SIGTERM"
pgrep -f "sleep 60" >/dev/null && fail "the container outlived the build"

printf 'FROM busybox\nRUN echo fine\n' > "$T/ctx/Dockerfile"
"$STRATA" build --progress quiet "$T/ctx" >/dev/null || fail "the next build failed"
echo "ok"
