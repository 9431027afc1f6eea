#!/usr/bin/env bash
# Runs one golden case: `strata build --dry-run` on tests/golden/<case>/ and
# compares stdout, stderr and the exit code with <case>/expected.
#   <case>/Dockerfile   the input
#   <case>/args         optional: the arguments after `build --dry-run`
#                       (default: -f Dockerfile <ctx>, ctx = context/ if present, else .)
#   <case>/context/     optional: the build context
# In expected, {{HOST}} stands for the platform of the machine the case runs
# on (the default target and BUILDPLATFORM), worked out here from uname -m
# as BuildKit names it, so that the cases pass on any host.
# STRATA_UPDATE_GOLDEN=1 rewrites expected instead of comparing (the host's
# platform after "for ", "platform=", "BUILDPLATFORM=" or in a JSON
# "platform" becomes {{HOST}} again).
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
case $(uname -m) in
  x86_64) host=linux/amd64 ;;
  aarch64 | arm64) host=linux/arm64 ;;
  armv7*) host=linux/arm/v7 ;;
  i686 | i386) host=linux/386 ;;
  *) host=linux/$(uname -m) ;;
esac
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
  printf '%s\n' "$actual" |
    HOST=$host perl -pe 's#(for |platform=|BUILDPLATFORM=|"platform": ")\Q$ENV{HOST}\E(?=[\s:",]|$)#$1\{\{HOST\}\}#g' > expected
  exit 0
fi
if ! diff -u <(sed "s#{{HOST}}#$host#g" expected) <(printf '%s\n' "$actual"); then
  echo "golden case $(basename "$case_dir") differs (STRATA_UPDATE_GOLDEN=1 rewrites it)" >&2
  exit 1
fi
