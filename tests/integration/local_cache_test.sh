#!/usr/bin/env bash
# --cache-to / --cache-from of type local and archive: two stores stand for
# two CI runners. Runner A builds and exports; runner B, empty but for the
# same base, imports and hits every step, runs nothing, and gets the same
# image; after a one-file change B's export writes only the new layers.
# Also: mode=min against max, mounts=true, reset=true, a missing source.
. "$(dirname "$0")/lib.sh" "$1"
export SOURCE_DATE_EPOCH=0   # the same base image digest in every store
A=$T/a B=$T/b
STRATA_ROOT=$A make_busybox
STRATA_ROOT=$B make_busybox
C=$T/ctx
mkdir -p "$C/src"
for i in $(seq 1 20); do echo "file $i" > "$C/src/f$i.txt"; done
cat > "$C/Dockerfile" <<'DOCKERFILE'
FROM busybox AS tools
RUN echo tool > /tool
FROM busybox
RUN --mount=type=cache,target=/c,id=deps echo dep > /c/dep && echo base > /base
COPY --from=tools /tool /tool
COPY src/ /app/
RUN ls /app | wc -l > /count
DOCKERFILE
da=$(STRATA_ROOT=$A "$STRATA" build --progress quiet \
  --cache-to type=local,dest="$T/cache",mode=max,mounts=true "$C")
[ -f "$T/cache/index.json" ] && [ -f "$T/cache/oci-layout" ] || fail "no OCI layout in the cache dir"
skopeo inspect --raw "oci:$T/cache:strata-cache" | jq -e '.config.mediaType == "application/vnd.strata.cache.config.v1+json"' >/dev/null ||
  fail "skopeo cannot read the cache manifest"

out=$(STRATA_ROOT=$B "$STRATA" build --progress plain --cache-from type=local,src="$T/cache" "$C" 2>&1)
db=$(echo "$out" | tail -1)
expect_eq "$db" "$da" "runner B builds the same image from A's cache"
if grep -q 'cache miss' <<<"$out"; then fail "runner B missed: $(echo "$out" | grep -A1 'cache miss')"; fi
STRATA_ROOT=$B expect_all_cached "runner B"
grep -q '1 cache mounts' <<<"$out" || fail "the cache mount was not imported"
# The import did not wait for the disk: its layers are in a journal of this boot.
grep -q '^sha256:' <<<"$(cat "$B/unsynced/"* 2>/dev/null)" || fail "the import journalled no blob"
# The imported mount is there for the next build that uses it.
printf 'FROM busybox\nARG N\nRUN --mount=type=cache,target=/c,id=deps cat /c/dep > /got\n' > "$C/Dockerfile.dep"
STRATA_ROOT=$B "$STRATA" build --progress quiet -t dep --build-arg N=$RANDOM -f "$C/Dockerfile.dep" "$C" >/dev/null
expect_eq "$(STRATA_ROOT=$B "$STRATA" run dep cat /got)" "dep" "the cache mount came with the cache"

# One file changed on B: only the steps after it run, and the export writes
# only their layers plus the cache's own metadata.
echo "changed" >> "$C/src/f7.txt"
before=$(du -sb "$T/cache" | cut -f1)
out=$(STRATA_ROOT=$B "$STRATA" build --progress plain --cache-from type=local,src="$T/cache" \
  --cache-to type=local,dest="$T/cache",mode=max "$C" 2>&1)
expect_eq "$(echo "$out" | grep -c 'cache miss')" 2 "steps that ran after a one-file change"
# The COPY layer is new; the last RUN wrote the same file count, so with
# SOURCE_DATE_EPOCH its layer is the same blob as before.
grep -q 'exported .*: 1 new blobs' <<<"$out" || fail "export after one change: $(echo "$out" | grep exported)"
after=$(du -sb "$T/cache" | cut -f1)
new_layers=$(STRATA_ROOT=$B "$STRATA" inspect "$(echo "$out" | tail -1)" | jq '.manifest.layers[-2].size')
[ $((after - before)) -le $((new_layers + 16384)) ] ||
  fail "the second export wrote $((after - before)) bytes for $new_layers bytes of new layers"

# mode=min exports only the image's steps (not the tools stage's RUN).
STRATA_ROOT=$A "$STRATA" build --progress quiet --cache-to type=local,dest="$T/min" "$C" >/dev/null
STRATA_ROOT=$A "$STRATA" build --progress quiet --cache-to type=local,dest="$T/max",mode=max "$C" >/dev/null
records() {
  local cfg
  cfg=$(skopeo inspect --raw "oci:$1:strata-cache" | jq -r '.config.digest')
  jq '.records | length' "$1/blobs/sha256/${cfg#sha256:}"
}
n_min=$(records "$T/min") n_max=$(records "$T/max")
expect_eq "$n_min $n_max" "4 5" "records exported with mode=min and mode=max"

# reset=true drops what the latest export no longer uses.
blobs_before=$(ls "$T/cache/blobs/sha256" | wc -l)
STRATA_ROOT=$B "$STRATA" build --progress quiet --cache-to type=local,dest="$T/cache",reset=true "$C" >/dev/null
blobs_after=$(ls "$T/cache/blobs/sha256" | wc -l)
[ "$blobs_after" -lt "$blobs_before" ] || fail "reset=true kept $blobs_after of $blobs_before blobs"
[ ! -e "$T/cache/strata-mounts.json" ] || fail "reset=true without mounts=true kept the mounts"

# One file for CI systems that move one file.
STRATA_ROOT=$A "$STRATA" build --progress quiet --cache-to type=archive,dest="$T/cache.tar.zst",mode=max "$C" >/dev/null
Cr=$T/c; STRATA_ROOT=$Cr make_busybox
out=$(STRATA_ROOT=$Cr "$STRATA" build --progress plain --cache-from type=archive,src="$T/cache.tar.zst" "$C" 2>&1)
if grep -q 'cache miss' <<<"$out"; then fail "a build from the archive cache missed"; fi

# compression=zstd: the exported layers are zstd, and a store built from
# that cache has them in its image.
STRATA_ROOT=$A "$STRATA" build --progress quiet --cache-to type=local,dest="$T/zcache",mode=max,compression=zstd "$C" >/dev/null
types=$(skopeo inspect --raw "oci:$T/zcache:strata-cache" | jq -r '[.layers[].mediaType | split("+")[1]] | unique | join(" ")')
expect_eq "$types" "zstd" "layers of a compression=zstd cache export"
# Layers already in the wanted compression are exported as they are.
STRATA_ROOT=$A "$STRATA" build --progress quiet --cache-to type=local,dest="$T/gcache",mode=max,compression=gzip "$C" >/dev/null
expect_eq "$(skopeo inspect --raw "oci:$T/gcache:strata-cache" | jq -c '[.layers[].digest] | sort')" \
  "$(skopeo inspect --raw "oci:$T/max:strata-cache" | jq -c '[.layers[].digest] | sort')" "gzip layers exported with compression=gzip"
D=$T/d; STRATA_ROOT=$D make_busybox
out=$(STRATA_ROOT=$D "$STRATA" build --progress plain -t z --cache-from type=local,src="$T/zcache" "$C" 2>&1)
if grep -q "cache miss" <<<"$out"; then fail "a build from the zstd cache missed: $(echo "$out" | grep -B1 -A1 "cache miss")"; fi
expect_eq "$(STRATA_ROOT=$D "$STRATA" run z cat /count)" "20" "an image of zstd cache layers runs"

# A missing cache source is a warning; the build goes on.
out=$(STRATA_ROOT=$Cr "$STRATA" build --progress plain --cache-from type=local,src="$T/nowhere" "$C" 2>&1) ||
  fail "a missing --cache-from failed the build: $out"
grep -q 'warning: --cache-from' <<<"$out" || fail "no warning for a missing cache source"
# Bad specs are clear errors.
if STRATA_ROOT=$Cr "$STRATA" build --cache-to type=s3,dest=x "$C" 2> "$T/err"; then fail "type=s3 accepted"; fi
grep -q 'type= must be local, archive, registry or inline' "$T/err" || fail "unclear error: $(cat "$T/err")"
if STRATA_ROOT=$Cr "$STRATA" build --cache-to type=registry "$C" 2> "$T/err"; then fail "a registry cache without ref accepted"; fi
grep -q 'ref=HOST/REPO:TAG' "$T/err" || fail "unclear error: $(cat "$T/err")"
if STRATA_ROOT=$Cr "$STRATA" build --cache-from type=registry,ref=Bad:Ref "$C" 2> "$T/err"; then fail "a bad ref accepted"; fi
grep -q 'is not an image reference' "$T/err" || fail "unclear error: $(cat "$T/err")"
echo "local cache: OK"
