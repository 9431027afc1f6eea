#!/usr/bin/env bash
# Opt-in (STRATA_TEST_DEBIAN=1; it downloads ~40 MB from Debian's mirror):
# a Debian bookworm base made with debootstrap, loaded into strata, and a
# RUN step that runs apt-get install over the host network.
source "$(dirname "$0")/lib.sh"
if [ "${STRATA_TEST_DEBIAN:-}" != 1 ]; then echo "skipped: set STRATA_TEST_DEBIAN=1 to run"; exit 77; fi
command -v debootstrap >/dev/null || { echo "skipped: debootstrap is not installed"; exit 77; }
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
echo "ok"
