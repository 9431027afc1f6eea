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

# A busybox base image built by strata itself from Debian's busybox-static.
make_busybox() {
  mkdir -p "$T/busybox"
  cp /bin/busybox "$T/busybox/"
  cat > "$T/busybox/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["/bin/sh"]
DOCKERFILE
  "$STRATA" build --progress quiet -t busybox "$T/busybox" >/dev/null
}
