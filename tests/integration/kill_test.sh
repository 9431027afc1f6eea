#!/usr/bin/env bash
# kill -9 of a build whose step runs for 20 s: the step's container dies
# with strata (its watcher kills it within a second or two), nothing stays
# mounted, tmp/ is emptied, and a secret given to the step as a variable was
# only ever on a tmpfs. With the watcher killed too (a process group killed
# at once), the next command does the same. Each wait polls for what it
# waits for; none decides the outcome by a fixed delay.
source "$(dirname "$0")/lib.sh"
make_busybox
mkdir -p "$T/ctx"
secret=secret-$RANDOM$RANDOM$RANDOM
printf '%s' "$secret" > "$T/secret"
marker=strata-kill-test-$RANDOM
cat > "$T/ctx/Dockerfile" <<DOCKERFILE
FROM busybox
RUN --mount=type=secret,id=tok,env=TOK sh -c 'echo started > /tmp-started; sleep 20; true # $marker'
DOCKERFILE
# poll WHAT COMMAND...: until the command succeeds, at most 10 s.
poll() {
  local what=$1
  shift
  for _ in $(seq 200); do "$@" && return 0; sleep 0.05; done
  fail "waited 10 s for: $what"
}
step_running() { pgrep -f "sleep 20; true # $marker" >/dev/null; }
step_gone() { ! step_running; }
nothing_mounted() { ! grep -q " $STRATA_ROOT/" /proc/self/mounts; }
tmp_empty() { [ -z "$(ls -A "$STRATA_ROOT/tmp")" ]; }

for round in watcher next-command; do
  "$STRATA" build --progress quiet --no-cache --secret "id=tok,src=$T/secret" "$T/ctx" >/dev/null 2>&1 &
  pid=$!
  poll "the step to start ($round)" step_running
  # The step's process spec holds the secret: on a tmpfs, nowhere else.
  found=$(grep -rlF "$secret" "$STRATA_ROOT" 2>/dev/null || true)
  [ -n "$found" ] || fail "the running step's spec was not found (the test no longer looks where it is)"
  for f in $found; do
    [ "$(stat -f -c %T "$f")" = tmpfs ] || fail "the secret is in $f, on $(stat -f -c %T "$f")"
  done
  watcher=$(pgrep -f "__watch $pid " || true)
  [ -n "$watcher" ] || fail "strata started no watcher"
  if [ "$round" = watcher ]; then
    kill -9 "$pid"
  else
    kill -9 "$pid" "$watcher"
    wait "$pid" 2>/dev/null || true
    step_running || fail "the step ended with strata and its watcher: this round tests nothing"
    "$STRATA" images >/dev/null  # any command
  fi
  wait "$pid" 2>/dev/null || true
  poll "the step to die ($round)" step_gone
  poll "the mounts to go ($round)" nothing_mounted
  poll "tmp/ to be emptied ($round)" tmp_empty
  [ -z "$(ls /run/crun /run/runc 2>/dev/null | grep "^strata-$pid-" || true)" ] || fail "runtime state left ($round)"
  if grep -rqF "$secret" "$STRATA_ROOT" 2>/dev/null; then fail "the secret is still in the store ($round)"; fi
done
# The next build gives what a clean one gives.
"$STRATA" build --progress quiet --secret "id=tok,src=$T/secret" -t after "$T/ctx" >/dev/null 2>&1 &
pid=$!
poll "the step to start again" step_running
pkill -f "sleep 20; true # $marker"  # the step ends early; the build goes on
wait "$pid" || true
echo "ok"
