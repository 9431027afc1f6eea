#!/usr/bin/env bash
# Flags as docker buildx takes them: before and after the context, a
# repeatable flag taking one value each time it is given; global flags
# (--root, --runtime) before and after every command, run included; -f -;
# --progress plain (never an escape code, even on a terminal), tty (refused
# until the live display exists), auto, rawjson (BuildKit's JSON lines); --normalize-permissions; tag;
# save --compression-level; SIGINT stops a build and its container; the
# buildx flags around a build (--iidfile, --metadata-file, -q, --builder,
# --cgroup-parent, attestations off).
source "$(dirname "$0")/lib.sh"
need skopeo jq
make_busybox
mkdir -p "$T/ctx"
printf 'FROM busybox\nARG A\nARG B\nRUN echo "$A$B" > /ab\n' > "$T/ctx/Dockerfile"
"$STRATA" build --progress quiet -t one "$T/ctx" --no-cache -t two --build-arg A=1 --build-arg B=2 \
  --label l=v >/dev/null
expect_eq "$("$STRATA" run one cat /ab)" "12" "build args given after the context"
expect_eq "$("$STRATA" inspect two | jq -r '.config.config.Labels.l')" "v" "a label given after the context"

# --- Global flags before and after the command, for build, images and run.
R2=$T/other-store
STRATA_ROOT=$R2 make_busybox
"$STRATA" --root "$R2" build --progress quiet -t in-r2 "$T/ctx" > /dev/null
"$STRATA" build --root "$R2" --progress quiet -t in-r2-after "$T/ctx" > /dev/null
grep -q '^in-r2:latest' <<< "$(STRATA_ROOT=$R2 "$STRATA" images)" || fail "--root before build"
grep -q '^in-r2-after:latest' <<< "$(STRATA_ROOT=$R2 "$STRATA" images)" || fail "--root after build"
if grep -q 'in-r2' <<< "$("$STRATA" images)"; then fail "--root was not used"; fi
expect_eq "$("$STRATA" --root "$R2" run in-r2 echo before)" "before" "--root before run"
expect_eq "$("$STRATA" run --root "$R2" in-r2 echo after)" "after" "--root after run"
expect_eq "$("$STRATA" --root "$R2" --runtime runc run in-r2 sh -c 'echo $0' x)" "x" "--runtime before run"
expect_eq "$("$STRATA" run --root "$R2" busybox sh -c 'echo "$@"' - --root x)" "--root x" \
  "flags after the image are the container's"
if "$STRATA" run --bogus busybox true 2> "$T/err"; then fail "run --bogus accepted"; fi
grep -q 'unknown flag --bogus' "$T/err" || fail "unclear error: $(cat "$T/err")"

# --- -f - reads the Dockerfile from standard input.
printf 'FROM busybox\nRUN echo stdin > /from\n' | "$STRATA" build --progress quiet -t stdin -f - "$T/ctx" > /dev/null
expect_eq "$("$STRATA" run stdin cat /from)" "stdin" "-f -"

# --- --progress: plain never writes an escape code, on a terminal or not;
# auto on a terminal is the live display (redrawn in place, the export a
# line of it); tty asked for off a terminal is that display too.
on_terminal() { script -qec "$*" /dev/null; }
on_terminal "$STRATA build --progress plain -o type=oci,dest=$T/p.tar $T/ctx" > "$T/plain.out" 2>&1
grep -q 'writing .*p.tar' "$T/plain.out" || fail "no export progress: $(cat "$T/plain.out")"
if grep -q $'\e' "$T/plain.out"; then fail "--progress plain wrote an escape code on a terminal"; fi
on_terminal "$STRATA build --progress auto -o type=oci,dest=$T/a.tar $T/ctx" > "$T/auto.out" 2>&1
grep -q $'\e\\[[0-9]*F' "$T/auto.out" || fail "--progress auto did not redraw in place on a terminal"
grep -q "=> writing .*a.tar" "$T/auto.out" || fail "the export is not in the display: $(cat "$T/auto.out")"
grep -q "FINISHED" "$T/auto.out" || fail "the display did not finish: $(cat "$T/auto.out")"
"$STRATA" build --progress tty "$T/ctx" > /dev/null 2> "$T/err" || fail "--progress tty: $(cat "$T/err")"
grep -q "\[+\] Building .* FINISHED" "$T/err" || fail "--progress tty off a terminal: $(cat "$T/err")"
# rawjson: stderr is BuildKit's SolveStatus, one JSON object a line (jq reads
# each); the RUN is a vertex whose input is the FROM, its output a base64
# log on it; a rebuild says cached; a failed step carries its error; an
# export is a vertex with a status of its bytes.
printf 'FROM busybox AS base\nRUN echo raw-$RANDOM-out\nFROM base\nRUN exit 3\n' > "$T/ctx/Dockerfile.raw"
"$STRATA" build --progress rawjson --target base -o type=oci,dest=$T/raw.tar -f "$T/ctx/Dockerfile.raw" "$T/ctx" \
  > /dev/null 2> "$T/raw.json" || fail "rawjson build: $(cat "$T/raw.json")"
jq -e . "$T/raw.json" > /dev/null || fail "rawjson: not JSON lines: $(cat "$T/raw.json")"
run_vertex() { jq -s -c '[.[].vertexes // [] | .[] | select(.name | startswith("[base 2/2] RUN"))] | last' "$1"; }
from_digest=$(jq -s -r '[.[].vertexes // [] | .[] | select(.name == "[base 1/2] FROM busybox")] | last | .digest' "$T/raw.json")
v=$(run_vertex "$T/raw.json")
expect_eq "$(jq -r '.inputs[0]' <<< "$v")" "$from_digest" "rawjson: the RUN's input is the FROM"
[ "$(jq -r '.completed != null and .started != null and .cached != true' <<< "$v")" = true ] || fail "rawjson: RUN vertex $v"
out=$(jq -s -r --arg d "$(jq -r .digest <<< "$v")" '[.[].logs // [] | .[] | select(.vertex == $d and .stream == 1) | .data | @base64d] | join("")' "$T/raw.json")
[[ "$out" == raw-*-out* ]] || fail "rawjson: the RUN's output log: [$out]"
jq -s -e '[.[].statuses // [] | .[] | select(.name | test("raw.tar")) | select(.completed)] | length == 1' "$T/raw.json" > /dev/null \
  || fail "rawjson: no completed status of the export: $(cat "$T/raw.json")"
"$STRATA" build --progress rawjson --target base -f "$T/ctx/Dockerfile.raw" "$T/ctx" > /dev/null 2> "$T/raw2.json"
expect_eq "$(run_vertex "$T/raw2.json" | jq -r .cached)" "true" "rawjson: the rebuilt RUN is cached"
if "$STRATA" build --progress rawjson -f "$T/ctx/Dockerfile.raw" "$T/ctx" > /dev/null 2> "$T/raw3.json"; then fail "exit 3 built"; fi
grep -v '^{' "$T/raw3.json" | grep -q 'exit' || fail "rawjson: no error said after the events: $(cat "$T/raw3.json")"
grep '^{' "$T/raw3.json" | jq -s -e '[.[].vertexes // [] | .[] | select(.name == "[stage-1 2/2] RUN exit 3") | .error | select(. != null)] | length == 1' > /dev/null \
  || fail "rawjson: the failed step carries no error: $(cat "$T/raw3.json")"

# --- --normalize-permissions: group/other write bits cleared in the layer
# and the key, so runners with umask 002 and 022 share a cache.
mkdir -p "$T/perm"
printf 'FROM busybox\nCOPY f /f\n' > "$T/perm/Dockerfile"
echo x > "$T/perm/f"
chmod 0666 "$T/perm/f"
"$STRATA" build --progress quiet --normalize-permissions -t norm "$T/perm" > /dev/null
expect_eq "$("$STRATA" run norm stat -c %a /f)" "644" "--normalize-permissions clears go-w"
"$STRATA" build --progress quiet -t plainperm "$T/perm" > /dev/null
expect_eq "$("$STRATA" run plainperm stat -c %a /f)" "666" "without it the mode is kept"
chmod 0644 "$T/perm/f"
"$STRATA" build --progress quiet --normalize-permissions "$T/perm" > /dev/null
expect_all_cached "--normalize-permissions: a 0644 file hits the 0666 file's record"

# --- tag: another name for the same image; names that are not valid refused.
"$STRATA" tag one "localhost:5000/team/one:v2"
expect_eq "$("$STRATA" inspect localhost:5000/team/one:v2 | jq -r .digest)" "$("$STRATA" inspect one | jq -r .digest)" "tag"
if "$STRATA" tag one 'Bad Name' 2> "$T/err"; then fail "tag accepted an invalid name"; fi
if "$STRATA" tag nothing-here x 2> "$T/err"; then fail "tag of a missing image succeeded"; fi

# --- save --compression-level: the level reaches the compressor.
head -c 2000000 /dev/zero > "$T/perm/zeros"
printf 'FROM busybox\nCOPY zeros /zeros\n' > "$T/perm/Dockerfile"
"$STRATA" build --progress quiet -t zeros "$T/perm" > /dev/null
"$STRATA" save zeros -o "$T/z1.tar.zst" --compression-level 1 2> /dev/null
"$STRATA" save zeros -o "$T/z19.tar.zst" --compression-level 19 2> /dev/null
[ "$(stat -c %s "$T/z19.tar.zst")" -lt "$(stat -c %s "$T/z1.tar.zst")" ] ||
  fail "level 19 ($(stat -c %s "$T/z19.tar.zst") B) is not smaller than level 1 ($(stat -c %s "$T/z1.tar.zst") B)"
if "$STRATA" save zeros -o "$T/bad.tar.zst" --compression-level 99 2> "$T/err"; then fail "level 99 accepted"; fi

# --- SIGINT (Ctrl-C) stops the build and its container, as SIGTERM does.
start_signals "$T/ctx"
printf 'FROM busybox\nARG SIG\nRUN --mount=type=bind,source=signals.sh,target=/signals.sh . /signals.sh && announce int-running && sleep 61\n' \
  > "$T/ctx/Dockerfile.int"
"$STRATA" build --progress quiet --build-arg SIG="$SIGNALS" -f "$T/ctx/Dockerfile.int" "$T/ctx" > /dev/null 2>&1 &
pid=$!
wait_signal int-running
kill -INT "$pid"
if wait "$pid"; then fail "an interrupted build succeeded"; fi
if pgrep -f "sleep 61" > /dev/null; then fail "the container outlived SIGINT"; fi
[ -z "$(ls "$STRATA_ROOT/tmp")" ] || fail "temporary files left after SIGINT: $(ls "$STRATA_ROOT/tmp")"
# --- Flags docker buildx takes around the build: --iidfile and
# --metadata-file name what was built (the config digest is the image id a
# docker daemon shows); -q and --progress none are quiet; --builder and
# --cgroup-parent are accepted and said to mean nothing here; attestations
# may be turned off, a request for one is refused.
printf 'FROM busybox\nRUN echo meta > /meta\n' > "$T/ctx/Dockerfile.meta"
digest=$("$STRATA" build -q --builder airflow_cache --cgroup-parent ci.slice --provenance=false \
  --sbom=false --attest type=provenance,disabled=true --iidfile "$T/iid" \
  --metadata-file "$T/meta.json" -t meta-app -f "$T/ctx/Dockerfile.meta" "$T/ctx" 2> "$T/err")
grep -q 'note: --builder airflow_cache: strata builds in its own store' "$T/err" || fail "--builder not noted: $(cat "$T/err")"
grep -q 'note: --cgroup-parent ci.slice: ignored' "$T/err" || fail "--cgroup-parent not noted: $(cat "$T/err")"
if grep -q 'DONE\|cache miss' "$T/err"; then fail "-q printed build output: $(cat "$T/err")"; fi
config=$("$STRATA" inspect meta-app | jq -r '.manifest.config.digest')
expect_eq "$(cat "$T/iid")" "$config" "--iidfile holds the config digest"
expect_eq "$(jq -r '."containerimage.digest"' "$T/meta.json")" "$digest" "metadata: the manifest digest"
expect_eq "$(jq -r '."containerimage.config.digest"' "$T/meta.json")" "$config" "metadata: the config digest"
expect_eq "$(jq -r '."containerimage.descriptor".digest' "$T/meta.json")" "$digest" "metadata: the descriptor"
expect_eq "$(jq -r '."image.name"' "$T/meta.json")" "docker.io/library/meta-app:latest" "metadata: the name"
jq -e '."buildx.build.ref" | length > 0' "$T/meta.json" > /dev/null || fail "metadata: no buildx.build.ref"
out=$("$STRATA" build --progress none -f "$T/ctx/Dockerfile.meta" "$T/ctx" 2>&1)
expect_eq "$out" "$digest" "--progress none prints the digest only"
if "$STRATA" build --provenance=mode=max -f "$T/ctx/Dockerfile.meta" "$T/ctx" 2> "$T/err"; then fail "--provenance=mode=max accepted"; fi
grep -q 'strata does not write attestations' "$T/err" || fail "unclear error: $(cat "$T/err")"

# --annotation on the manifest (kept by save and read by skopeo); --add-host
# in the RUN containers' /etc/hosts, and part of the step's key.
printf 'FROM busybox\nRUN grep db /etc/hosts > /hosts\n' > "$T/ctx/Dockerfile.hosts"
"$STRATA" build --progress plain -t annotated --annotation org.opencontainers.image.title=ci-app \
  --annotation manifest:com.example.team=infra --add-host db:127.0.0.7 \
  -f "$T/ctx/Dockerfile.hosts" "$T/ctx" > "$T/out" 2>&1 || fail "--annotation/--add-host: $(cat "$T/out")"
expect_eq "$("$STRATA" inspect annotated | jq -r '.manifest.annotations."org.opencontainers.image.title"')" "ci-app" "--annotation"
expect_eq "$("$STRATA" run annotated cat /hosts | tr -s ' \t' ' ')" "127.0.0.7 db" "--add-host in /etc/hosts"
"$STRATA" save -o "$T/annotated.tar" annotated > /dev/null 2>&1 || fail "save"
expect_eq "$(skopeo inspect --raw "oci-archive:$T/annotated.tar" | jq -r '.annotations."com.example.team"')" "infra" "the annotation in the saved archive (skopeo)"
"$STRATA" build --progress plain --add-host db:127.0.0.8 -f "$T/ctx/Dockerfile.hosts" "$T/ctx" > "$T/out" 2>&1 || fail "another --add-host"
grep -q 'cache miss' "$T/out" || fail "another --add-host hit the cache: $(cat "$T/out")"
if "$STRATA" build --annotation index:k=v -f "$T/ctx/Dockerfile.hosts" "$T/ctx" 2> "$T/err"; then fail "--annotation index: accepted"; fi
grep -q 'multi-platform' "$T/err" || fail "unclear --annotation error: $(cat "$T/err")"

# type=oci,tar=false: an OCI layout directory, as skopeo reads it.
"$STRATA" build --progress quiet -t layout-app -o "type=oci,dest=$T/layout,tar=false" \
  --add-host db:127.0.0.7 -f "$T/ctx/Dockerfile.hosts" "$T/ctx" > /dev/null 2>&1 || fail "type=oci,tar=false"
[ -f "$T/layout/index.json" ] && [ -f "$T/layout/oci-layout" ] || fail "no OCI layout in $T/layout"
expect_eq "$(skopeo inspect "oci:$T/layout:latest" | jq -r .Digest)" \
  "$("$STRATA" inspect layout-app | jq -r .digest)" "skopeo reads the layout directory"
if "$STRATA" build --progress quiet -o "type=oci,dest=$T/layout,tar=false" --add-host db:127.0.0.7 -f "$T/ctx/Dockerfile.hosts" \
  "$T/ctx" 2> "$T/err"; then fail "tar=false wrote into a directory that is not empty"; fi
grep -q 'not an empty directory' "$T/err" || fail "unclear tar=false error: $(cat "$T/err")"
echo "cli flags: OK"
