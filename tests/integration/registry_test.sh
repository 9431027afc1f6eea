#!/usr/bin/env bash
# strata against real CNCF distribution registries (Debian's docker-registry)
# on 127.0.0.1: one open, one with htpasswd basic auth, one with bearer
# tokens from the test's own token server (registry_helper.py).
# - push (base layers mounted across repositories), skopeo + umoci + runc
#   run what strata pushed; --pull refreshes a base already in the store;
# - two runners share a mode=max registry cache: B, empty, hits every step,
#   runs nothing and downloads no base layer; after a one-file change B runs
#   only the steps after it and uploads only the new layer;
# - --cache-from fallback list with a missing ref (a warning);
# - login/logout, basic and token auth, clear errors without credentials;
# - a corrupt blob in the registry: a clear error, nothing stored;
# - 503s and dropped connections (a flaky proxy) are retried;
# - cache mounts through the registry (mounts=true) as chunks;
# - Docker schema 2 images, an image index (the host's platform), zstd layers;
# - chunked uploads.
. "$(dirname "$0")/lib.sh" "$1"
need docker-registry htpasswd python3 openssl skopeo umoci runc
HELPER=$(dirname "$(realpath "$0")")/registry_helper.py
export SOURCE_DATE_EPOCH=0
export DOCKER_CONFIG=$T/docker   # never the user's credentials

# Bytes of blobs the registry served since log line $2 (its access log).
served_blob_bytes() {
  tail -n +"$2" "$T/$1/log" | grep -E '"GET /v2/[^ ]*/blobs/sha256:[0-9a-f]+ HTTP' |
    awk '{ if ($9 == 200) sum += $10 } END { print sum + 0 }'
}
served_blobs() { tail -n +"$2" "$T/$1/log" | grep -E '"GET /v2/[^ ]*/blobs/sha256:[0-9a-f]+ HTTP' | grep -oE 'sha256:[0-9a-f]+' || true; }
log_mark() { echo $(($(wc -l < "$T/$1/log") + 1)); }
storage_blobs() { find "$T/$1/data/docker/registry/v2/blobs" -name data -type f -printf '%s %h\n' 2>/dev/null | sort; }

start_registry open
R=127.0.0.1:$PORT

# --- push: the base goes up, then an image on it mounts the base's layers.
make_busybox
"$STRATA" push busybox "$R/base/busybox:1" > "$T/push.out" 2> "$T/push.err" || fail "push: $(cat "$T/push.err")"
skopeo inspect --tls-verify=false "docker://$R/base/busybox:1" > "$T/inspect.json" || fail "skopeo cannot inspect the pushed base"
expect_eq "$(jq -r .Digest "$T/inspect.json")" "$(cat "$T/push.out")" "digest skopeo sees"
grep -qE "^pushing $R/base/busybox:1: [0-9.]+ (B|KiB|MiB) in " "$T/push.err" || fail "no progress line for the push: $(cat "$T/push.err")"

# --- --pull: a base already in the store is used as it is, until --pull
# fetches what the tag names now.
mkdir -p "$T/ver" "$T/puller"
for v in 1 2; do
  printf 'FROM busybox\nRUN echo %s > /version\n' "$v" > "$T/ver/Dockerfile"
  "$STRATA" build --progress quiet -t "ver$v" "$T/ver" > /dev/null
done
"$STRATA" push ver1 "$R/pull/base:1" > /dev/null 2>&1 || fail "push ver1"
printf 'FROM %s\nRUN cat /version > /seen\n' "$R/pull/base:1" > "$T/puller/Dockerfile"
STRATA_ROOT=$T/puller-store "$STRATA" build --progress quiet -t child "$T/puller" > /dev/null
expect_eq "$(STRATA_ROOT=$T/puller-store "$STRATA" run child cat /seen)" "1" "the base pulled when missing"
"$STRATA" push ver2 "$R/pull/base:1" > /dev/null 2>&1 || fail "push ver2 under the same tag"
STRATA_ROOT=$T/puller-store "$STRATA" build --progress quiet -t child "$T/puller" > /dev/null
expect_eq "$(STRATA_ROOT=$T/puller-store "$STRATA" run child cat /seen)" "1" "without --pull the stored base is used"
STRATA_ROOT=$T/puller-store "$STRATA" build --progress quiet --pull -t child "$T/puller" > /dev/null
expect_eq "$(STRATA_ROOT=$T/puller-store "$STRATA" run child cat /seen)" "2" "--pull fetches the tag's new image"

C=$T/ctx
mkdir -p "$C/src"
for i in $(seq 1 20); do echo "file $i" > "$C/src/f$i.txt"; done
cat > "$C/Dockerfile" <<DOCKERFILE
FROM $R/base/busybox:1 AS tools
RUN echo tool > /tool
FROM $R/base/busybox:1
RUN echo base > /base
COPY --from=tools /tool /tool
COPY src/ /app/
RUN ls /app | wc -l > /count
CMD ["sh", "-c", "cat /base /tool /count"]
DOCKERFILE

# Runner A: a fresh store that pulls its base lazily, pushes the image and
# a mode=max cache.
export STRATA_ROOT=$T/a
out=$("$STRATA" build --progress plain -t "$R/app/image:1" --push \
  --cache-to "type=registry,ref=$R/cache/app:main,mode=max" "$C" 2>&1) || fail "runner A: $out"
da=$(echo "$out" | tail -1)
grep -qE '[1-9][0-9]* mounted' <<<"$out" || fail "the base layers were not mounted: $(echo "$out" | grep mounted)"
expected=$(printf 'base\ntool\n20')
expect_eq "$("$STRATA" run "$R/app/image:1")" "$expected" "strata run on runner A"
skopeo copy -q --src-tls-verify=false "docker://$R/app/image:1" "oci:$T/layout:app"
umoci unpack --image "$T/layout:app" "$T/bundle" >/dev/null 2>&1
sed -i 's/"terminal": *true/"terminal": false/' "$T/bundle/config.json"
got=$(cd "$T/bundle" && runc run "strata-reg-$$")
expect_eq "$got" "$expected" "skopeo + umoci + runc on what strata pushed"
skopeo inspect --raw --tls-verify=false "docker://$R/cache/app:main" |
  jq -e '.config.mediaType == "application/vnd.strata.cache.config.v1+json"' >/dev/null ||
  fail "the cache manifest is not a strata cache artifact"

# Runner B: empty; its own ref is missing (a warning), main's is there.
export STRATA_ROOT=$T/b
base_layers=$(skopeo inspect --tls-verify=false "docker://$R/base/busybox:1" | jq -r '.Layers[]')
mark=$(log_mark open)
out=$("$STRATA" build --progress plain --cache-from "type=registry,ref=$R/cache/app:pr-7" \
  --cache-from "type=registry,ref=$R/cache/app:main" "$C" 2>&1) || fail "runner B: $out"
grep -q "warning: --cache-from type=registry,ref=$R/cache/app:pr-7" <<<"$out" ||
  fail "no warning for the missing ref: $out"
expect_eq "$(echo "$out" | tail -1)" "$da" "runner B builds runner A's image"
if grep -q 'cache miss' <<<"$out"; then fail "runner B missed: $(echo "$out" | grep -B1 'cache miss')"; fi
expect_all_cached "runner B"
for l in $base_layers; do
  if grep -q "$l" <<<"$(served_blobs open "$mark")"; then fail "runner B downloaded base layer $l"; fi
done
echo "runner B downloaded $(served_blob_bytes open "$mark") bytes of blobs (configs only)"

# One file changed on B: the COPY and the RUN after it run; the export
# uploads only the new COPY layer (the RUN writes the same count, the same
# blob with SOURCE_DATE_EPOCH) besides the cache's config and manifest.
echo changed >> "$C/src/f7.txt"
before=$(storage_blobs open)
out=$("$STRATA" build --progress plain --cache-from "type=registry,ref=$R/cache/app:main" \
  --cache-to "type=registry,ref=$R/cache/app:pr-7,mode=max" "$C" 2>&1) || fail "runner B, one change: $out"
expect_eq "$(echo "$out" | grep -c 'cache miss')" 2 "steps that ran after a one-file change"
new=$(comm -13 <(echo "$before") <(storage_blobs open))
new_bytes=$(echo "$new" | awk '{ s += $1 } END { print s + 0 }')
copy_layer=$("$STRATA" inspect "$(echo "$out" | tail -1)" | jq '.manifest.layers[-2].size')
echo "upload after one change: $(echo "$new" | wc -l) new blobs in the registry, $new_bytes B; the new COPY layer is $copy_layer B"
[ "$new_bytes" -le $((copy_layer + 16384)) ] || fail "the registry received $new_bytes B for a $copy_layer B layer: $new"
grep -q "exported .* records to $R/cache/app:pr-7: 2 new blobs" <<<"$out" ||
  fail "export after one change: $(echo "$out" | grep exported)"
export STRATA_ROOT=$T/c
out=$("$STRATA" build --progress plain --cache-from "type=registry,ref=$R/cache/app:pr-7" "$C" 2>&1)
if grep -q 'cache miss' <<<"$out"; then fail "the pr-7 cache misses: $out"; fi

# --- cache mounts travel with a registry cache (mounts=true), as chunks:
# a re-export after one small change uploads a few KiB, and an import into
# a store that has the mount fetches only the chunks it lacks.
M=$T/mctx
mkdir -p "$M"
cat > "$M/Dockerfile" <<DOCKERFILE
FROM $R/base/busybox:1
ARG N=1
RUN --mount=type=cache,target=/c,id=deps sh -c 'for i in \$(seq 1 20); do [ -f /c/big\$i ] || head -c 700000 /dev/urandom > /c/big\$i; done; for i in \$(seq 1 300); do [ -f /c/small\$i ] || echo small \$i > /c/small\$i; done; echo \$N > /c/n'
DOCKERFILE
printf 'FROM %s/base/busybox:1\nARG X\nRUN --mount=type=cache,target=/c,id=deps sh -c "cat /c/n; ls /c | wc -l; cat /c/big* | md5sum" > /got\n' "$R" > "$M/Dockerfile.check"
export STRATA_ROOT=$T/a
sent_bytes() { echo "$1" | grep -oE 'exported .* new blobs, [0-9]+ B' | grep -oE '[0-9]+ B$' | cut -d' ' -f1; }
got_bytes() { echo "$1" | grep -oE 'imported .* blobs \([0-9]+ B\)' | grep -oE '\([0-9]+ B' | tr -d '( B'; }
out=$("$STRATA" build --progress plain --cache-to "type=registry,ref=$R/cache/mounts:main,mounts=true" "$M" 2>&1) || fail "mounts export: $out"
grep -q "exported .*1 cache mounts" <<<"$out" || fail "no cache mount exported: $(echo "$out" | grep exported)"
first=$(sent_bytes "$out")
out=$("$STRATA" build --progress plain --build-arg N=2 --cache-to "type=registry,ref=$R/cache/mounts:main,mounts=true" "$M" 2>&1)
sent=$(sent_bytes "$out")
echo "mounts: first export $first B, again after one small change $sent B"
[ "$sent" -le $((first / 20)) ] || fail "re-exporting the mounts after one small change sent $sent of $first B"
want=$("$STRATA" build --progress quiet -t mcheck --build-arg X=$RANDOM -f "$M/Dockerfile.check" "$M" >/dev/null && "$STRATA" run mcheck cat /got)
export STRATA_ROOT=$T/m
out=$("$STRATA" build --progress plain --build-arg N=2 --cache-from "type=registry,ref=$R/cache/mounts:main" "$M" 2>&1) || fail "mounts import: $out"
grep -q "1 cache mounts from" <<<"$out" || fail "no cache mount imported: $(echo "$out" | grep imported)"
first=$(got_bytes "$out")
"$STRATA" build --progress quiet -t mcheck --build-arg X=$RANDOM -f "$M/Dockerfile.check" "$M" >/dev/null
expect_eq "$("$STRATA" run mcheck cat /got)" "$want" "the cache mount came through the registry"
export STRATA_ROOT=$T/a
"$STRATA" build --progress quiet --build-arg N=3 --cache-to "type=registry,ref=$R/cache/mounts:main,mounts=true" "$M" >/dev/null 2>&1
export STRATA_ROOT=$T/m
out=$("$STRATA" build --progress plain --build-arg N=3 --cache-from "type=registry,ref=$R/cache/mounts:main" "$M" 2>&1)
got=$(got_bytes "$out")
echo "mounts: first import $first B, again after one small change $got B"
[ "$got" -le $((first / 20)) ] || fail "re-importing the mounts after one small change fetched $got of $first B"

# --- pull: all layers, digest-checked; a lazily pulled image runs.
export STRATA_ROOT=$T/d
"$STRATA" pull "$R/app/image:1" > /dev/null 2> "$T/pull.err" || fail "pull: $(cat "$T/pull.err")"
grep -qE "^pulling $R/app/image:1: [0-9.]+ (B|KiB|MiB) in " "$T/pull.err" || fail "no progress line for the pull: $(cat "$T/pull.err")"
# The pull did not wait for the disk: its blobs are in a journal of this boot.
[ "$(cat "$T/d/unsynced/"* | grep -c '^sha256:')" -ge 2 ] || fail "the pull journalled no blob"
expect_eq "$("$STRATA" run "$R/app/image:1")" "$expected" "strata run after strata pull"
"$STRATA" pull "127.0.0.1:$PORT/app/missing:1" 2> "$T/err" && fail "pulling a missing image succeeded"
grep -q 'MANIFEST_UNKNOWN\|404' "$T/err" || fail "unclear error for a missing image: $(cat "$T/err")"

# --- Docker schema 2 manifests, an image index (the host's platform is
# picked), and zstd layers.
skopeo copy -q --dest-tls-verify=false --format v2s2 "oci:$T/layout:app" "docker://$R/v2s2/app:1"
skopeo inspect --raw --tls-verify=false "docker://$R/v2s2/app:1" |
  jq -e '.mediaType == "application/vnd.docker.distribution.manifest.v2+json"' >/dev/null ||
  fail "skopeo did not write a Docker schema 2 manifest"
export STRATA_ROOT=$T/v2
"$STRATA" pull "$R/v2s2/app:1" > /dev/null 2> "$T/err" || fail "pull of a schema 2 image: $(cat "$T/err")"
expect_eq "$("$STRATA" run "$R/v2s2/app:1")" "$expected" "a Docker schema 2 image pulled by strata"
printf 'FROM %s/v2s2/app:1\nRUN echo more > /more\n' "$R" > "$T/Dockerfile.v2"
"$STRATA" build --progress quiet -t "$R/v2s2/app:2" --push -f "$T/Dockerfile.v2" "$T" > /dev/null 2> "$T/err" ||
  fail "build on a schema 2 base: $(cat "$T/err")"
skopeo inspect --raw --tls-verify=false "docker://$R/v2s2/app:2" |
  jq -e '.mediaType == "application/vnd.oci.image.manifest.v1+json" and ([.layers[].mediaType] | all(. == "application/vnd.oci.image.layer.v1.tar+gzip"))' >/dev/null ||
  fail "an image built on a schema 2 base is not OCI throughout"
digest=$(skopeo inspect --raw --tls-verify=false "docker://$R/app/image:1" | sha256sum | cut -d' ' -f1)
size=$(skopeo inspect --raw --tls-verify=false "docker://$R/app/image:1" | wc -c)
arch=$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')
other=$([ "$arch" = amd64 ] && echo arm64 || echo amd64)
# The other platform's entry names another image of the repository (the
# registry checks that an index's manifests exist there).
STRATA_ROOT=$T/store "$STRATA" push busybox "$R/app/image:other" >/dev/null 2>&1
odigest=$(skopeo inspect --raw --tls-verify=false "docker://$R/app/image:other" | sha256sum | cut -d' ' -f1)
osize=$(skopeo inspect --raw --tls-verify=false "docker://$R/app/image:other" | wc -c)
cat > "$T/index.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$odigest","size":$osize,"platform":{"os":"linux","architecture":"$other"}},
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$digest","size":$size,"platform":{"os":"linux","architecture":"$arch"}}]}
JSON
curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary @"$T/index.json" \
  "http://$R/v2/app/image/manifests/multi" >/dev/null || fail "could not push the index"
export STRATA_ROOT=$T/idx
"$STRATA" pull "$R/app/image:multi" > "$T/out" 2> "$T/err" || fail "pull through an index: $(cat "$T/err")"
expect_eq "$(cat "$T/out")" "sha256:$digest" "the index's $arch manifest"
export STRATA_ROOT=$T/store
"$STRATA" build --progress quiet -t zs:1 --output "type=oci,dest=$T/zstd.tar,compression=zstd,force-compression=true" \
  -f "$T/Dockerfile.v2" "$T" >/dev/null
export STRATA_ROOT=$T/zs
"$STRATA" load "$T/zstd.tar" >/dev/null 2>&1 || fail "loading the zstd image"
"$STRATA" push zs:1 "$R/zstd/app:1" >/dev/null 2> "$T/err" || fail "pushing zstd layers: $(cat "$T/err")"
skopeo inspect --raw --tls-verify=false "docker://$R/zstd/app:1" | jq -e '[.layers[].mediaType] | all(. == "application/vnd.oci.image.layer.v1.tar+zstd")' >/dev/null ||
  fail "the pushed image's layers are not zstd"
export STRATA_ROOT=$T/zs2
"$STRATA" pull "$R/zstd/app:1" >/dev/null 2> "$T/err" || fail "pulling zstd layers: $(cat "$T/err")"
expect_eq "$("$STRATA" run "$R/zstd/app:1" cat /more)" "more" "an image with zstd layers, pulled"

# --- chunked uploads (PATCH with Content-Range), read back by skopeo.
# A layer no repository has yet (else the push would mount it).
export STRATA_ROOT=$T/store
mkdir -p "$T/chunky"
head -c 1000000 /dev/urandom > "$T/chunky/random"
printf 'FROM scratch\nCOPY random /random\n' > "$T/chunky/Dockerfile"
"$STRATA" build --progress quiet -t chunky "$T/chunky" >/dev/null
mark=$(log_mark open)
STRATA_UPLOAD_CHUNK_SIZE=65536 "$STRATA" push chunky "$R/chunked/app:1" > "$T/push.out" 2>/dev/null || fail "chunked push"
[ "$(tail -n +"$mark" "$T/open/log" | grep -c '"PATCH ')" -gt 10 ] || fail "no chunked upload seen in the registry log"
skopeo copy -q --src-tls-verify=false "docker://$R/chunked/app:1" "oci:$T/chunked:x" || fail "skopeo cannot read the chunked push"
umoci unpack --image "$T/chunked:x" "$T/chunked-bundle" >/dev/null 2>&1
cmp "$T/chunky/random" "$T/chunked-bundle/rootfs/random" || fail "the file a chunked upload carried differs"

# --- retries: every path's first request is a 503, every blob's second
# GET is cut short; the pull still succeeds.
PF=$T/proxy.port
python3 "$HELPER" proxy "$PORT" "$PF" "$T/proxy.log" &
PIDS+=($!)
for _ in $(seq 1 50); do [ -s "$PF" ] && break; sleep 0.1; done
P=127.0.0.1:$(cat "$PF")
export STRATA_ROOT=$T/e
"$STRATA" pull "$P/app/image:1" >/dev/null 2> "$T/err" || fail "pull through a flaky proxy: $(cat "$T/err")"
grep -q '^503 ' "$T/proxy.log" && grep -q '^cut ' "$T/proxy.log" || fail "the proxy did not fail: $(cat "$T/proxy.log")"
expect_eq "$("$STRATA" run "$P/app/image:1")" "$expected" "the image pulled through the flaky proxy"

# --- a corrupt blob in the registry: a clear error, nothing kept.
layer=$(skopeo inspect --tls-verify=false "docker://$R/app/image:1" | jq -r '.Layers[-2]')
data=$T/open/data/docker/registry/v2/blobs/sha256/${layer:7:2}/${layer:7}/data
[ -f "$data" ] || fail "no registry file for $layer"
printf 'X' | dd of="$data" bs=1 seek=10 conv=notrunc status=none
export STRATA_ROOT=$T/f
"$STRATA" pull "$R/app/image:1" > /dev/null 2> "$T/err" && fail "a corrupt blob was accepted"
grep -q "corrupt" "$T/err" || fail "unclear error for a corrupt blob: $(cat "$T/err")"
[ ! -e "$T/f/blobs/sha256/${layer:7}" ] || fail "the corrupt blob was stored"
grep -q "app/image" <<<"$("$STRATA" images)" && fail "an image with a corrupt blob was tagged"
if [ -n "$(ls "$T/f/tmp")" ]; then fail "temporary files left: $(ls "$T/f/tmp")"; fi

# --- basic auth (htpasswd).
start_basic_registry basic ci s3cret
export STRATA_ROOT=$T/store
"$STRATA" push busybox "$RB/base/busybox:1" > /dev/null 2> "$T/err" && fail "push without credentials succeeded"
grep -q "strata login $RB" "$T/err" || fail "no login hint: $(cat "$T/err")"
echo wrong | "$STRATA" login "$RB" -u ci --password-stdin 2> "$T/err" && fail "login with a wrong password succeeded"
[ ! -e "$DOCKER_CONFIG/config.json" ] || ! grep -q "$RB" "$DOCKER_CONFIG/config.json" || fail "a failed login was stored"
echo s3cret | "$STRATA" login "$RB" -u ci --password-stdin 2> "$T/err" || fail "login: $(cat "$T/err")"
expect_eq "$(stat -c %a "$DOCKER_CONFIG/config.json")" 600 "config.json mode"
"$STRATA" push busybox "$RB/base/busybox:1" > /dev/null 2> "$T/err" || fail "push with basic auth: $(cat "$T/err")"
skopeo inspect --tls-verify=false --creds ci:s3cret "docker://$RB/base/busybox:1" > /dev/null || fail "skopeo cannot read it"
export STRATA_ROOT=$T/g
"$STRATA" pull "$RB/base/busybox:1" > /dev/null 2> "$T/err" || fail "pull with basic auth: $(cat "$T/err")"
"$STRATA" logout "$RB" 2>/dev/null
export STRATA_ROOT=$T/h
"$STRATA" pull "$RB/base/busybox:1" > /dev/null 2> "$T/err" && fail "pull after logout succeeded"

# --- bearer tokens from our token server.
openssl genrsa -out "$T/token.key" 2048 2>/dev/null
openssl req -x509 -new -key "$T/token.key" -subj /CN=strata-test-token -days 1 -out "$T/token.crt" 2>/dev/null
TF=$T/token.port
python3 "$HELPER" token "$T/token.key" strata-test-issuer strata-test ci t0ken "$TF" "$T/tokens.log" &
PIDS+=($!)
for _ in $(seq 1 50); do [ -s "$TF" ] && break; sleep 0.1; done
start_registry token "auth:
  token:
    realm: http://127.0.0.1:$(cat "$TF")/token
    service: strata-test
    issuer: strata-test-issuer
    rootcertbundle: $T/token.crt"
RT=127.0.0.1:$PORT
export STRATA_ROOT=$T/store
"$STRATA" push busybox "$RT/base/busybox:1" > /dev/null 2> "$T/err" && fail "push without a token succeeded"
grep -q "strata login $RT" "$T/err" || fail "no login hint for the token registry: $(cat "$T/err")"
echo t0ken | "$STRATA" login "$RT" -u ci --password-stdin 2> "$T/err" || fail "login with tokens: $(cat "$T/err")"
"$STRATA" push busybox "$RT/base/busybox:1" > /dev/null 2> "$T/err" || fail "push with tokens: $(cat "$T/err")"
export STRATA_ROOT=$T/i
"$STRATA" pull "$RT/base/busybox:1" > /dev/null 2> "$T/err" || fail "pull with tokens: $(cat "$T/err")"
expect_eq "$("$STRATA" run "$RT/base/busybox:1" echo hi)" "hi" "an image pulled with a token runs"
# A build on a lazily pulled base fetches each layer on its own, through a
# token the process asked for once.
export STRATA_ROOT=$T/j
printf 'FROM %s/base/busybox:1\nRUN echo lazy > /lazy\n' "$RT" > "$T/Dockerfile.lazy"
: > "$T/tokens.log"
"$STRATA" build --progress quiet -f "$T/Dockerfile.lazy" "$T" > /dev/null 2> "$T/err" || fail "build on a token registry base: $(cat "$T/err")"
expect_eq "$(grep -c "repository:base/busybox:pull" "$T/tokens.log")" 1 "token requests of one build"
echo "registry test passed"
