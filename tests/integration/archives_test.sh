#!/usr/bin/env bash
# strata save / load round trips (.tar, .tar.gz, .tar.zst) keep every digest,
# `strata load` takes podman's own archives, a tampered blob is refused
# with nothing stored, and a blob a load wrote that a crash of the machine
# tore is found and removed.
source "$(dirname "$0")/lib.sh"
make_busybox
digest=$("$STRATA" inspect busybox | jq -r .digest)
"$STRATA" save busybox -o "$T/bb.tar"
gzip -k "$T/bb.tar"
zstd -q "$T/bb.tar" -o "$T/bb.tar.zst"
# strata's own compressed saves: by the name, and by --compression.
"$STRATA" save busybox -o "$T/own.tar.zst" 2> "$T/progress"
grep -q 'saving .*own.tar.zst: .* in [0-9.]*s' "$T/progress" || fail "no progress summary: $(cat "$T/progress")"
"$STRATA" save busybox -o "$T/own.tar.gz" 2>/dev/null
"$STRATA" save busybox --compression zstd -o "$T/own-zstd.tar" 2>/dev/null
zstd -q -t "$T/own.tar.zst" && gzip -t "$T/own.tar.gz" && zstd -q -t "$T/own-zstd.tar" || fail "compression"
for f in bb.tar bb.tar.gz bb.tar.zst own.tar.zst own.tar.gz own-zstd.tar; do
  STRATA_ROOT=$T/s-$f "$STRATA" load "$T/$f" >/dev/null
  got=$(STRATA_ROOT=$T/s-$f "$STRATA" inspect busybox | jq -r .digest)
  expect_eq "$got" "$digest" "$f"
  expect_eq "$(STRATA_ROOT=$T/s-$f "$STRATA" run busybox echo ok)" "ok" "$f"
done
# Tamper with the last layer blob: the load must fail and tag nothing.
mkdir "$T/x" && tar -C "$T/x" -xf "$T/bb.tar"
blob=$(ls -S "$T/x/blobs/sha256" | head -1)
printf 'garbage' >> "$T/x/blobs/sha256/$blob"
tar -C "$T/x" -cf "$T/bad.tar" .
if STRATA_ROOT=$T/bad "$STRATA" load "$T/bad.tar" 2> "$T/err"; then fail "a tampered archive loaded"; fi
grep -q "digest mismatch" "$T/err" || fail "error text: $(cat "$T/err")"
[ -z "$(STRATA_ROOT=$T/bad "$STRATA" images | tail -n +2)" ] || fail "a tampered archive left an image"
[ ! -e "$T/bad/blobs/sha256/$blob" ] || fail "a tampered blob was stored"
# Several images in one archive; skopeo reads each by name.
printf 'FROM busybox\nRUN echo two > /two\n' > "$T/Dockerfile.two"
"$STRATA" build --progress quiet -t two -f "$T/Dockerfile.two" "$T" >/dev/null
"$STRATA" save busybox two -o "$T/both.tar" 2>/dev/null
skopeo inspect --raw oci-archive:"$T/both.tar":docker.io/library/two:latest >/dev/null 2>&1 ||
  skopeo inspect --raw docker-archive:"$T/both.tar":docker.io/library/two:latest >/dev/null ||
  fail "skopeo cannot find the second image"
STRATA_ROOT=$T/both "$STRATA" load "$T/both.tar" > "$T/loaded"
expect_eq "$(sort "$T/loaded" | tr '\n' ' ')" "loaded busybox:latest loaded two:latest " "both images loaded"
expect_eq "$(STRATA_ROOT=$T/both "$STRATA" run two cat /two)" "two" "the second image runs"

# A load does not wait for the disk: it journals the blobs it wrote. After a
# restart of the machine (a journal of another boot) the next command checks
# them; one that did not reach the disk whole is removed and named, and a
# second load restores the image. A build's sync retires the journal.
STRATA_ROOT=$T/crash "$STRATA" load "$T/bb.tar" >/dev/null
journal=$(ls "$T/crash/unsynced")
[ "$(echo "$journal" | wc -l)" = 1 ] || fail "one journal per load: $journal"
layer=$(ls -S "$T/crash/blobs/sha256" | head -1)
grep -qx "sha256:$layer" "$T/crash/unsynced/$journal" || fail "the journal does not name the layer"
mv "$T/crash/unsynced/$journal" "$T/crash/unsynced/00000000-0000-0000-0000-000000000000-1-0"
: > "$T/crash/blobs/sha256/$layer"
STRATA_ROOT=$T/crash "$STRATA" images 2> "$T/err" >/dev/null
grep -q "warning: blob sha256:$layer was stored just before the machine went down" "$T/err" ||
  fail "no warning for a torn blob: $(cat "$T/err")"
[ ! -e "$T/crash/blobs/sha256/$layer" ] || fail "a torn blob was kept"
[ -z "$(ls "$T/crash/unsynced")" ] || fail "a checked journal was kept"
STRATA_ROOT=$T/crash "$STRATA" load "$T/bb.tar" >/dev/null
expect_eq "$(STRATA_ROOT=$T/crash "$STRATA" run busybox echo ok)" "ok" "loaded again after a restart"
[ -n "$(ls "$T/crash/unsynced")" ] || fail "the second load wrote no journal"
printf 'FROM busybox\nRUN true\n' > "$T/Dockerfile.sync"
STRATA_ROOT=$T/crash "$STRATA" build --progress quiet -f "$T/Dockerfile.sync" "$T" >/dev/null
[ -z "$(ls "$T/crash/unsynced")" ] || fail "a build's sync left the load's journal"

# Reproducible: the same Dockerfile in two empty stores with
# SOURCE_DATE_EPOCH=0 (environment or --build-arg) gives one image digest.
mkdir -p "$T/repro/src" && echo data > "$T/repro/src/a" && printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nRUN echo built > /built && mkdir -p /var/x\nCOPY src/ /src/\n' > "$T/repro/Dockerfile"
cp /bin/busybox "$T/repro/"
r1=$(SOURCE_DATE_EPOCH=0 STRATA_ROOT=$T/r1 "$STRATA" build --progress quiet "$T/repro")
sleep 1
touch "$T/repro/src/a"   # a newer mtime: clamped, so no difference
r2=$(STRATA_ROOT=$T/r2 "$STRATA" build --progress quiet --build-arg SOURCE_DATE_EPOCH=0 "$T/repro")
expect_eq "$r2" "$r1" "two stores, SOURCE_DATE_EPOCH=0"
created=$(STRATA_ROOT=$T/r1 "$STRATA" inspect "$r1" | jq -r .config.created)
expect_eq "$created" "1970-01-01T00:00:00Z" "created from SOURCE_DATE_EPOCH"

# Layers in another compression: only this build's by default, all with
# force-compression; the result loads and runs; a second export reuses the
# conversion (same digests).
printf 'FROM busybox\nRUN echo z > /z\n' > "$T/Dockerfile.z"
"$STRATA" build --progress quiet -f "$T/Dockerfile.z" -o type=oci,dest="$T/z.tar",compression=zstd "$T" >/dev/null
types=$(skopeo inspect --raw oci-archive:"$T/z.tar" | jq -r '[.layers[].mediaType | split("+")[1]] | join(" ")')
expect_eq "$types" "gzip zstd" "compression=zstd converts this build's layers only"
# Every export asks for zstd: the new layers are written in it, not as gzip
# to be converted (the store gets no gzip blob).
gzip_blobs() {
  for b in "$STRATA_ROOT"/blobs/sha256/*; do
    if [ "$(head -c2 "$b" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then echo "$b"; fi
  done
}
printf 'FROM busybox\nRUN echo once > /once\n' > "$T/Dockerfile.once"
before=$(gzip_blobs)
"$STRATA" build --progress quiet -f "$T/Dockerfile.once" -o type=oci,dest="$T/once.tar",compression=zstd "$T" >/dev/null
expect_eq "$(gzip_blobs)" "$before" "a build whose only export is zstd writes no gzip blob"
types=$(skopeo inspect --raw oci-archive:"$T/once.tar" | jq -r '[.layers[].mediaType | split("+")[1]] | join(" ")')
expect_eq "$types" "gzip zstd" "the base's layer as it is, the new one zstd"
"$STRATA" build --progress quiet -f "$T/Dockerfile.z" -o type=oci,dest="$T/zf.tar",compression=zstd,force-compression=true "$T" >/dev/null
types=$(skopeo inspect --raw oci-archive:"$T/zf.tar" | jq -r '[.layers[].mediaType | split("+")[1]] | join(" ")')
expect_eq "$types" "zstd zstd" "force-compression converts every layer"
"$STRATA" build --progress quiet -f "$T/Dockerfile.z" -o type=oci,dest="$T/zf2.tar",compression=zstd,force-compression=true "$T" >/dev/null
expect_eq "$(skopeo inspect --raw oci-archive:"$T/zf2.tar" | jq -c '[.layers[].digest]')" \
  "$(skopeo inspect --raw oci-archive:"$T/zf.tar" | jq -c '[.layers[].digest]')" "a second conversion"
zd=$(STRATA_ROOT=$T/zstd "$STRATA" load "$T/zf.tar" | awk '{print $2}')
expect_eq "$(STRATA_ROOT=$T/zstd "$STRATA" run "$zd" cat /z)" "z" "an image of zstd layers runs"
if "$STRATA" build -f "$T/Dockerfile.z" -o type=oci,dest="$T/bad.tar",compression=lz4 "$T" 2> "$T/err"; then fail "compression=lz4 accepted"; fi
grep -q 'compression= takes gzip, zstd or uncompressed' "$T/err" || fail "unclear error: $(cat "$T/err")"

if command -v podman >/dev/null; then
  "$STRATA" save busybox -o "$T/for-podman.tar"
  podman load -i "$T/for-podman.tar" >/dev/null 2>&1 || fail "podman load"
  podman load -i "$T/own.tar.gz" >/dev/null 2>&1 || fail "podman load of a gzip-compressed save"
  podman save --format docker-archive -o "$T/podman.tar" docker.io/library/busybox:latest >/dev/null 2>&1
  STRATA_ROOT=$T/from-podman "$STRATA" load "$T/podman.tar" >/dev/null
  expect_eq "$(STRATA_ROOT=$T/from-podman "$STRATA" run busybox echo ok)" "ok" "podman's archive"
  podman rmi -f docker.io/library/busybox:latest >/dev/null 2>&1 || true
else
  skip_part "podman load and save of archives: podman is not installed"
fi
echo "ok"
