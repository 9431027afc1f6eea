#!/usr/bin/env bash
# Near-miss reuse: a RUN marked "# strata:incremental" whose manifest COPY
# changed runs on top of its last result. An "installer" installs each
# listed package it does not find (sleeping per package, downloading into
# a cache mount): adding a package installs that one; the image has them
# all (read with skopeo + umoci); the manifest the step sees is the new one
# even though the step rewrote the old one; a path the step removed stays
# removed; a secret never reaches the layer; --no-incremental installs all
# and its result wins from then on; the steps after it are rebuilt apart;
# on an empty store, --cache-from a registry cache on 127.0.0.1 makes the
# step run on top of main's result.
source "$(dirname "$0")/lib.sh"
need skopeo umoci jq docker-registry
make_busybox
"$STRATA" save busybox -o "$T/busybox.tar" 2>/dev/null
mkdir -p "$T/ctx"
cat > "$T/ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
COPY base-file /etc/base-file
COPY packages.txt /app/packages.txt
# The installer: what it finds installed it leaves; it removes
# /etc/base-file the first time only, and rewrites the manifest.
# strata:incremental
RUN --mount=type=cache,target=/downloads --mount=type=secret,id=token,target=/run/token \
    mkdir -p /pkgs && cp /app/packages.txt /seen && \
    if [ ! -f /pkgs/.initialized ]; then rm /etc/base-file; touch /pkgs/.initialized; fi && \
    for p in $(grep -v '^#' /app/packages.txt); do \
      if [ ! -f /pkgs/$p ]; then \
        [ -f /downloads/$p ] || { sleep 0.2; echo "$p $(cat /run/token | wc -c)" > /downloads/$p; }; \
        cp /downloads/$p /pkgs/$p; echo "installing $p"; \
      fi; \
    done && echo "# rewritten by the installer" >> /app/packages.txt
RUN ls /pkgs > /list
DOCKERFILE
echo "from the base" > "$T/ctx/base-file"
printf 'a\nb\nc\n' > "$T/ctx/packages.txt"
echo "s3cr3t-value" > "$T/token"

build() {
  "$STRATA" build --progress plain --secret id=token,src="$T/token" "$@" "$T/ctx" > "$T/out" 2> "$T/log" ||
    fail "build $*: $(cat "$T/log")"
}
installed() { grep -oE 'installing [a-z]+$' "$T/log" | awk '{print $2}' | tr '\n' ' '; }
incremental_note() { grep -o 'ran incrementally on the result of sha256:[0-9a-f]* from [^"]*' "$T/log" | head -1; }
in_image() {  # FILE in image $1, read by tools we did not write
  rm -rf "$T/layout" "$T/bundle"
  "$STRATA" save "$1" -o "$T/img.tar" 2>/dev/null
  skopeo copy -q "oci-archive:$T/img.tar" "oci:$T/layout:x"
  umoci unpack --image "$T/layout:x" "$T/bundle" >/dev/null 2>&1 || fail "umoci unpack $1"
}

export STRATA_ROOT=$T/store-a
"$STRATA" load "$T/busybox.tar" > /dev/null 2>&1
build -t app:1
expect_eq "$(installed)" "a b c " "the first build installs every package"
key1=$("$STRATA" explain --json | jq -r '.[] | select(.instruction | startswith("RUN --mount")) | .key')

# One package more: only it is installed, on top of the last result.
printf 'a\nb\nc\nd\n' > "$T/ctx/packages.txt"
build -t app:2
expect_eq "$(installed)" "d " "adding a package installs that one"
expect_eq "$(incremental_note)" "ran incrementally on the result of $key1 from the last build" \
  "the build says what it ran on"
"$STRATA" explain > "$T/explain"
grep -q "ran incrementally on the result of $key1 from the last build" "$T/explain" ||
  fail "strata explain does not say it: $(cat "$T/explain")"
expect_eq "$("$STRATA" explain --json | jq -r '.[] | select(.incremental) | .incremental.from')" \
  "the last build" "explain --json"
grep -q '\[.*\] RUN ls /pkgs' "$T/log" || fail "no output for the step after it"
in_image app:2
rootfs=$T/bundle/rootfs
expect_eq "$(ls "$rootfs/pkgs" | tr '\n' ' ')" "a b c d " "the image has every package"
expect_eq "$(tr '\n' ' ' < "$rootfs/list")" "a b c d " "the step after it ran on the new result"
expect_eq "$(cat "$rootfs/seen")" "$(printf 'a\nb\nc\nd')" \
  "the step saw the new manifest, not the one it rewrote"
[ ! -e "$rootfs/etc/base-file" ] || fail "the path the step removed came back"
expect_eq "$(cat "$rootfs/pkgs/d")" "d 13" "the secret was there while it ran"
tar -xOf "$T/img.tar" --wildcards 'blobs/*' 2>/dev/null | zcat -f 2>/dev/null | grep -q s3cr3t-value &&
  fail "the secret's value is in a layer"

# Hit again, and the steps after it too.
second=$(cat "$T/out")
build -t app:2b
expect_all_cached "the incremental result is a hit"
expect_eq "$(cat "$T/out")" "$second" "a rebuild is the same image"

# --no-incremental: from scratch, everything installed; that result wins.
build --no-incremental -t app:scratch
expect_eq "$(installed)" "a b c d " "--no-incremental installs every package"
grep -q -- "--no-incremental: its cached result was made incrementally" "$T/log" ||
  fail "no reason for the rebuild: $(cat "$T/log")"
scratch=$(cat "$T/out")
build -t app:after
expect_all_cached "after --no-incremental"
expect_eq "$(cat "$T/out")" "$scratch" "the result made from scratch wins"
"$STRATA" explain --json | jq -e '[.[] | select(.incremental)] | length == 0' > /dev/null ||
  fail "the hit is still the incremental result"
in_image app:scratch
[ ! -e "$T/bundle/rootfs/etc/base-file" ] || fail "from scratch, the step removes the file too"
expect_eq "$(cat "$T/bundle/rootfs/seen")" "$(printf 'a\nb\nc\nd')" "from scratch"

# An empty store: main's result from its registry cache.
start_registry registry
R=127.0.0.1:$PORT
export STRATA_INSECURE_REGISTRIES=$R
export STRATA_ROOT=$T/store-main
"$STRATA" load "$T/busybox.tar" > /dev/null 2>&1
printf 'a\nb\nc\n' > "$T/ctx/packages.txt"
build -t main --cache-to "type=registry,ref=$R/cache:main"
expect_eq "$(installed)" "a b c " "main's build"
main_key=$("$STRATA" explain --json | jq -r '.[] | select(.instruction | startswith("RUN --mount")) | .key')
export STRATA_ROOT=$T/store-pr
"$STRATA" load "$T/busybox.tar" > /dev/null 2>&1
printf 'a\nb\nc\ne\n' > "$T/ctx/packages.txt"
build -t pr --cache-from "type=registry,ref=$R/cache:main"
expect_eq "$(installed)" "e " "an empty runner installs only the new package"
expect_eq "$(incremental_note)" \
  "ran incrementally on the result of $main_key from the cache imported from $R/cache:main" \
  "on main's result"
in_image pr
expect_eq "$(ls "$T/bundle/rootfs/pkgs" | tr '\n' ' ')" "a b c e " "the pull request's image"

# A mark where it does nothing is a warning.
printf 'FROM busybox\n# strata:incremental\nCOPY base-file /x\n# strata:incrementl\nRUN true\n' > "$T/ctx/Dockerfile"
build
grep -q "Dockerfile:3: # strata:incremental marks a RUN, not COPY" "$T/log" ||
  fail "no warning for a mark on a COPY: $(cat "$T/log")"
grep -q "Dockerfile:5: # strata:incrementl is not a strata mark" "$T/log" ||
  fail "no warning for an unknown mark: $(cat "$T/log")"
echo "incremental: OK"
