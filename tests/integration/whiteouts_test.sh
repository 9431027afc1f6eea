#!/usr/bin/env bash
# A RUN that deletes and replaces files of the base: the layer carries OCI
# whiteouts and an opaque directory, and after a save/load round trip into an
# empty store the final root filesystem has exactly the expected files.
source "$(dirname "$0")/lib.sh"
make_busybox
mkdir -p "$T/base" "$T/child"
cat > "$T/base/Dockerfile" <<'DOCKERFILE'
FROM busybox
RUN mkdir -p /data/keep /data/gone /data/opaque && echo 1 > /data/keep/a && echo 2 > /data/gone/b \
 && echo 3 > /data/opaque/old && echo x > /data/file
RUN rm -rf /data/gone /data/file /data/opaque && mkdir /data/opaque && echo new > /data/opaque/new \
 && echo replaced > /data/keep/a
DOCKERFILE
"$STRATA" build --progress quiet -t base "$T/base" >/dev/null
"$STRATA" save base -o "$T/base.tar"
STRATA_ROOT=$T/other "$STRATA" load "$T/base.tar" >/dev/null
printf 'FROM base\nRUN echo child > /data/child\n' > "$T/child/Dockerfile"
STRATA_ROOT=$T/other "$STRATA" build --progress quiet --output type=local,dest="$T/out" "$T/child" >/dev/null
got=$(cd "$T/out/data" && find . | sort | tr '\n' ' ')
expect_eq "$got" ". ./child ./keep ./keep/a ./opaque ./opaque/new " "files under /data"
expect_eq "$(cat "$T/out/data/keep/a")" "replaced"
layer=$(STRATA_ROOT=$T/other "$STRATA" inspect base | jq -r '.manifest.layers[-1].digest' | cut -d: -f2)
entries=$(tar -tzf "$T/other/blobs/sha256/$layer" | sort | tr '\n' ' ')
case "$entries" in
  *"data/.wh.file"*"data/.wh.gone"*"data/opaque/.wh..wh..opq"*) ;;
  *) fail "last layer lacks the whiteouts: $entries" ;;
esac
echo "ok"
