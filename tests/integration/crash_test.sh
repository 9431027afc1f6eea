#!/usr/bin/env bash
# kill -9 at random moments of build, save, load, push, --cache-to and
# prune (CRASH_TRIALS of them, 24 by default; scripts/crash runs more). After
# each kill, the next command must find a sound store: every blob matches
# its name, nothing of strata's is mounted or running, tmp/ holds nothing of
# the killed process, every tag names an image whose blobs are all there,
# and the next build gives the digest a clean build gives. Half the kills
# also kill the process's watcher at once (as a cancelled CI job kills its
# process group), so that the next command, not the watcher, must clean up.
source "$(dirname "$0")/lib.sh"
command -v docker-registry >/dev/null || fail "docker-registry is not installed"
export SOURCE_DATE_EPOCH=0
trials=${CRASH_TRIALS:-24}
make_busybox
start_registry reg
REG=127.0.0.1:$PORT

C=$T/ctx
mkdir -p "$C/files"
for i in $(seq 200); do head -c $((RANDOM * 4)) /dev/urandom > "$C/files/f$i"; done
cat > "$C/Dockerfile" <<'DOCKERFILE'
FROM busybox
COPY files/ /files/
RUN --mount=type=cache,target=/cache cat /files/* > /cache/all && md5sum /files/* > /sums \
 && sleep 0.3
RUN wc -c /sums > /count
DOCKERFILE
# The digest of a clean build, in a store of its own.
STRATA_ROOT=$T/clean make_busybox
clean=$(STRATA_ROOT=$T/clean "$STRATA" build --progress quiet -t ref "$C" | tail -1)
"$STRATA" build --progress quiet -t app "$C" >/dev/null
"$STRATA" save app -o "$T/app.tar.zst" >/dev/null 2>&1

invariants() {  # after the kill of trial $1 ($2)
  local what="trial $1 ($2)"
  # The next command (any) cleans what the killed one left.
  "$STRATA" images >/dev/null || fail "$what: the store does not open"
  if grep -q " $STRATA_ROOT/" /proc/self/mounts; then fail "$what: left mounted: $(grep " $STRATA_ROOT/" /proc/self/mounts)"; fi
  local left
  left=$(ls -A "$STRATA_ROOT/tmp")
  [ -z "$left" ] || fail "$what: left in tmp/: $left"
  for b in "$STRATA_ROOT"/blobs/sha256/*; do
    [ "sha256:$(sha256sum < "$b" | cut -d' ' -f1)" = "sha256:$(basename "$b")" ] || fail "$what: blob $(basename "$b") is torn"
  done
  # Tags name whole images: each one saves (every blob is there).
  for name in $("$STRATA" images | tail -n +2 | awk '{print $1}'); do
    "$STRATA" save "$name" -o "$T/check.tar" >/dev/null 2>&1 || fail "$what: $name is not whole"
  done
  rm -f "$T/check.tar"
  local got
  got=$("$STRATA" build --progress quiet -t app "$C" 2>"$T/err" | tail -1) || fail "$what: the next build failed: $(cat "$T/err")"
  expect_eq "$got" "$clean" "$what: the next build's digest"
  local running
  running=$(ls /run/crun /run/runc 2>/dev/null | grep '^strata-' || true)
  [ -z "$running" ] || fail "$what: containers left: $running"
  if pgrep -f 'sleep 0.3' >/dev/null; then fail "$what: a step's process still runs"; fi
  grep -q 'app.tar.zst.tmp-' <<<"$(ls "$(dirname "$T/app.tar.zst")")" && fail "$what: a save left its temporary file" || true
}

ops=(build save load push cache-to prune)
op_args() {
  case $1 in
    build) args=(build --progress quiet --no-cache -t app "$C") ;;
    save) args=(save app -o "$T/app.tar.zst") ;;
    load) args=(load "$T/app.tar.zst") ;;
    push) args=(push app "$REG/crash/app:$trial") ;;
    cache-to) args=(build --progress quiet --no-cache --cache-to "type=registry,ref=$REG/crash/cache:$trial,mode=max" -t app "$C") ;;
    prune) args=(cache prune --all) ;;
  esac
}
# How long each takes whole (ms), so that a kill can land anywhere inside.
declare -A took
for op in "${ops[@]}"; do
  trial=0
  op_args "$op"
  start=$(date +%s%N)
  "$STRATA" "${args[@]}" >/dev/null 2>&1 || fail "$op does not work: strata ${args[*]}"
  took[$op]=$(( ($(date +%s%N) - start) / 1000000 ))
done
interrupted=0
for trial in $(seq "$trials"); do
  op=${ops[$(( (trial - 1) % ${#ops[@]} ))]}
  op_args "$op"
  "$STRATA" "${args[@]}" >/dev/null 2>&1 &
  pid=$!
  # A random moment inside the command's usual run.
  ms=$(( RANDOM % (took[$op] > 1 ? took[$op] : 1) ))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  watcher=$(pgrep -f "__watch $pid " || true)
  # Whether the kill found the command still running (else it tested nothing).
  if [ $((trial % 2)) -eq 0 ] && [ -n "$watcher" ]; then
    kill -9 "$pid" "$watcher" 2>/dev/null && interrupted=$((interrupted + 1))
  else
    kill -9 "$pid" 2>/dev/null && interrupted=$((interrupted + 1))
  fi
  wait "$pid" 2>/dev/null || true
  sleep 0.2  # the watcher's turn
  invariants "$trial" "$op"
done
[ "$interrupted" -gt 0 ] || fail "no kill found its command running: nothing was tested"
echo "ok: $trials crash trials, $interrupted of them killed a running command"
