# Shared by the integration tests: each test script sources this file and
# gets $STRATA (the binary), a scratch directory $T with its own store
# ($STRATA_ROOT), and helpers. Exit code 77 means "skipped".
set -euo pipefail
STRATA=$(realpath "$1")
if [ "$(id -u)" -ne 0 ]; then echo "skipped: needs root (overlayfs, namespaces)"; exit 77; fi
if ! command -v crun >/dev/null && ! command -v runc >/dev/null; then echo "skipped: no crun or runc"; exit 77; fi
if [ ! -x /bin/busybox ]; then echo "skipped: busybox-static is not installed"; exit 77; fi
T=$(mktemp -d /tmp/strata-it.XXXXXX)
export STRATA_ROOT=$T/store
cleanup() {
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

# Loopback registries (Debian's docker-registry). The caller keeps the
# pids of what it starts in PIDS and stops them.
PIDS=()
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
