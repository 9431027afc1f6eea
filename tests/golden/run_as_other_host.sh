#!/usr/bin/env bash
# Every golden case again as if on another platform: under `setarch i686`
# uname -m says i686, so strata's host (the default target, BUILDPLATFORM)
# is linux/386, and the cases must pass with {{HOST}} standing for that.
# Skips (77) where setarch i686 cannot run (machines that are not x86).
#   run_as_other_host.sh STRATA GOLDEN_DIR
set -u
strata=$1 dir=$2
setarch i686 true 2>/dev/null || { echo "skipped: setarch i686 does not run here"; exit 77; }
[ "$(setarch i686 uname -m)" = i686 ] || { echo "skipped: setarch i686 does not change uname -m"; exit 77; }
failed=0 cases=0
for c in "$dir"/*/; do
  cases=$((cases + 1))
  setarch i686 "$dir/run_golden.sh" "$strata" "$c" || failed=$((failed + 1))
done
echo "$cases golden cases as linux/386: $failed failed"
[ "$failed" -eq 0 ]
