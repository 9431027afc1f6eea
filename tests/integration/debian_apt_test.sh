#!/usr/bin/env bash
# Opt-in (STRATA_TEST_DEBIAN=1; it downloads ~40 MB from Debian's mirror):
# a Debian bookworm base made with debootstrap, loaded into strata, and a
# RUN step that runs apt-get install over the host network.
source "$(dirname "$0")/lib.sh"
if [ "${STRATA_TEST_DEBIAN:-}" != 1 ]; then skip "downloads from Debian's mirror: set STRATA_TEST_DEBIAN=1 to run"; fi
need debootstrap
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
debootstrap --variant=minbase bookworm "$T/rootfs" "$mirror" > "$T/debootstrap.log" 2>&1 ||
  fail "debootstrap: $(tail -5 "$T/debootstrap.log")"
rm -rf "$T/rootfs/var/cache/apt/archives/"*.deb "$T/rootfs/var/lib/apt/lists/"*
# The root filesystem becomes an image through strata itself: COPY of the
# whole tree into scratch.
printf 'FROM scratch\nCOPY . /\nCMD ["bash"]\n' > "$T/Dockerfile.base"
"$STRATA" build --progress quiet -f "$T/Dockerfile.base" -t debian:bookworm "$T/rootfs" >/dev/null
mkdir -p "$T/ctx"
cat > "$T/ctx/Dockerfile" <<'DOCKERFILE'
FROM debian:bookworm
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hello \
 && rm -rf /var/lib/apt/lists/*
CMD ["hello"]
DOCKERFILE
"$STRATA" build --progress plain -t hello-deb "$T/ctx" > "$T/out" 2>&1 || fail "apt-get build: $(tail -20 "$T/out")"
expect_eq "$("$STRATA" run hello-deb)" "Hello, world!" "the hello package"

# The dependency scenario of RUN mounts: apt's package lists and downloaded
# packages live in cache mounts. A changed package manifest reinstalls
# without downloading anything; so does a fresh store that imported the
# exported mounts.
mkdir -p "$T/dep"
printf 'hello\ntree\n' > "$T/dep/packages.txt"
cat > "$T/dep/Dockerfile" <<'DOCKERFILE'
FROM debian:bookworm
RUN rm -f /etc/apt/apt.conf.d/docker-clean && \
    echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' > /etc/apt/apt.conf.d/keep-debs
COPY packages.txt /tmp/
RUN --mount=type=cache,target=/var/cache/apt,id=apt-cache,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,id=apt-lists,sharing=locked \
    (ls /var/lib/apt/lists | grep -q _Packages || apt-get update -qq) && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(cat /tmp/packages.txt)
DOCKERFILE
downloads() { grep -c '| Get:[0-9]' "$1" || true; }
"$STRATA" build --progress plain -t dep "$T/dep" > "$T/dep1" 2>&1 || fail "dep build: $(tail -20 "$T/dep1")"
[ "$(downloads "$T/dep1")" -ge 2 ] || fail "the first install downloaded nothing? $(grep -c Get: "$T/dep1")"
"$STRATA" run dep sh -c 'test -x /usr/bin/tree && test -x /usr/bin/hello' || fail "packages not installed"
if "$STRATA" run dep sh -c 'ls /var/cache/apt/archives/*.deb' 2>/dev/null; then
  fail "downloaded packages reached the image"
fi
printf 'tree\nhello\n' > "$T/dep/packages.txt"
"$STRATA" build --progress plain -t dep "$T/dep" > "$T/dep2" 2>&1 || fail "dep rebuild: $(tail -20 "$T/dep2")"
grep -q 'files changed: modified /tmp/packages.txt' "$T/dep2" || fail "the manifest change was not explained"
expect_eq "$(downloads "$T/dep2")" 0 "downloads after a manifest change"
"$STRATA" cache export-mounts --dest "$T/mounts" >/dev/null
"$STRATA" save debian:bookworm -o "$T/base.tar" >/dev/null
export STRATA_ROOT=$T/store2   # a fresh runner
"$STRATA" load "$T/base.tar" >/dev/null
"$STRATA" cache import-mounts "$T/mounts" >/dev/null
printf 'hello\n' > "$T/dep/packages.txt"
"$STRATA" build --progress plain -t dep "$T/dep" > "$T/dep3" 2>&1 || fail "dep build in a fresh store: $(tail -20 "$T/dep3")"
expect_eq "$(downloads "$T/dep3")" 0 "downloads in a fresh store with imported mounts"
echo "ok"
