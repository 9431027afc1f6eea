#!/usr/bin/env bash
# Runs one golden case: `strata build --dry-run` on tests/golden/<case>/ and
# compares stdout, stderr and the exit code with <case>/expected.
#   <case>/Dockerfile   the input
#   <case>/args         optional: the arguments after `build --dry-run`
#                       (default: -f Dockerfile <ctx>, ctx = context/ if present, else .)
#   <case>/context/     optional: the build context
# STRATA_UPDATE_GOLDEN=1 rewrites expected instead of comparing.
set -u
strata=$1
case_dir=$2
cd "$case_dir" || exit 2
if [ -f args ]; then
  read -r -a args < args
else
  ctx=.
  [ -d context ] && ctx=context
  args=(-f Dockerfile "$ctx")
fi
# For --build-arg NAME (value taken from the environment).
export STRATA_GOLDEN_ENV="value from the environment"
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$strata" build --dry-run "${args[@]}" >"$out" 2>"$err"
status=$?
actual=$(
  cat "$out"
  if [ -s "$err" ]; then echo "--- stderr"; cat "$err"; fi
  if [ "$status" -ne 0 ]; then echo "--- exit $status"; fi
)
if [ "${STRATA_UPDATE_GOLDEN:-}" = 1 ]; then
  printf '%s\n' "$actual" > expected
  exit 0
fi
if ! diff -u expected <(printf '%s\n' "$actual"); then
  echo "golden case $(basename "$case_dir") differs (STRATA_UPDATE_GOLDEN=1 rewrites it)" >&2
  exit 1
fi
