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
# (--override-arch) + umoci.
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
# --output takes one platform's image: said, nothing half-written.
"$STRATA" build --progress quiet --platform linux/amd64,linux/arm64 -o "type=oci,dest=$T/x.tar" "$T/app" \
  > /dev/null 2> "$T/err" && fail "--output of two platforms did not fail"
grep -q "with --platform linux/amd64,linux/arm64 strata can tag (-t) and push (--push) the index" "$T/err" ||
  fail "the error: $(cat "$T/err")"

# Tools we did not write read the arm64 child: its busybox is an aarch64
# ELF (machine 0xb7) and its RUN saw aarch64.
"$STRATA" save app-arm64 -o "$T/arm.tar" 2>/dev/null
skopeo copy -q "oci-archive:$T/arm.tar" "oci:$T/layout:arm"
umoci unpack --image "$T/layout:arm" "$T/bundle" > /dev/null 2>&1 || fail "umoci unpack"
expect_eq "$(cat "$T/bundle/rootfs/arch")" "aarch64 linux/arm64" "umoci's rootfs"
expect_eq "$(od -An -tx1 -j18 -N2 "$T/bundle/rootfs/bin/busybox" | tr -d ' ')" "b700" "an aarch64 ELF"
echo "platforms: OK"
