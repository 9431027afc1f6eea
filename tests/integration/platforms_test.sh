#!/usr/bin/env bash
# Images for other platforms: an arm64 busybox from Debian's
# busybox-static:arm64, built with --platform linux/arm64 (its RUN runs
# under QEMU user emulation through binfmt_misc); a base built for
# linux/amd64,linux/arm64 from per-arch binaries (COPY busybox-$TARGETARCH)
# and pushed as one index to a registry on 127.0.0.1; on an empty store, a
# child build FROM that index pulls the arm64 image for --platform
# linux/arm64 and the amd64 one by default, keeps both beside the index,
# and its RUN reports `uname -m` and $TARGETPLATFORM, read back by strata
# run; the child built for both platforms and pushed, read by skopeo
# (--override-arch) + umoci; written as an archive of the index (skopeo,
# podman load, strata load and run --platform read it) and as a directory
# per platform; two single-platform pushes merged by imagetools create
# (also through the docker CLI plugin).
source "$(dirname "$0")/lib.sh"
need skopeo umoci jq docker-registry curl update-binfmts dpkg-deb
[ "$(uname -m)" = x86_64 ] || skip "written for an x86_64 host"
binfmt=/proc/sys/fs/binfmt_misc
[ -e "$binfmt/status" ] || mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null ||
  skip "binfmt_misc cannot be mounted here"
[ -e "$binfmt/qemu-aarch64" ] || update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 ||
  skip "qemu-aarch64 cannot be registered (qemu-user-static installed?)"
make_busybox
"$STRATA" save busybox -o "$T/busybox.tar" 2>/dev/null

# The arm64 busybox, from Debian's mirror.
(cd "$T" && apt-get download -qq busybox-static:arm64 >/dev/null 2>&1) ||
  skip "busybox-static:arm64 cannot be downloaded (dpkg --add-architecture arm64; apt-get update)"
dpkg-deb -x "$T"/busybox-static_*_arm64.deb "$T/arm64-deb"
mkdir -p "$T/bb-arm64"
cp "$T/arm64-deb/bin/busybox" "$T/bb-arm64/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCMD ["sh"]\n' \
  > "$T/bb-arm64/Dockerfile"
"$STRATA" build --progress plain --platform linux/arm64 -t busybox-arm64 "$T/bb-arm64" > "$T/log" 2>&1 ||
  fail "the arm64 busybox (RUN under QEMU): $(cat "$T/log")"
expect_eq "$("$STRATA" inspect busybox-arm64 | jq -r .config.architecture)" "arm64" "its config"
# With the interpreter disabled: a build whose RUN hits the cache needs no
# emulation; one whose RUN would run is refused before it starts, saying
# how to enable it.
echo 0 > "$binfmt/qemu-aarch64"
trap 'echo 1 > "$binfmt/qemu-aarch64"; cleanup' EXIT
"$STRATA" build --progress plain --platform linux/arm64 -t busybox-arm64 "$T/bb-arm64" > "$T/log" 2>&1 ||
  fail "a cached arm64 build without QEMU: $(cat "$T/log")"
grep -q "CACHED" "$T/log" || fail "the RUN did not hit: $(cat "$T/log")"
"$STRATA" build --progress plain --no-cache --platform linux/arm64 "$T/bb-arm64" > "$T/log" 2>&1 &&
  fail "a RUN under a disabled interpreter did not fail"
grep -q "qemu-aarch64 is disabled: enable it (update-binfmts --enable qemu-aarch64" "$T/log" ||
  fail "the error does not say how to enable it: $(cat "$T/log")"
! grep -q "exec format error" "$T/log" || fail "a container was started: $(cat "$T/log")"
echo 1 > "$binfmt/qemu-aarch64"

start_registry registry
R=127.0.0.1:$PORT
export STRATA_INSECURE_REGISTRIES=$R
# A base for both platforms from per-arch binaries, pushed as one index.
mkdir -p "$T/base"
cp /bin/busybox "$T/base/busybox-amd64"
cp "$T/arm64-deb/bin/busybox" "$T/base/busybox-arm64"
printf 'FROM scratch\nARG TARGETARCH\nCOPY busybox-$TARGETARCH /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n' \
  > "$T/base/Dockerfile"
"$STRATA" build --progress plain --platform linux/amd64,linux/arm64 -t "$R/bb:multi" --push \
  --iidfile "$T/iid" "$T/base" > "$T/log" 2>&1 || fail "the two-platform base: $(cat "$T/log")"
grep -q "built sha256:[0-9a-f]* for linux/amd64, linux/arm64" "$T/log" || fail "no index built: $(cat "$T/log")"
raw=$(skopeo inspect --tls-verify=false --raw "docker://$R/bb:multi")
expect_eq "$(jq -c '[.manifests[].platform.architecture]' <<<"$raw")" '["amd64","arm64"]' \
  "the pushed index"
expect_eq "sha256:$(printf %s "$raw" | sha256sum | cut -d' ' -f1)" "$(cat "$T/iid")" "--iidfile: the index"
expect_eq "$("$STRATA" images | grep "^$R/bb:multi " | awk '{print $4, $5}')" "linux/amd64 linux/arm64" \
  "strata images"

mkdir -p "$T/app"
printf 'FROM %s/bb:multi\nARG TARGETPLATFORM\nRUN echo "$(uname -m) $TARGETPLATFORM" > /arch\n' "$R" \
  > "$T/app/Dockerfile"
export STRATA_ROOT=$T/store-child
"$STRATA" build --progress plain --platform linux/arm64 -t app-arm64 "$T/app" > "$T/log" 2>&1 ||
  fail "the arm64 child build: $(cat "$T/log")"
grep -q "pulled $R/bb:multi for linux/arm64" "$T/log" || fail "no arm64 pull: $(cat "$T/log")"
expect_eq "$("$STRATA" run app-arm64 cat /arch)" "aarch64 linux/arm64" "strata run of the arm64 image"
"$STRATA" build --progress plain -t app-amd64 "$T/app" > "$T/log" 2>&1 ||
  fail "the amd64 child build: $(cat "$T/log")"
expect_eq "$("$STRATA" run app-amd64 cat /arch)" "x86_64 linux/amd64" "strata run of the amd64 image"
"$STRATA" images > "$T/images"
grep -q "^$R/bb:multi .* linux/amd64 linux/arm64$" "$T/images" ||
  fail "strata images does not show both platforms: $(cat "$T/images")"
expect_eq "$("$STRATA" inspect "$R/bb:multi" | jq -c '[.index.platforms[] | [.platform, .in_store]]')" \
  '[["linux/amd64",true],["linux/arm64",true]]' "strata inspect of the index"

# The app for both platforms, pushed; skopeo picks each platform of it.
"$STRATA" build --progress plain --platform linux/amd64,linux/arm64 -t "$R/app:multi" --push "$T/app" \
  > "$T/log" 2>&1 || fail "the two-platform app: $(cat "$T/log")"
for arch in amd64 arm64; do
  rm -rf "$T/layout-$arch" "$T/bundle-$arch"
  skopeo --override-arch "$arch" copy -q --src-tls-verify=false "docker://$R/app:multi" "oci:$T/layout-$arch:x"
  umoci unpack --image "$T/layout-$arch:x" "$T/bundle-$arch" > /dev/null 2>&1 || fail "umoci unpack $arch"
done
expect_eq "$(cat "$T/bundle-arm64/rootfs/arch")" "aarch64 linux/arm64" "skopeo --override-arch arm64"
expect_eq "$(cat "$T/bundle-amd64/rootfs/arch")" "x86_64 linux/amd64" "skopeo --override-arch amd64"
# The platforms build at once, each step named with its platform; a stage
# both use (FROM --platform=$BUILDPLATFORM) runs once: both images hold the
# random uuid its RUN wrote.
mkdir -p "$T/shared"
"$STRATA" load "$T/busybox.tar" > /dev/null 2>&1 || fail "loading busybox"
printf 'FROM --platform=$BUILDPLATFORM busybox AS gen\nRUN sleep 1; cat /proc/sys/kernel/random/uuid > /stamp\nFROM %s/bb:multi\nCOPY --from=gen /stamp /stamp\nRUN uname -m > /m\n' "$R" \
  > "$T/shared/Dockerfile"
"$STRATA" build --progress plain --platform linux/amd64,linux/arm64 -t shared:multi "$T/shared" \
  > "$T/log" 2>&1 || fail "the build with a shared stage: $(cat "$T/log")"
grep -q "\[linux/arm64 stage-1 3/3\] RUN uname -m" "$T/log" || fail "no platform in the step names: $(cat "$T/log")"
amd=$("$STRATA" run shared:multi cat /stamp)
arm=$("$STRATA" run --platform linux/arm64 shared:multi cat /stamp)
[ -n "$amd" ] && expect_eq "$arm" "$amd" "the shared stage's RUN ran once"
expect_eq "$("$STRATA" run --platform linux/arm64 shared:multi cat /m)" aarch64 "the arm64 image"

# One platform's build failing stops the others before their next step.
mkdir -p "$T/failing"
printf 'FROM %s/bb:multi\nRUN [ "$(uname -m)" != aarch64 ] && sleep 2\nRUN echo after > /after\n' "$R" \
  > "$T/failing/Dockerfile"
"$STRATA" build --progress plain --platform linux/amd64,linux/arm64 "$T/failing" > "$T/log" 2>&1 &&
  fail "a failing arm64 RUN did not fail the build"
grep -q "^error: linux/arm64: " "$T/log" || fail "the error does not name the platform: $(cat "$T/log")"
! grep -q "RUN echo after" "$T/log" || fail "the amd64 build went on: $(cat "$T/log")"

# Two single-platform builds, pushed to repositories of their own, merged
# into one index by imagetools create: blobs mounted across repositories,
# none copied; skopeo reads each platform; the plugin's imagetools do too.
"$STRATA" push app-arm64 "$R/app-arm64:1" > /dev/null 2>&1 || fail "push app-arm64"
"$STRATA" push app-amd64 "$R/app-amd64:1" > /dev/null 2>&1 || fail "push app-amd64"
"$STRATA" imagetools create -t "$R/merged:1" "$R/app-amd64:1" "$R/app-arm64:1" > "$T/out" 2> "$T/err" ||
  fail "imagetools create: $(cat "$T/err")"
grep -q "pushed $R/merged:1 (sha256:[0-9a-f]*): 2 manifests, [1-9][0-9]* blobs mounted, 0 copied" "$T/err" ||
  fail "imagetools create did not mount the blobs: $(cat "$T/err")"
expect_eq "$(skopeo inspect --tls-verify=false --raw "docker://$R/merged:1" | sha256sum | cut -d' ' -f1)" \
  "$(cut -d: -f2 < "$T/out")" "the merged index's digest"
for arch in amd64 arm64; do
  rm -rf "$T/layout-m$arch" "$T/bundle-m$arch"
  skopeo --override-arch "$arch" copy -q --src-tls-verify=false "docker://$R/merged:1" "oci:$T/layout-m$arch:x"
  umoci unpack --image "$T/layout-m$arch:x" "$T/bundle-m$arch" > /dev/null 2>&1 || fail "umoci unpack merged $arch"
done
expect_eq "$(cat "$T/bundle-marm64/rootfs/arch") / $(cat "$T/bundle-mamd64/rootfs/arch")" \
  "aarch64 linux/arm64 / x86_64 linux/amd64" "the merged index's images"
expect_eq "$("$STRATA" imagetools create --dry-run "$R/app-arm64:1" | jq -r '.manifests[0].platform.architecture')" \
  arm64 "imagetools create --dry-run"
if command -v docker > /dev/null; then
  export DOCKER_CONFIG=$T/docker-config
  "$STRATA" install-plugin > /dev/null || fail "install-plugin"
  docker buildx imagetools create -t "$R/merged:2" "$R/merged:1" > /dev/null 2> "$T/err" ||
    fail "docker buildx imagetools create: $(cat "$T/err")"
  docker buildx imagetools inspect "$R/merged:2" > "$T/out" 2>&1 || fail "imagetools inspect: $(cat "$T/out")"
  expect_eq "$(grep -c 'Platform:  linux/a' "$T/out")" 2 "docker buildx imagetools inspect: $(cat "$T/out")"
else
  skip_part "docker buildx imagetools through the plugin: no docker CLI"
fi

# --output of both platforms: an archive with the index (skopeo picks each
# platform of it), a directory per platform; tar and --load take one.
"$STRATA" build --progress quiet --platform linux/amd64,linux/arm64 -t app:multi \
  -o "type=oci,dest=$T/multi.tar" -o "type=local,dest=$T/multi-local" "$T/app" > /dev/null 2> "$T/err" ||
  fail "--output of two platforms: $(cat "$T/err")"
expect_eq "$(tar -xOf "$T/multi.tar" index.json | jq -r '.manifests[0].mediaType')" \
  "application/vnd.oci.image.index.v1+json" "index.json of the two-platform archive"
expect_eq "$(tar -xOf "$T/multi.tar" manifest.json | jq -c '[.[].RepoTags]')" '[["app:multi"],[]]' \
  "manifest.json: both images, the names on the host's"
rm -rf "$T/layout-a" "$T/bundle-a"
skopeo --override-arch arm64 copy -q "oci-archive:$T/multi.tar" "oci:$T/layout-a:x"
umoci unpack --image "$T/layout-a:x" "$T/bundle-a" > /dev/null 2>&1 || fail "umoci unpack (archive, arm64)"
expect_eq "$(cat "$T/bundle-a/rootfs/arch")" "aarch64 linux/arm64" "the archive's arm64 image"
expect_eq "$(cat "$T/multi-local/linux_arm64/arch") / $(cat "$T/multi-local/linux_amd64/arch")" \
  "aarch64 linux/arm64 / x86_64 linux/amd64" "--output type=local of two platforms"
for o in "-o type=tar,dest=$T/x.tar" --load; do
  # shellcheck disable=SC2086
  "$STRATA" build --progress quiet --platform linux/amd64,linux/arm64 $o "$T/app" \
    > /dev/null 2> "$T/err" && fail "$o of two platforms did not fail"
  grep -q "takes one platform's image; with --platform linux/amd64,linux/arm64" "$T/err" ||
    fail "the error of $o: $(cat "$T/err")"
done
[ ! -e "$T/x.tar" ] || fail "a refused --output left a file"

# strata save of the index: every platform; strata load into an empty store
# brings both; strata run --platform picks one; podman loads the archive.
"$STRATA" save app:multi -o "$T/saved-multi.tar" 2> /dev/null || fail "strata save of the index"
STRATA_ROOT=$T/store-loaded "$STRATA" load "$T/saved-multi.tar" > /dev/null 2>&1 || fail "strata load"
expect_eq "$(STRATA_ROOT=$T/store-loaded "$STRATA" images | grep '^app:multi ' | awk '{print $4, $5}')" \
  "linux/amd64 linux/arm64" "strata images after the load"
expect_eq "$(STRATA_ROOT=$T/store-loaded "$STRATA" run --platform linux/arm64 app:multi cat /arch)" \
  "aarch64 linux/arm64" "strata run --platform linux/arm64"
expect_eq "$(STRATA_ROOT=$T/store-loaded "$STRATA" run app:multi cat /arch)" \
  "x86_64 linux/amd64" "strata run (the host's platform)"
"$STRATA" save --platform linux/arm64 app:multi -o "$T/saved-arm.tar" 2> /dev/null
expect_eq "$(tar -xOf "$T/saved-arm.tar" manifest.json | jq length)" 1 "save --platform: one image"
if command -v podman > /dev/null; then
  podman load -i "$T/saved-multi.tar" > "$T/podman" 2>&1 || fail "podman load: $(cat "$T/podman")"
  expect_eq "$(podman image inspect --format '{{.Architecture}}' app:multi 2>&1)" amd64 \
    "podman's image of the archive"
  podman rmi -f app:multi > /dev/null 2>&1 || true
else
  skip_part "podman load of the two-platform archive: podman is not installed"
fi

# Tools we did not write read the arm64 child: its busybox is an aarch64
# ELF (machine 0xb7) and its RUN saw aarch64.
"$STRATA" save app-arm64 -o "$T/arm.tar" 2>/dev/null
skopeo copy -q "oci-archive:$T/arm.tar" "oci:$T/layout:arm"
umoci unpack --image "$T/layout:arm" "$T/bundle" > /dev/null 2>&1 || fail "umoci unpack"
expect_eq "$(cat "$T/bundle/rootfs/arch")" "aarch64 linux/arm64" "umoci's rootfs"
expect_eq "$(od -An -tx1 -j18 -N2 "$T/bundle/rootfs/bin/busybox" | tr -d ' ')" "b700" "an aarch64 ELF"
echo "platforms: OK"
