# Sourced by bench/ scripts that time BuildKit beside strata in the same run
# (BENCH_BUILDKIT=1): BuildKit inside Debian's dockerd 20.10, started by
# ../shared/peers (its setup.sh done once: the daemon on a private socket
# with no bridge, the peers' busybox base imported). buildkit_start sets
# $DOCKER (the docker 20.10 CLI on that socket) and $BASE_BUSYBOX, starting
# the daemon when it is down; it stops the script when the peers are not
# set up. buildkit_build CONTEXT DOCKERFILE [ARGS...] prints a build's wall ms.
PEERS=$PWD/../shared/peers
buildkit_start() {
  [ -f "$PEERS/common.sh" ] || { echo "BENCH_BUILDKIT=1 needs $PEERS (run its setup.sh)" >&2; exit 2; }
  . "$PEERS/common.sh"
  $DOCKER version >/dev/null 2>&1 || "$PEERS/daemons.sh" start >/dev/null
  $DOCKER image inspect "$BASE_BUSYBOX" >/dev/null 2>&1 ||
    { echo "no $BASE_BUSYBOX in dockerd: run $PEERS/setup.sh" >&2; exit 2; }
}
buildkit_build() {
  local t0 t1 ctx=$1 file=$2
  shift 2
  t0=$(date +%s%N)
  $DOCKER build -q --network=host -t strata-bench-app -f "$file" "$@" "$ctx" >/dev/null
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 ))
}
