#!/usr/bin/env bash
# Archives whose JSON lies or is of the wrong type (OCI index, manifest,
# config; docker manifest.json), whose descriptors declare sizes the blobs do
# not have, whose documents are huge, or which carry gigabytes of junk:
# `strata load` ends in a clear error (never a crash) or skips the junk
# unread, tags nothing of a refused archive and leaves nothing in tmp/.
# And an ADD archive whose "." is a file is refused, not written over the
# destination directory.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
MAKE="$(dirname "$0")/make_archive.py"
make_busybox
place_store_sentinel
D=sha256:$(printf '%064d' 0)
cases=0

refused() {  # refused NAME ERROR-REGEX SPEC-JSON
  printf '%s' "$3" > "$T/$1.json"
  python3 "$MAKE" "$T/$1.tar" "$1" "$T/$1.json"
  local before
  before=$("$STRATA" images)
  expect_refusal "$2" load "$T/$1.tar"
  [ "$("$STRATA" images)" = "$before" ] || fail "$1: a refused archive tagged something"
  check_tmp_clean
  check_store_sentinel
  cases=$((cases + 1))
}
layer='[[{"name": "f", "data": "x"}]]'
refused index-manifests-string '"manifests" is string, not a list' '{"index": "{\"manifests\": \"x\"}"}'
refused index-digest-number 'manifest 1: "digest" is number, not a string' \
  '{"index": "{\"manifests\": [{\"digest\": 5, \"size\": 1}]}"}'
refused index-not-json 'index.json is not JSON' '{"index": "{\"manifests\": ["}'
refused manifest-media-type 'mediaType" is number, not a string' \
  "{\"manifest\": \"{\\\"mediaType\\\": 5, \\\"config\\\": {\\\"digest\\\": \\\"$D\\\", \\\"size\\\": 1}, \\\"layers\\\": []}\"}"
refused manifest-layers-number '"layers" is number, not a list' \
  "{\"manifest\": \"{\\\"config\\\": {\\\"digest\\\": \\\"$D\\\", \\\"size\\\": 1}, \\\"layers\\\": 5}\"}"
refused manifest-no-layers '"layers" is missing' \
  "{\"manifest\": \"{\\\"config\\\": {\\\"digest\\\": \\\"$D\\\", \\\"size\\\": 1}}\"}"
refused config-diff-id-number '"diff_ids" is array, not a list of strings' \
  '{"layers": '"$layer"', "config": "{\"rootfs\": {\"diff_ids\": [1]}}"}'
refused config-user-number 'config: "User" is number, not a string' \
  '{"config": "{\"config\": {\"User\": 0}, \"rootfs\": {\"diff_ids\": []}}"}'
refused config-not-json 'is not JSON' '{"config": "not json"}'
refused config-diff-id-count 'has 1 layers, but its config names 0 diff ids' \
  '{"layers": '"$layer"', "diff_ids": []}'
refused layer-size-huge 'is [0-9]+ bytes, but its descriptor says 1000000000000000' \
  '{"layers": '"$layer"', "layer_size": 1000000000000000}'
refused index-huge 'index.json" is [0-9]+ bytes, more than the 8388608 strata reads' \
  '{"index": "{\"manifests\": []'"$(printf '%*s' 9000000 '')"'}"}'
refused index-big 'index.json is larger than 4194304 bytes' \
  '{"index": "{\"manifests\": []'"$(printf '%*s' 5000000 '')"'}"}'
refused junk-document '"junk.json" is 1073741824 bytes, more than' '{"junk": {"junk.json": 1073741824}}'
refused docker-config-number '"Config" is number, not a string' \
  '{"docker": true, "docker_manifest": "[{\"Config\": 5, \"Layers\": []}]"}'
refused docker-layers-numbers '"Layers" is array, not a list of strings' \
  '{"docker": true, "docker_manifest": "[{\"Config\": \"c.json\", \"Layers\": [3]}]"}'
refused docker-tags-string '"RepoTags" is string, not a list of strings' \
  '{"docker": true, "docker_manifest": "[{\"Config\": \"c.json\", \"RepoTags\": \"x\", \"Layers\": []}]"}'
refused docker-not-list 'manifest.json is not a list' '{"docker": true, "docker_manifest": "{}"}'
refused docker-layer-count 'names 1 layers for .*, but it names 0 diff ids' \
  '{"docker": true, "layers": '"$layer"', "diff_ids": []}'

# A gigabyte of junk that no loader reads is skipped, never written.
printf '{"layers": %s, "junk": {"junk.bin": 1073741824}}' "$layer" > "$T/junk.json"
python3 "$MAKE" "$T/junk.tar.gz" junk "$T/junk.json"
# (du may find a file the store removes as it walks, sqlite's -wal say: that
# sample is skipped, the watcher goes on.)
( while :; do { du -sm "$STRATA_ROOT" 2>/dev/null || true; } | cut -f1 >> "$T/du"; sleep 0.1; done ) &
watcher=$!
"$STRATA" load "$T/junk.tar.gz" >/dev/null 2>&1 || { kill $watcher; fail "the archive with junk was refused"; }
kill $watcher
most=$(sort -n "$T/du" | tail -1)
[ "$most" -lt 100 ] || fail "loading wrote the junk: the store grew to $most MiB"
"$STRATA" inspect junk >/dev/null
check_tmp_clean
cases=$((cases + 1))

# ADD of a tar whose "." is a file.
mkdir -p "$T/add"
python3 - "$T/add/dot.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    info = tarfile.TarInfo(".")
    info.size = 4
    t.addfile(info, io.BytesIO(b"evil"))
PY
printf 'FROM busybox\nRUN mkdir -p /dest && echo keep > /dest/keep\nADD dot.tar /dest/\nRUN cat /dest/keep\n' > "$T/add/Dockerfile"
expect_refusal 'its entry "\." is not a directory' build --progress quiet "$T/add"
cases=$((cases + 1))
check_canary
echo "ok: $cases hostile archives"
