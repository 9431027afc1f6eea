#!/usr/bin/env bash
# Caches from what CI already keeps. Runner A builds a two-stage image with
# BUILDKIT_INLINE_CACHE=1, pushes it and a registry cache to a registry on
# 127.0.0.1 and saves it; then, each on an empty store, a build runs no step
# with --cache-from <the image> (its inline cache), --cache-from <the cache
# ref> (plain), --cache-from type=archive,src=<the saved archive>, after
# `strata load <archive>`, and with --cache-from type=image of the image
# pulled; the stage only hit steps read is not built; each such image is
# A's, digest for digest. After a one-file change only the steps after it
# run, and the miss names the cache consulted. A ref with no cache is a
# warning. docker load, podman load and skopeo accept the archive.
source "$(dirname "$0")/lib.sh"
need skopeo jq docker-registry
make_busybox
"$STRATA" save busybox -o "$T/busybox.tar" 2>/dev/null
start_registry registry
R=127.0.0.1:$PORT
export STRATA_INSECURE_REGISTRIES=$R
mkdir -p "$T/ctx"
cat > "$T/ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox AS tools
RUN echo tool > /tool
FROM busybox
COPY --from=tools /tool /tool
COPY app.txt /app.txt
RUN cat /app.txt /tool > /out
DOCKERFILE
echo one > "$T/ctx/app.txt"

build() { "$STRATA" build --progress plain --build-arg BUILDKIT_INLINE_CACHE=1 "$@" "$T/ctx" > "$T/out" 2> "$T/log" || fail "build $*: $(cat "$T/log")"; }
# The steps of the last build that ran (not cached), and whether any did.
ran() { "$STRATA" explain --json | jq -c '[.[] | select(.cached | not) | .instruction]'; }
fresh() {
  export STRATA_ROOT=$T/store-$1
  "$STRATA" load "$T/busybox.tar" > /dev/null 2>&1
}

# --- runner A
build -t "$R/app:1" --push --cache-to "type=registry,ref=$R/cache:1"
expect_eq "$(ran)" '["RUN echo tool > /tool","COPY --from=tools /tool /tool","COPY app.txt /app.txt","RUN cat /app.txt /tool > /out"]' "runner A builds everything"
digest=$(cat "$T/out")
expect_eq "$("$STRATA" inspect "$R/app:1" | jq -r '.config["strata.cache.v1"].records | length')" "3" \
  "the inline cache: the final stage's steps (mode=min)"
"$STRATA" save "$R/app:1" -o "$T/app.tar.zst" 2>/dev/null
"$STRATA" save "$R/app:1" -o "$T/app.tar" 2>/dev/null
"$STRATA" save --cache-mode max "$R/app:1" -o "$T/app-max.tar" 2>/dev/null
"$STRATA" save --cache-mode none "$R/app:1" -o "$T/app-none.tar" 2>/dev/null
records() {  # the cache records an archive carries
  local m c
  m=$(tar -xOf "$1" index.json | jq -r '.annotations["dev.strata.cache.manifest"] // empty')
  [ -n "$m" ] || { echo 0; return; }
  c=$(tar -xOf "$1" "blobs/sha256/${m#sha256:}" | jq -r .config.digest)
  tar -xOf "$1" "blobs/sha256/${c#sha256:}" | jq '.records | length'
}
expect_eq "$(records "$T/app.tar")" "3" "save carries the image's steps"
expect_eq "$(records "$T/app-max.tar")" "4" "--cache-mode max: the other stage's too"
expect_eq "$(records "$T/app-none.tar")" "0" "--cache-mode none"
"$STRATA" build --progress quiet -o "type=oci,dest=$T/out-max.tar,cache=max" "$T/ctx" > /dev/null
expect_eq "$(records "$T/out-max.tar")" "4" "--output cache=max"

# --- each on an empty store: no step runs, and the image is A's
no_step_runs() {
  expect_eq "$(ran)" "[]" "$1: a step ran: $(cat "$T/log")"
  grep -q '^\[tools' "$T/log" && fail "$1: the stage only a cached step reads was built: $(cat "$T/log")"
  expect_eq "$(cat "$T/out")" "$digest" "$1: the same image as runner A's"
}
fresh image
build --cache-from "$R/app:1"
grep -q "from $R/app:1 (the image's inline cache)" "$T/log" || fail "import not said: $(cat "$T/log")"
no_step_runs "--cache-from <image>"
"$STRATA" run "$(cat "$T/out")" cat /out > "$T/run"
expect_eq "$(cat "$T/run")" $'one\ntool' "the image's layers fetched when needed"

fresh registry-cache
build --cache-from "$R/cache:1"
no_step_runs "--cache-from <plain cache ref>"

fresh archive
build --cache-from "type=archive,src=$T/app.tar.zst"
no_step_runs "--cache-from type=archive"

fresh load
"$STRATA" load "$T/app.tar.zst" > /dev/null 2> "$T/load.log"
grep -q 'restored 3 build cache records' "$T/load.log" || fail "load: $(cat "$T/load.log")"
build
no_step_runs "strata load, then a plain build"

fresh pulled
"$STRATA" pull "$R/app:1" > /dev/null 2>&1
build --cache-from "type=image,ref=$R/app:1"
no_step_runs "--cache-from type=image"

# --- a one-file change: only the steps after it run; the miss says which
# cache was consulted.
fresh changed
echo two > "$T/ctx/app.txt"
build --cache-from "type=archive,src=$T/app.tar.zst"
expect_eq "$(ran)" '["COPY app.txt /app.txt","RUN cat /app.txt /tool > /out"]' "after a change"
expect_eq "$("$STRATA" explain --json | jq -r '.[] | select(.instruction == "COPY app.txt /app.txt") | .reason')" \
  "not in the cache imported from $T/app.tar.zst" "the miss names the cache"
expect_eq "$("$STRATA" run "$(cat "$T/out")" cat /out)" $'two\ntool' "the changed image"
echo one > "$T/ctx/app.txt"

# --- a ref with no cache is a warning; the build goes on
fresh none
"$STRATA" push busybox "$R/plain:1" > /dev/null 2>&1
build --cache-from "$R/plain:1" --cache-from "$R/missing:1"
grep -q "warning: --cache-from $R/plain:1: .* is neither a strata cache nor an image with an inline cache" "$T/log" \
  || fail "no warning for an image without a cache: $(cat "$T/log")"
grep -q "warning: --cache-from $R/missing:1" "$T/log" || fail "no warning for a missing ref: $(cat "$T/log")"
expect_eq "$("$STRATA" explain --json | jq '[.[] | select(.cached | not)] | length')" "4" "built without a cache"
if "$STRATA" build --cache-to type=inline,mode=max "$T/ctx" 2> "$T/err"; then fail "inline mode=max accepted"; fi
grep -q 'mode=min' "$T/err" || fail "unclear error: $(cat "$T/err")"

# --- the archive is still an image archive to tools we did not write
skopeo inspect "docker-archive:$T/app.tar" > /dev/null || fail "skopeo docker-archive"
skopeo inspect "oci-archive:$T/app.tar" > /dev/null || fail "skopeo oci-archive"
if command -v podman > /dev/null; then
  podman load -i "$T/app.tar" > /dev/null 2>&1 || fail "podman load"
  podman rmi -f "$R/app:1" > /dev/null 2>&1 || true
else
  skip_part "podman load of the archive: podman is not installed"
fi
if command -v dockerd > /dev/null; then
  start_dockerd
  /usr/bin/docker load -i "$T/app.tar" > /dev/null || fail "docker load"
  expect_eq "$(/usr/bin/docker run --rm --network none "$R/app:1" cat /out)" $'one\ntool' "docker run of the loaded archive"
else
  skip_part "docker load of the archive: dockerd is not installed"
fi
echo "cache sources: OK"
