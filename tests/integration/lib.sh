# Shared by the integration tests: each test script sources this file and
# gets $STRATA (the binary), a scratch directory $T with its own store
# ($STRATA_ROOT), and helpers. Exit code 77 means "skipped": a test skips
# only through skip (all of it) or skip_part (one check), which say why and
# append the reason to $STRATA_SKIP_LOG when it is set; scripts/test lists
# every skip and, in CI, fails on any that tests/allowed-skips does not name.
set -euo pipefail
STRATA=$(realpath "$1")
test_dir=$(basename "$(dirname "$(realpath "$0")")")
TEST_NAME=integration.$([ "$test_dir" = integration ] || echo "$test_dir.")$(basename "$0" .sh)
skip_note() {
  echo "skipped: $*"
  if [ -n "${STRATA_SKIP_LOG:-}" ]; then echo "$TEST_NAME: $*" >> "$STRATA_SKIP_LOG"; fi
}
skip() { skip_note "$@"; exit 77; }
skip_part() { skip_note "$@"; }
# need TOOL...: skips the whole test, naming the first tool that is missing.
need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps test installs it)"
  done
}
if [ "$(id -u)" -ne 0 ]; then skip "needs root (overlayfs, namespaces)"; fi
if ! command -v crun >/dev/null && ! command -v runc >/dev/null; then skip "no crun or runc"; fi
if [ ! -x /bin/busybox ]; then skip "busybox-static is not installed"; fi
T=$(mktemp -d /tmp/strata-it.XXXXXX)
export STRATA_ROOT=$T/store
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  # Nothing of strata's may stay mounted, whatever happened.
  if grep -q " $T" /proc/self/mounts; then echo "FAIL: mounts left under $T:"; grep " $T" /proc/self/mounts; rm -rf "$T"; exit 1; fi
  rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "expected [$2], got [$1]${3:+ ($3)}"; }

# A busybox base image of Docker Hub's shape, built by strata itself from
# Debian's busybox-static (tests/integration/busybox_context.sh).
make_busybox() {
  "$(dirname "${BASH_SOURCE[0]}")/busybox_context.sh" "$T/busybox"
  "$STRATA" build --progress quiet -t busybox "$T/busybox" >/dev/null
}

# expect_all_cached WHAT: the last build of $STRATA_ROOT ran no step (so no
# container), as `strata explain --json` records it: every step cached.
expect_all_cached() {
  local record ran
  record=$("$STRATA" explain --json) || fail "$1: strata explain --json failed"
  jq -e 'length > 0' <<<"$record" >/dev/null || fail "$1: the build recorded no step"
  ran=$(jq -r '[.[] | select(.cached | not) | "\(.instruction) (\(.reason))"] | join("; ")' <<<"$record")
  [ -z "$ran" ] || fail "$1: steps ran: $ran"
}

# wait_for_line FILE REGEX [SECONDS]: until a line of FILE matches (60 s).
wait_for_line() {
  local i
  for i in $(seq 1 $((${3:-60} * 20))); do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "waited ${3:-60}s for /$2/ in $1: $(tail -3 "$1" 2>/dev/null)"
}

# Signals between a test and the RUN steps of its builds, in place of
# sleeps: start_signals serves $T/signals on 127.0.0.1 (steps use the host
# network) and puts into a context directory signals.sh, which a step
# bind-mounts and sources with SIG=$SIGNALS passed as a build arg:
#   RUN --mount=type=bind,source=signals.sh,target=/signals.sh \
#       . /signals.sh && announce started && await go && ...
# announce NAME is logged by the server (the test's wait_signal NAME returns);
# await NAME returns once the test has said raise_signal NAME (exit 9 after
# 60 s).
start_signals() {
  local port
  port=$(free_port)
  mkdir -p "$T/signals"
  python3 -u -m http.server --bind 127.0.0.1 --directory "$T/signals" "$port" > "$T/signals.log" 2>&1 &
  PIDS+=($!)
  SIGNALS=http://127.0.0.1:$port
  local i
  for i in $(seq 1 100); do curl -s -o /dev/null "$SIGNALS/" && break; sleep 0.05; done
  cat > "$1/signals.sh" <<'SH'
announce() { wget -q -O /dev/null "$SIG/$1" 2>/dev/null || true; }
await() {
  i=0
  until wget -q -O /dev/null "$SIG/$1" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 1200 ] && { echo "await $1: no signal in 60 s" >&2; exit 9; }
    sleep 0.05
  done
}
SH
}
raise_signal() { touch "$T/signals/$1"; }
wait_signal() { wait_for_line "$T/signals.log" "\"GET /$1 HTTP" "${2:-60}"; }

# Loopback registries (Debian's docker-registry). What a test starts in the
# background goes into PIDS; cleanup stops it.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/v2/" && return 0; sleep 0.1; done
  fail "nothing answers on 127.0.0.1:$1"
}
# start_registry NAME [AUTH-YAML]: a registry on a free loopback port; its
# port in $PORT, its storage under $T/NAME/data, its log in $T/NAME/log.
start_registry() {
  local name=$1 auth=${2:-}
  PORT=$(free_port)
  mkdir -p "$T/$name"
  cat > "$T/$name/config.yml" <<YAML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $T/$name/data
http:
  addr: 127.0.0.1:$PORT
$auth
YAML
  docker-registry serve "$T/$name/config.yml" > "$T/$name/log" 2>&1 &
  PIDS+=($!)
  wait_port "$PORT"
}
# start_dockerd: Debian's dockerd 20.10 on a private socket and data root
# under $T, without a bridge or iptables rules (containers use the host
# network or none); DOCKER_HOST names it; cleanup stops it.
start_dockerd() {
  need dockerd /usr/bin/docker
  mkdir -p "$T/dockerd"
  dockerd --bridge=none --iptables=false --ip6tables=false --ip-masq=false --userland-proxy=false \
    --storage-driver overlay2 --data-root "$T/dockerd/data" --exec-root "$T/dockerd/exec" \
    -H "unix://$T/dockerd/docker.sock" --pidfile "$T/dockerd/pid" > "$T/dockerd/log" 2>&1 &
  PIDS+=($!)
  export DOCKER_HOST=unix://$T/dockerd/docker.sock
  local i
  for i in $(seq 240); do
    /usr/bin/docker version > /dev/null 2>&1 && return 0
    sleep 0.25
  done
  fail "dockerd did not start: $(tail -5 "$T/dockerd/log")"
}
# start_basic_registry NAME USER PASSWORD: the same with htpasswd basic
# auth; its address in $RB.
start_basic_registry() {
  htpasswd -Bbn "$2" "$3" > "$T/$1.htpasswd"
  start_registry "$1" "auth:
  htpasswd:
    realm: strata-test
    path: $T/$1.htpasswd"
  RB=127.0.0.1:$PORT
}
