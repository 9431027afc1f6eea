# Sourced first by every bench/ shell script: a failing command stops the
# script, inside $(...) and functions too (bash drops set -e there unless
# told), and says which command failed, so that a failed build is never
# printed as a fast one.
set -eEuo pipefail
shopt -s inherit_errexit
trap 'echo "${BASH_SOURCE[0]:-$0}:$LINENO: failed (exit $?): $BASH_COMMAND" >&2' ERR
