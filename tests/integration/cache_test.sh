#!/usr/bin/env bash
# The layer cache, end to end. A rebuild with nothing changed runs no
# container; each kind of change misses exactly where it should, and
# `strata explain` says why; a file .dockerignore excludes and an mtime-only
# change hit; two empty stores give the same keys and the same COPY layers.
source "$(dirname "$0")/lib.sh"
make_busybox
mkdir -p "$T/ctx/src"
echo one > "$T/ctx/src/a.txt"
echo two > "$T/ctx/src/b.txt"
echo ignored > "$T/ctx/src/notes.log"
echo 'src/*.log' > "$T/ctx/.dockerignore"
write_dockerfile() {
  cat > "$T/ctx/Dockerfile" <<DOCKERFILE
FROM busybox
ARG LEVEL=1
ENV MODE=${1:-fast}
COPY src/ /src/
RUN --mount=type=cache,id=runs,target=/runs echo run >> /runs/count && cat /src/*.txt > /all && echo \$LEVEL \$MODE > /conf
RUN echo done > /done
DOCKERFILE
}
write_dockerfile
runs() { "$STRATA" run busybox true >/dev/null; cat "$STRATA_ROOT"/cache/*/count 2>/dev/null | wc -l; }
build() { "$STRATA" build --progress plain -t app "$@" "$T/ctx" > "$T/out" 2> "$T/log" || fail "build: $(cat "$T/log")"; }
# The status of each of the three file-changing steps: c (cached) or r (ran).
statuses() { "$STRATA" explain --json | jq -r '[.[] | if .cached then "c" else "r" end] | join("")'; }
reason() { "$STRATA" explain --json | jq -r ".[$1].reason"; }

build
expect_eq "$(statuses)" "rrr" "first build"
expect_eq "$(reason 0)" "no earlier build of this step"
expect_eq "$(runs)" "1"

build
expect_eq "$(statuses)" "ccc" "nothing changed"
expect_eq "$(runs)" "1" "a full hit runs no container"
expect_eq "$("$STRATA" run app cat /all)" $'one\ntwo'

touch -d '2001-01-01' "$T/ctx/src/a.txt"
echo changed > "$T/ctx/src/notes.log"
build
expect_eq "$(statuses)" "ccc" "mtime-only change and an ignored file"

echo ONE > "$T/ctx/src/a.txt"
build
expect_eq "$(statuses)" "rrr" "content change"
expect_eq "$(reason 0)" "files changed: modified /src/a.txt"
expect_eq "$(reason 1)" "parent changed (an earlier step missed)"

chmod 0600 "$T/ctx/src/b.txt"
build
expect_eq "$(statuses)" "rrr" "mode change"
expect_eq "$(reason 0)" "files changed: mode or owner of /src/b.txt"

echo three > "$T/ctx/src/c.txt"
build
expect_eq "$(reason 0)" "files changed: added /src/c.txt"

build --build-arg LEVEL=2
expect_eq "$(statuses)" "crr" "ARG value"
expect_eq "$(reason 1)" 'ARG/ENV changed: LEVEL "1" → "2"'

write_dockerfile slow
build --build-arg LEVEL=2
expect_eq "$(statuses)" "crr" "ENV value"
expect_eq "$(reason 1)" 'ARG/ENV changed: MODE "fast" → "slow"'

sed -i 's/echo done/echo finished/' "$T/ctx/Dockerfile"
build --build-arg LEVEL=2
expect_eq "$(statuses)" "ccr" "instruction text"
case "$(reason 2)" in "instruction changed: "*) ;; *) fail "reason: $(reason 2)" ;; esac

build --build-arg LEVEL=2 --no-cache
expect_eq "$(statuses)" "rrr" "--no-cache"
expect_eq "$(reason 0)" "--no-cache"

# A new base image (another digest under the same name) misses from the start.
echo '# changed' >> "$T/busybox/Dockerfile"
printf 'FROM busybox\nRUN echo rebuilt > /base-marker\n' > "$T/base2"
"$STRATA" build --progress quiet -f "$T/base2" -t busybox "$T/busybox" >/dev/null
build --build-arg LEVEL=2
expect_eq "$(statuses)" "rrr" "base image digest"
case "$(reason 0)" in "base image changed: "*) ;; *) fail "reason: $(reason 0)" ;; esac

# Two empty stores: the same keys at every step, the same COPY layer.
mkdir -p "$T/ctx2"
cp -a "$T/ctx/." "$T/ctx2/"
# The base comes from one archive, as it would from a registry.
"$STRATA" save busybox -o "$T/busybox.tar"
for s in one two; do
  export STRATA_ROOT=$T/store-$s
  "$STRATA" load "$T/busybox.tar" >/dev/null
  "$STRATA" build --progress quiet -t app "$T/ctx2" >/dev/null
  "$STRATA" explain --json | jq -r '.[].key' > "$T/keys-$s"
  "$STRATA" inspect app | jq -r '.manifest.layers[2].digest' > "$T/copy-layer-$s"
done
cmp -s "$T/keys-one" "$T/keys-two" || fail "keys differ between stores: $(diff "$T/keys-one" "$T/keys-two")"
cmp -s "$T/copy-layer-one" "$T/copy-layer-two" || fail "the COPY layer differs between stores"
echo "ok"
