#!/usr/bin/env bash
# The live terminal display, driven in tmux: two stages build at once; the
# screen shows both RUN steps running with their timers and their output,
# the block follows the terminal when it is made narrower, and the finished
# build leaves each step's line, the result and "FINISHED". --progress plain
# writes no escape code, and --progress auto without a terminal is plain.
source "$(dirname "$0")/lib.sh"
need tmux
make_busybox
mkdir -p "$T/ctx"
cat > "$T/ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox AS a
RUN echo a-working; sleep 3; echo a > /a.txt
FROM busybox AS b
RUN echo b-working; sleep 3; echo b > /b.txt
FROM busybox
COPY --from=a /a.txt /a.txt
COPY --from=b /b.txt /b.txt
RUN cat /a.txt /b.txt
DOCKERFILE
TM=(tmux -L "strata-tty-$$")
trap '"${TM[@]}" kill-server 2>/dev/null || true; cleanup' EXIT
"${TM[@]}" new-session -d -s build -x 100 -y 30 \
  "env STRATA_ROOT=$STRATA_ROOT TERM=xterm $STRATA build --jobs 2 -t app $T/ctx; echo EXIT=\$?; sleep 60"
screen() { "${TM[@]}" capture-pane -p -t build; }
running=""
for _ in $(seq 40); do
  sleep 0.1
  s=$(screen)
  if grep -q "=> \[a 2/2\] RUN echo a-working.* [0-9]*\.[0-9]s$" <<<"$s" &&
    grep -q "=> \[b 2/2\] RUN echo b-working.* [0-9]*\.[0-9]s$" <<<"$s"; then
    running=$s
    break
  fi
done
[ -n "$running" ] || fail "the screen never showed both RUN steps running: $(screen)"
grep -q "^\[+\] Building [0-9]*\.[0-9]s (" <<<"$running" || fail "no header: $running"
sleep 0.6
grep -q "=> => # a-working" <<<"$(screen)" || fail "a's output is not under it: $(screen)"
# Narrower: the live lines are drawn again to fit.
"${TM[@]}" resize-window -t build -x 50
sleep 0.4
block=$(screen | sed -n '/^\[+\] Building/,$p')
grep -q "=> \[a 2/2\]" <<<"$block" || fail "the block after the resize: $block"
while IFS= read -r line; do
  [ "${#line}" -le 50 ] || fail "a line wider than the terminal: [$line]"
done <<<"$block"
"${TM[@]}" resize-window -t build -x 100
done_screen=""
for _ in $(seq 150); do
  sleep 0.1
  s=$(screen)
  if grep -q "^EXIT=" <<<"$s"; then done_screen=$s; break; fi
done
[ -n "$done_screen" ] || fail "the build did not end: $(screen)"
grep -q "^EXIT=0" <<<"$done_screen" || fail "the build failed: $done_screen"
grep -q "FINISHED" <<<"$done_screen" || fail "no FINISHED line: $done_screen"
grep -q "=> \[stage-2 4/4\] RUN cat /a.txt /b.txt" <<<"$done_screen" || fail "the last step: $done_screen"
grep -q "^sha256:[0-9a-f]\{64\}" <<<"$done_screen" || fail "no digest printed: $done_screen"
! grep -q "=> => # a-working" <<<"$done_screen" || fail "a finished step's output stayed: $done_screen"

# No terminal, or plain: the log, without an escape code.
for mode in plain auto; do
  "$STRATA" build --progress "$mode" --no-cache "$T/ctx" > /dev/null 2> "$T/$mode.log" || fail "--progress $mode"
  ! grep -q $'\x1b' "$T/$mode.log" || fail "--progress $mode wrote an escape code"
  grep -q "^\[a 2/2\] RUN echo a-working" "$T/$mode.log" || fail "--progress $mode: $(cat "$T/$mode.log")"
done
echo "tty display: OK"
