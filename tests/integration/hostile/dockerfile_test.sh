#!/usr/bin/env bash
# Hostile Dockerfiles end in a clear error, never in a crash: an endless
# input (/dev/zero, from a file and on stdin), an expansion that doubles
# thirty times, ${X:- nested 8,000 deep, 100,000 unbalanced braces and
# brackets, and a line of megabytes (the error shows a window of it).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
mkdir -p "$T/ctx"
D=$T/ctx
python3 - "$D" <<'PY'
import sys
d = sys.argv[1]
def write(name, text):
    with open(f"{d}/{name}", "w") as f:
        f.write(text)
write("doubling", "FROM scratch\nENV A=xx\n" + "ENV A=$A$A\n" * 30)
write("nested", "FROM scratch\nENV A=" + "${X:-" * 8000 + "\n")
write("nested-closed", "FROM scratch\nLABEL a=" + "${X:-" * 8000 + "}" * 8000 + "\n")
write("braces", "FROM scratch\nENV A=" + "${" + "{" * 100000 + "\n")
write("dollar-braces", "FROM scratch\nENV A=" + "${" * 100000 + "\n")
write("brackets", "FROM scratch\nRUN " + "[" * 100000 + "\n")
write("long-line", "FROM scratch\nRUN --mount=" + "x" * 4000000 + " true\n")
write("many-args", "FROM scratch\n" + "ARG A=1\n" * 100000 + "RUN true\n")
PY
cases=0
check() {  # check DOCKERFILE REGEX [stdin file]
  local rc=0
  if [ -n "${3:-}" ]; then
    head -c 100000000 "$3" | "$STRATA" build --dry-run -f - "$D" >/dev/null 2>"$T/err" || rc=$?
  else
    "$STRATA" build --dry-run -f "$1" "$D" >/dev/null 2>"$T/err" || rc=$?
  fi
  [ "$rc" -ne 0 ] || fail "$1 was accepted"
  [ "$rc" -lt 128 ] || fail "$1: strata died with a signal (exit $rc)"
  grep -Eq "$2" "$T/err" || fail "$1: said $(head -c 500 "$T/err"); expected /$2/"
  [ "$(wc -c < "$T/err")" -lt 4000 ] || fail "$1: an error of $(wc -c < "$T/err") bytes"
  cases=$((cases + 1))
}
check /dev/zero '/dev/zero is larger than 16777216 bytes'
check - 'the Dockerfile on standard input is larger than 16777216 bytes' /dev/zero
check "$D/doubling" 'doubling:[0-9]+:5: .*the expansion is longer than 1048576 characters'
check "$D/nested" 'nested:2:5: .*nested more than 128 deep'
check "$D/nested-closed" 'nested-closed:2:7: .*nested more than 128 deep'
check "$D/braces" 'braces:2:5: .*bad substitution'
check "$D/dollar-braces" 'dollar-braces:2:5: .*unsupported modifier'
check "$D/long-line" 'long-line:2:[0-9]+: invalid field'
# Accepted, and still fast enough to finish: brackets are a shell command,
# a hundred thousand ARGs are a plan.
for ok in brackets many-args; do
  "$STRATA" build --dry-run -f "$D/$ok" "$D" >/dev/null 2>"$T/err" || fail "$ok: $(head -c 300 "$T/err")"
  cases=$((cases + 1))
done
echo "ok: $cases hostile Dockerfiles"
