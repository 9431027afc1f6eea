#!/usr/bin/env bash
# strata as the docker CLI's buildx plugin, through the docker CLIs
# themselves: `strata install-plugin` into a private DOCKER_CONFIG; the
# metadata docker reads (`docker --help` lists it); `docker buildx version`;
# `docker buildx build` (docker 20.10, Debian's) and plain `docker build`
# (a docker CLI of 23 or later) building into strata's store; a buildx
# command strata does not provide (bake) is a clear error; install-plugin keeps a
# docker-buildx that is not strata's.
source "$(dirname "$0")/lib.sh"
need docker
make_busybox
export DOCKER_CONFIG=$T/docker-config
# No daemon is needed for a build through the plugin: none is reachable.
export DOCKER_HOST=unix://$T/no-daemon.sock
"$STRATA" install-plugin > "$T/out" || fail "install-plugin"
[ -L "$DOCKER_CONFIG/cli-plugins/docker-buildx" ] || fail "install-plugin made no link"
expect_eq "$(readlink -f "$DOCKER_CONFIG/cli-plugins/docker-buildx")" "$(readlink -f "$STRATA")" "the link names strata"
"$STRATA" install-plugin > /dev/null || fail "installing again over strata's own link"

meta=$("$STRATA" docker-cli-plugin-metadata)
expect_eq "$(jq -r .SchemaVersion <<<"$meta")" "0.1.0" "metadata schema"
expect_eq "$(jq -r .Vendor <<<"$meta")" "strata" "metadata vendor"

mkdir -p "$T/ctx"
printf 'FROM busybox\nARG WHO\nRUN echo "hello $WHO" > /greeting\n' > "$T/ctx/Dockerfile"
check_cli() {  # CLI NAME
  local cli=$1 name=$2
  "$cli" --help 2>&1 | grep -q 'buildx\*\? .*strata' || fail "$cli --help does not list strata's buildx"
  expect_eq "$("$cli" buildx version)" "github.com/docker/buildx v0.12.1 strata-0.1.0" "$cli buildx version"
  "$cli" buildx build --progress plain -t "$name" --build-arg WHO="$name" "$T/ctx" > "$T/out" 2>&1 ||
    fail "$cli buildx build: $(cat "$T/out")"
  expect_eq "$("$STRATA" run "$name" cat /greeting)" "hello $name" "$cli buildx build made the image"
  if "$cli" buildx bake > "$T/out" 2>&1; then fail "$cli buildx bake: accepted though strata has no bake"; fi
  grep -q 'docker buildx bake: strata provides build, create' "$T/out" || fail "$cli buildx bake: unclear error: $(cat "$T/out")"
}
check_cli /usr/bin/docker via-docker-20
newer=/usr/local/bin/docker
major=$("$newer" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1 || true)
if [ -x "$newer" ] && [ "${major:-0}" -ge 23 ]; then
  check_cli "$newer" via-docker-new
  # docker 23 and later build with the buildx plugin: plain `docker build`.
  "$newer" build -t via-docker-build --build-arg WHO=build "$T/ctx" > "$T/out" 2>&1 ||
    fail "docker build through the plugin: $(cat "$T/out")"
  expect_eq "$("$STRATA" run via-docker-build cat /greeting)" "hello build" "docker build made the image"
else
  skip_part "no docker CLI of 23 or later at $newer: plain \`docker build\` through the plugin not checked"
fi

# A docker-buildx that is not strata's stays unless --replace.
mkdir -p "$T/other"
printf '#!/bin/sh\necho real buildx\n' > "$T/other/docker-buildx"
chmod +x "$T/other/docker-buildx"
if "$STRATA" install-plugin --dir "$T/other" 2> "$T/err"; then fail "install-plugin replaced another docker-buildx"; fi
grep -q 'is not strata' "$T/err" || fail "unclear error: $(cat "$T/err")"
expect_eq "$("$T/other/docker-buildx")" "real buildx" "the other docker-buildx is kept"
"$STRATA" install-plugin --dir "$T/other" --replace > /dev/null || fail "install-plugin --replace"
expect_eq "$(readlink -f "$T/other/docker-buildx")" "$(readlink -f "$STRATA")" "--replace links strata"
echo "ok: docker CLI plugin"
