#!/usr/bin/env bash
# COPY from the context without an overlay (hard links to content-addressed
# objects) must give the very layers the overlay path gives: each Dockerfile
# here is built both ways (STRATA_COPY_OVERLAY=1 forces the overlay) in two
# stores with SOURCE_DATE_EPOCH=0, and the image digests must agree, also
# for a COPY made as a delta on the last one. Then the objects are shared
# between snapshots, survive what uses them and go with a prune.
. "$(dirname "$0")/lib.sh" "$1"
export SOURCE_DATE_EPOCH=0
STRATA_ROOT=$T/direct make_busybox
STRATA_ROOT=$T/overlay STRATA_COPY_OVERLAY=1 make_busybox
C=$T/ctx
mkdir -p "$C/src/a/deep" "$C/src/b" "$C/other" "$C/etc"
echo one > "$C/src/a/one.txt"
echo one > "$C/src/b/same-as-one.txt"     # same content and metadata: no shared inode in the image
echo two > "$C/src/a/deep/two.txt"
printf '#!/bin/sh\necho hi\n' > "$C/src/b/run.sh"; chmod 4755 "$C/src/b/run.sh"
chmod 0750 "$C/src/a/deep"
ln -s ../a/one.txt "$C/src/b/link"
echo replaced > "$C/other/one.txt"
echo ignored > "$C/src/a/skip.log"
printf '*.log\n' > "$C/.dockerignore"
touch -d '2020-01-02 03:04:05.123456789' "$C/src/a/one.txt"

cat > "$C/Dockerfile.1" <<'DOCKERFILE'
FROM busybox
RUN mkdir -p /app/src /etc && chmod 0700 /app && echo 'worker:x:1234:1234::/:/bin/sh' >> /etc/passwd && echo 'worker:x:1234:' >> /etc/group
COPY src/ /app/src/
COPY --chown=worker:worker src/a /app/owned/
COPY --chmod=u+x,g-r src/a/one.txt other/one.txt /app/flat/
COPY --parents src/a/deep/two.txt /parents/
COPY src/a/one.txt /app/src/a/one.txt
COPY src/b /bin/extra/
DOCKERFILE
# A copy that needs the overlay: a file where the image has a directory.
cat > "$C/Dockerfile.2" <<'DOCKERFILE'
FROM busybox
RUN mkdir -p /x/one.txt
COPY other/one.txt /x/
COPY src/b/link /bin
DOCKERFILE

for df in 1 2; do
  d1=$(STRATA_ROOT=$T/direct "$STRATA" build --progress quiet -f "$C/Dockerfile.$df" "$C")
  d2=$(STRATA_ROOT=$T/overlay STRATA_COPY_OVERLAY=1 "$STRATA" build --progress quiet -f "$C/Dockerfile.$df" "$C")
  expect_eq "$d1" "$d2" "Dockerfile.$df built directly and through an overlay"
done
[ -n "$(ls -A "$T/direct/objects")" ] || fail "the direct path made no objects"
[ -z "$(ls -A "$T/overlay/objects")" ] || fail "STRATA_COPY_OVERLAY=1 made objects"

# What a container sees: owners, modes, contents, the later COPY winning.
STRATA_ROOT=$T/direct "$STRATA" build --progress quiet -t direct -f "$C/Dockerfile.1" "$C" >/dev/null
out=$(STRATA_ROOT=$T/direct "$STRATA" run direct sh -c \
  'stat -c "%n %a %u:%g" /app/owned/one.txt /app/flat/one.txt /bin/extra/run.sh /app/src/a/deep; cat /app/flat/one.txt; readlink /bin/extra/link')
expect_eq "$out" "/app/owned/one.txt 644 1234:1234
/app/flat/one.txt 704 0:0
/bin/extra/run.sh 4755 0:0
/app/src/a/deep 750 0:0
replaced
../a/one.txt" "files as a container sees them"

# A one-file change makes one new object; the rest are links.
before=$(find "$T/direct/objects" -type f | wc -l)
echo changed >> "$C/src/a/deep/two.txt"
STRATA_ROOT=$T/direct "$STRATA" build --progress quiet -f "$C/Dockerfile.1" "$C" >/dev/null
after=$(find "$T/direct/objects" -type f | wc -l)
# two.txt is copied by three steps: src/ and --parents share one object
# (same content, mode, owner, time), --chown=worker needs another.
expect_eq "$((after - before))" 2 "objects added by a one-file change"

# Runs of small files are frames of the layer, compressed on their own; for
# files linked to objects, a frame's tar entries and compressed bytes are
# kept (store/segments, by path and object) and reused: after a change in
# one directory only its frame is written again, and the layers stay those
# of the overlay path, even when the kept frames have been damaged (each
# carries the digests of its bytes). A big file (over 64 KiB) ends a frame:
# many/a has two, many/b one.
mkdir -p "$C/many/a" "$C/many/b"
for i in $(seq 1 30); do echo "a $i" > "$C/many/a/f$i"; echo "b $i" > "$C/many/b/f$i"; done
head -c 70000 /dev/zero | tr '\0' 'z' > "$C/many/a/f20big"
printf 'FROM busybox\nCOPY many/ /many/\n' > "$C/Dockerfile.3"
same_both_ways() {
  local d1 d2
  d1=$(STRATA_ROOT=$T/direct "$STRATA" build --progress quiet -f "$C/Dockerfile.3" "$C")
  d2=$(STRATA_ROOT=$T/overlay STRATA_COPY_OVERLAY=1 "$STRATA" build --progress quiet -f "$C/Dockerfile.3" "$C")
  expect_eq "$d1" "$d2" "$1"
}
frames() { find "$T/direct/segments" -type f 2>/dev/null | wc -l; }
frames_before=$(frames) # the base image's COPY keeps frames too
same_both_ways "a COPY whose frames are new"
expect_eq "$(($(frames) - frames_before))" 3 "frames kept for two directories"
# How many layer blobs hold a kept frame's compressed bytes.
in_blobs() {
  python3 - "$1" "$T/direct/blobs/sha256" <<'PY'
import os, sys
body = open(sys.argv[1], "rb").read()
header, rest = body.split(b"\n", 1)
raw_size, _, comp_size, _ = header.split(b" ")
comp = rest[int(raw_size):]
assert len(comp) == int(comp_size) > 0
d = sys.argv[2]
print(sum(comp in open(os.path.join(d, n), "rb").read() for n in os.listdir(d)))
PY
}
kept_a=$(grep -l "many/a/f1\b" -r "$T/direct/segments" | head -1)
[ -n "$kept_a" ] || fail "no kept frame for many/a"
inode_a=$(stat -c %i "$kept_a")
expect_eq "$(in_blobs "$kept_a")" 1 "layers holding many/a's first frame"
echo changed >> "$C/many/b/f7"
same_both_ways "a COPY that reuses kept frames"
expect_eq "$(($(frames) - frames_before))" 4 "frames after a change in one directory"
expect_eq "$(stat -c %i "$kept_a")" "$inode_a" "an unchanged frame is not written again"
expect_eq "$(in_blobs "$kept_a")" 2 "layers holding many/a's first frame after the change"
[ -z "$(ls -A "$T/overlay/segments" 2>/dev/null)" ] || fail "the overlay path kept frames"
n=0
for f in $(find "$T/direct/segments" -type f); do  # in the raw bytes or the compressed ones
  n=$((n + 1))
  at=$((n % 2 ? 300 : $(stat -c %s "$f") - 20))
  printf 'damaged' | dd of="$f" bs=1 seek=$at conv=notrunc status=none
done
echo again >> "$C/many/b/f8"
same_both_ways "a COPY whose kept frames were damaged"

# A COPY that changes a few paths of the last build's copy is a delta: the
# changed entries and whiteouts, stacked on that build's whole snapshot
# (no links for what did not change). Its layer is the overlay path's
# whatever changed; a container sees the merged tree; a delta is always on
# a whole snapshot, never on another delta; a copy with the files of the
# last one reuses its layer; a prune keeps the base of a delta it keeps; a
# delta whose base is gone is unpacked whole.
mkdir -p "$C/tree/d1" "$C/tree/d2" "$C/tree/d3"
for f in a b c d e f g h i j; do echo "1$f" > "$C/tree/d1/$f"; echo "2$f" > "$C/tree/d2/$f"; done
echo x > "$C/tree/d3/x"
printf 'FROM busybox\nARG V=1\nRUN echo $V > /v\nCOPY tree/ /tree/\nRUN find /tree | sort > /listing\n' > "$C/Dockerfile.4"
deltas() { ls "$T/direct/snapshots" | grep -c '^d[0-9a-f]*$' || true; }
seen_tree() {
  expect_eq "$(STRATA_ROOT=$T/direct "$STRATA" run "$1" cat /listing)" \
    "$(cd "$C" && find tree | sort | sed 's|^|/|')" "$2"
}
delta_step() {  # name [build flags]: builds both ways, tags the direct one "tree"
  local d1 d2 name=$1
  shift
  d1=$(STRATA_ROOT=$T/direct "$STRATA" build --progress quiet -t tree "$@" -f "$C/Dockerfile.4" "$C")
  d2=$(STRATA_ROOT=$T/overlay STRATA_COPY_OVERLAY=1 "$STRATA" build --progress quiet "$@" -f "$C/Dockerfile.4" "$C")
  expect_eq "$d1" "$d2" "$name"
  seen_tree tree "the tree a container sees: $name"
}
reused() {  # V: builds with --build-arg V, prints how many copies reused a layer
  STRATA_ROOT=$T/direct "$STRATA" build --progress plain --build-arg V="$1" -f "$C/Dockerfile.4" "$C" 2>&1 |
    grep -c 'its layer is reused' || true
}
d0=$(deltas)  # the copies above made some
delta_step "a whole copy"
expect_eq "$(deltas)" "$d0" "deltas after the first copy"
expect_eq "$(reused 9)" 1 "copies reused when the files are the last copy's (a whole one)"
echo edited >> "$C/tree/d1/a"
chmod 600 "$C/tree/d1/b"
echo new > "$C/tree/d2/new"
rm -r "$C/tree/d3"
delta_step "a delta with an edit, a mode, a new file and a removed directory"
expect_eq "$(deltas)" $((d0 + 1)) "deltas after the second copy"
rm -r "$C/tree/d2"
echo now-a-file > "$C/tree/d2"
rm "$C/tree/d1/c"
mkdir "$C/tree/d1/c"
echo inside > "$C/tree/d1/c/inside"
delta_step "a delta where a directory became a file and a file a directory"
expect_eq "$(deltas)" $((d0 + 2)) "deltas after the third copy"
# A copy that missed only for its parent has the files of the last copy
# (here a delta): it reuses that layer and writes nothing.
expect_eq "$(reused 2)" 1 "copies reused when the files are the last copy's"
delta_step "a copy whose parent changed" --build-arg V=3
expect_eq "$(deltas)" $((d0 + 2)) "deltas after copies whose parent changed"
bases=$(python3 -c 'import sqlite3, sys; print(" ".join(sorted({r[0] for r in sqlite3.connect(sys.argv[1]).execute("SELECT base FROM snapshot_deltas WHERE dir IN (SELECT dir FROM snapshot_deltas ORDER BY rowid DESC LIMIT 2)")})))' "$T/direct/meta.db")
expect_eq "$(echo "$bases" | wc -w)" 1 "whole snapshots the deltas stack on"
STRATA_ROOT=$T/direct "$STRATA" cache prune --all >/dev/null
expect_eq "$(deltas)" 1 "deltas after a prune that keeps the image"
seen_tree tree "the tree after a prune"
base_dir=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT id FROM snapshots WHERE diff_id = ?", (sys.argv[2],)).fetchone()[0])' "$T/direct/meta.db" "$bases")
[ -d "$T/direct/snapshots/$base_dir" ] || fail "the prune removed the base of a delta it kept"
rm -rf "$T/direct/snapshots/$base_dir"
seen_tree tree "the tree after its base was lost"
expect_eq "$(deltas)" 0 "deltas after their base was lost"
# What no record names (left by a crash) goes with a prune.
mkdir -p "$T/direct/snapshots/dstray/x"
echo torn > "$T/direct/snapshots/999.manifest"
STRATA_ROOT=$T/direct "$STRATA" cache prune >/dev/null
[ ! -e "$T/direct/snapshots/dstray" ] && [ ! -e "$T/direct/snapshots/999.manifest" ] ||
  fail "prune left snapshots no record names"
seen_tree tree "the tree after a prune of strays"

# Objects live while a snapshot links to them, and go with it.
STRATA_ROOT=$T/direct "$STRATA" cache prune --all >/dev/null
STRATA_ROOT=$T/direct "$STRATA" rmi direct >/dev/null
STRATA_ROOT=$T/direct "$STRATA" rmi tree >/dev/null
STRATA_ROOT=$T/direct "$STRATA" rmi busybox >/dev/null
STRATA_ROOT=$T/direct "$STRATA" cache prune --all >/dev/null
left=$(find "$T/direct/objects" -type f | wc -l)
expect_eq "$left" 0 "objects left after everything was pruned"
echo "direct copy: OK"
