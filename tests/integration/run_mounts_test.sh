#!/usr/bin/env bash
# RUN --mount: cache mounts that persist across builds and stay out of
# layers, their sharing modes across two strata processes, seeding with
# from=, secrets (file and env) that reach the step and nowhere else, ssh,
# tmpfs, bind, and cache mounts exported, wiped and imported again.
. "$(dirname "$0")/lib.sh" "$1"
make_busybox
C=$T/ctx
mkdir -p "$C"

# --- A cache mount keeps what the previous build left; its layer has none of it.
cat > "$C/Dockerfile.cache" <<'DOCKERFILE'
FROM busybox
ARG N=1
RUN --mount=type=cache,target=/cache,id=pkgs echo "run $N" >> /cache/log && cp /cache/log /seen && mkdir -p /cache/sub && echo x > /cache/sub/file
DOCKERFILE
"$STRATA" build --progress quiet -t c1 --build-arg N=1 -f "$C/Dockerfile.cache" "$C" >/dev/null
"$STRATA" build --progress quiet -t c2 --build-arg N=2 -f "$C/Dockerfile.cache" "$C" >/dev/null
expect_eq "$("$STRATA" run c2 cat /seen)" "run 1
run 2" "the second build sees what the first wrote"
"$STRATA" save c2 -o "$T/c2.tar" >/dev/null
mkdir -p "$T/c2" && tar -xf "$T/c2.tar" -C "$T/c2"
for layer in $(python3 -c "import json;print(' '.join(json.load(open('$T/c2/manifest.json'))[0]['Layers']))"); do
  if grep -q '^cache' <<<"$(tar -tzf "$T/c2/$layer")"; then fail "a layer contains the cache mount's target"; fi
done
grep -q '^pkgs ' <<<"$("$STRATA" cache du)" || fail "cache du does not list the mount id pkgs"

# --- from= seeds a new cache mount from a stage.
cat > "$C/Dockerfile.seed" <<'DOCKERFILE'
FROM busybox AS seed
RUN mkdir -p /data && echo seeded > /data/hello
FROM busybox
RUN --mount=type=cache,target=/c,id=seeded,from=seed,source=/data cat /c/hello > /got
DOCKERFILE
"$STRATA" build --progress quiet -t seeded -f "$C/Dockerfile.seed" "$C" >/dev/null
expect_eq "$("$STRATA" run seeded cat /got)" "seeded" "cache mount seeded from a stage"

# --- sharing=locked: a second process waits until the first is done. Each
# step holds the mount until the test lets it go; b asks for the mount only
# after a holds it, and says that it waits.
start_signals "$C"
cat > "$C/Dockerfile.locked" <<'DOCKERFILE'
FROM busybox
ARG WHO
ARG SIG
RUN --mount=type=cache,target=/c,id=lock,sharing=locked --mount=type=bind,source=signals.sh,target=/signals.sh \
    . /signals.sh && echo "$WHO start" >> /c/order && announce holds-$WHO && await go-$WHO && echo "$WHO end" >> /c/order
DOCKERFILE
"$STRATA" build --progress quiet --build-arg WHO=a --build-arg SIG="$SIGNALS" -f "$C/Dockerfile.locked" "$C" > "$T/a.out" 2>&1 &
pid_a=$!
wait_signal holds-a
raise_signal go-b
"$STRATA" build --progress plain --build-arg WHO=b --build-arg SIG="$SIGNALS" -f "$C/Dockerfile.locked" "$C" > "$T/b.out" 2>&1 &
pid_b=$!
wait_for_line "$T/b.out" "waiting for cache mount lock: a sharing=locked step holds it"
if grep -q '"GET /holds-b' "$T/signals.log"; then fail "b ran while a held the locked mount"; fi
raise_signal go-a
wait $pid_a || fail "build a: $(cat "$T/a.out")"
wait $pid_b || fail "build b: $(cat "$T/b.out")"
cat > "$C/Dockerfile.read" <<'DOCKERFILE'
FROM busybox
ARG ID
ARG NONCE
RUN --mount=type=cache,target=/c,id=${ID} cat /c/order > /order 2>/dev/null || true
DOCKERFILE
"$STRATA" build --progress quiet -t order --build-arg ID=lock --build-arg NONCE=$RANDOM -f "$C/Dockerfile.read" "$C" >/dev/null
expect_eq "$("$STRATA" run order cat /order)" "a start
a end
b start
b end" "sharing=locked serialises two processes"

# --- sharing=private: while one holds the mount, another gets its own.
cat > "$C/Dockerfile.private" <<'DOCKERFILE'
FROM busybox
ARG WHO
ARG SIG
RUN --mount=type=cache,target=/c,id=priv,sharing=private --mount=type=bind,source=signals.sh,target=/signals.sh \
    . /signals.sh && echo "$WHO" >> /c/who && announce holds-private-$WHO && await go-private-$WHO && cat /c/who > /who
DOCKERFILE
"$STRATA" build --progress quiet -t pa --build-arg WHO=a --build-arg SIG="$SIGNALS" -f "$C/Dockerfile.private" "$C" > "$T/pa.out" 2>&1 &
pid_a=$!
wait_signal holds-private-a
raise_signal go-private-b
"$STRATA" build --progress quiet -t pb --build-arg WHO=b --build-arg SIG="$SIGNALS" -f "$C/Dockerfile.private" "$C" >/dev/null
raise_signal go-private-a
wait $pid_a || fail "build pa: $(cat "$T/pa.out")"
expect_eq "$("$STRATA" run pa cat /who)" "a" "the first private user's mount"
expect_eq "$("$STRATA" run pb cat /who)" "b" "the second private user got its own mount"

# --- Secrets, by file and by environment: readable in the step, nowhere else.
SECRET_FILE_VALUE="file-secret-$RANDOM$RANDOM-x7"
SECRET_ENV_VALUE="env-secret-$RANDOM$RANDOM-y8"
printf '%s' "$SECRET_FILE_VALUE" > "$T/token"
export MY_TOKEN=$SECRET_ENV_VALUE
cat > "$C/Dockerfile.secret" <<'DOCKERFILE'
FROM busybox
RUN --mount=type=secret,id=tok --mount=type=secret,id=api,env=API_KEY \
    test "$(cat /run/secrets/tok | wc -c)" -gt 10 && test -n "$API_KEY" && \
    stat -c '%a %u' /run/secrets/tok > /perm && \
    cat /run/secrets/tok | sha256sum | cut -c1-64 > /tok.sha && echo "$API_KEY" | sha256sum | cut -c1-64 > /api.sha && \
    echo "printing $API_KEY"
DOCKERFILE
out=$("$STRATA" build --progress plain -t sec --secret id=tok,src="$T/token" --secret id=api,env=MY_TOKEN \
  -o type=oci,dest="$T/sec.tar" -f "$C/Dockerfile.secret" "$C" 2>&1)
grep -q 'printing \*\*\*\*' <<<"$out" || fail "the secret printed by the step was not masked: $out"
expect_eq "$("$STRATA" run sec cat /perm)" "400 0" "secret file mode and owner"
expect_eq "$("$STRATA" run sec cat /tok.sha)" "$(printf '%s' "$SECRET_FILE_VALUE" | sha256sum | cut -c1-64)" "secret file content"
expect_eq "$("$STRATA" run sec cat /api.sha)" "$(echo "$SECRET_ENV_VALUE" | sha256sum | cut -c1-64)" "secret env content"
"$STRATA" explain --json > "$T/explain.json"
for v in "$SECRET_FILE_VALUE" "$SECRET_ENV_VALUE"; do
  if grep -qF "$v" <<<"$out"; then fail "a secret is in the build output"; fi
  if grep -rqaF "$v" "$STRATA_ROOT" "$T/sec.tar" "$T/explain.json"; then
    fail "a secret's bytes are in the store or the outputs: $(grep -rlaF "$v" "$STRATA_ROOT" "$T/sec.tar" | head -3)"
  fi
done
# A required secret that was not given is a clear error; an optional one is absent.
printf 'FROM busybox\nRUN --mount=type=secret,id=missing,required=true true\n' > "$C/Dockerfile.req"
if "$STRATA" build --progress quiet -f "$C/Dockerfile.req" "$C" 2> "$T/err"; then fail "a missing required secret was accepted"; fi
grep -q 'secret missing: not found (it is required)' "$T/err" || fail "unclear error: $(cat "$T/err")"
printf 'FROM busybox\nRUN --mount=type=secret,id=missing test ! -e /run/secrets/missing\n' > "$C/Dockerfile.opt"
"$STRATA" build --progress quiet -f "$C/Dockerfile.opt" "$C" >/dev/null

# --- ssh: a clear error without --ssh; with it the agent socket is there.
printf 'FROM busybox\nRUN --mount=type=ssh test -S "$SSH_AUTH_SOCK"\n' > "$C/Dockerfile.ssh"
if env -u SSH_AUTH_SOCK "$STRATA" build --progress quiet -f "$C/Dockerfile.ssh" "$C" 2> "$T/err"; then fail "ssh without --ssh was accepted"; fi
grep -q 'needs an SSH agent' "$T/err" || fail "unclear error: $(cat "$T/err")"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); import time; time.sleep(60)" "$T/agent.sock" &
agent=$!
for _ in $(seq 50); do [ -S "$T/agent.sock" ] && break; sleep 0.1; done
SSH_AUTH_SOCK=$T/agent.sock "$STRATA" build --progress quiet --ssh default -f "$C/Dockerfile.ssh" "$C" >/dev/null
kill $agent

# --- tmpfs and bind (rw writes are thrown away).
echo ctx-file > "$C/in.txt"
cat > "$C/Dockerfile.tb" <<'DOCKERFILE'
FROM busybox
RUN --mount=type=tmpfs,target=/scratch --mount=type=bind,source=in.txt,target=/in.txt,rw \
    echo tmp > /scratch/t && cat /in.txt > /copied && echo changed > /in.txt
DOCKERFILE
"$STRATA" build --progress quiet -t tb -f "$C/Dockerfile.tb" "$C" >/dev/null
expect_eq "$("$STRATA" run tb cat /copied)" "ctx-file" "bind mount from the context"
expect_eq "$(cat "$C/in.txt")" "ctx-file" "a rw bind mount's writes are thrown away"
"$STRATA" run tb sh -c 'test ! -e /scratch/t' || fail "the tmpfs contents reached the image"

# --- Cache mounts travel: export, re-export (incremental), wipe, import.
dd if=/dev/urandom of="$T/big" bs=1M count=3 status=none
cat > "$C/Dockerfile.travel" <<'DOCKERFILE'
FROM busybox
ARG STEP
RUN --mount=type=cache,target=/c,id=travel cp /big.in /c/big 2>/dev/null; echo "$STEP" > /c/step-$STEP; ls /c | sort > /list
DOCKERFILE
cp "$T/big" "$C/big"
printf 'FROM busybox\nCOPY big /big.in\n' > "$C/Dockerfile.big"
"$STRATA" build --progress quiet -t bigbase -f "$C/Dockerfile.big" "$C" >/dev/null
sed -i 's/^FROM busybox$/FROM bigbase/' "$C/Dockerfile.travel"
"$STRATA" build --progress quiet --build-arg STEP=1 -f "$C/Dockerfile.travel" "$C" >/dev/null
out=$("$STRATA" cache export-mounts --id travel --dest "$T/mounts")
grep -q '2 new blobs, 3.0 MiB written' <<<"$out" || fail "first export: $out"
"$STRATA" build --progress quiet --build-arg STEP=2 -f "$C/Dockerfile.travel" "$C" >/dev/null
out=$("$STRATA" cache export-mounts --id travel --dest "$T/mounts")
grep -q '1 new blobs, 2 B written' <<<"$out" || fail "re-export after one new file should write only it: $out"
"$STRATA" cache export-mounts --dest "$T/mounts.tar.zst" >/dev/null
# A fresh store imports them: the mount is exactly what was exported.
for src in "$T/mounts" "$T/mounts.tar.zst"; do
  root=$T/fresh-$(basename "$src")
  STRATA_ROOT=$root make_busybox
  STRATA_ROOT=$root "$STRATA" cache import-mounts "$src" > "$T/imp"
  grep -qE '^imported [1-9][0-9]* cache mounts \([1-9][0-9]* files\)' "$T/imp" || fail "import: $(cat "$T/imp")"
  printf 'FROM busybox\nARG NONCE\nRUN --mount=type=cache,target=/c,id=travel ls /c | sort > /list && sha256sum /c/big | cut -c1-64 > /sum\n' > "$C/Dockerfile.check"
  STRATA_ROOT=$root "$STRATA" build --progress quiet -t check --build-arg NONCE=$RANDOM -f "$C/Dockerfile.check" "$C" >/dev/null
  expect_eq "$(STRATA_ROOT=$root "$STRATA" run check cat /list | tr '\n' ' ')" "big step-1 step-2 " "imported mount from $src"
  expect_eq "$(STRATA_ROOT=$root "$STRATA" run check cat /sum)" "$(sha256sum "$T/big" | cut -c1-64)" "imported content from $src"
done
# Importing again into a store that has it all reads nothing.
out=$(STRATA_ROOT=$T/fresh-mounts "$STRATA" cache import-mounts "$T/mounts")
grep -q ': 0 blobs, 0 B read' <<<"$out" || fail "a second import read blobs: $out"

# A tampered export cannot write outside the mount through a symlink it makes.
mkdir -p "$T/evil/blobs/sha256" "$T/outside"
printf 'pwned' > "$T/evil/payload"
python3 - "$T/evil" "$T/outside" <<'PY'
import hashlib, json, os, sys
root, outside = sys.argv[1], sys.argv[2]
data = b"pwned"
d = "sha256:" + hashlib.sha256(data).hexdigest()
open(os.path.join(root, "blobs/sha256", d[7:]), "wb").write(data)
m = {"mediaType": "application/vnd.strata.cache-mount.v1+json", "id": "evil", "entries": [
    {"path": "", "type": "d", "mode": 493, "uid": 0, "gid": 0, "mtime": 0},
    {"path": "link", "type": "l", "mode": 511, "uid": 0, "gid": 0, "mtime": 0, "link": outside},
    {"path": "link/file", "type": "f", "mode": 420, "uid": 0, "gid": 0, "mtime": 0, "size": 5, "digest": d}]}
text = json.dumps(m).encode()
md = "sha256:" + hashlib.sha256(text).hexdigest()
open(os.path.join(root, "blobs/sha256", md[7:]), "wb").write(text)
json.dump({"version": 1, "mounts": {"evil": md}}, open(os.path.join(root, "strata-mounts.json"), "w"))
PY
if "$STRATA" cache import-mounts "$T/evil" 2> "$T/err"; then fail "a manifest writing through a symlink was imported"; fi
grep -q 'parent is not a directory' "$T/err" || fail "unclear error: $(cat "$T/err")"
[ -z "$(ls -A "$T/outside")" ] || fail "the import wrote outside the mount"

# --- prune --mounts: a size cap per id drops the least recently used files.
out=$("$STRATA" cache prune --mounts --keep-storage 1MB)
grep -qE '^removed 0 cache mounts and [1-9][0-9]* files from others' <<<"$out" || fail "prune --mounts --keep-storage: $out"
size=$("$STRATA" cache du | awk '$1 == "travel" { print $2, $3 }')
case "$size" in *KiB|*" B") ;; *) fail "travel not trimmed under 1 MB: $size" ;; esac
# --- prune --mounts --keep-duration: ids unused for longer go, the others stay
# (the old one's last use is set back three days in the store's database).
mkdir -p "$T/agectx"
printf 'FROM busybox\nRUN --mount=type=cache,id=old-one,target=/c echo o > /c/o\nRUN --mount=type=cache,id=new-one,target=/c echo n > /c/n\n' \
  > "$T/agectx/Dockerfile"
"$STRATA" build --progress quiet "$T/agectx" > /dev/null
python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("UPDATE cache_mounts SET last_used = datetime(\"now\", \"-3 days\") WHERE id = \"old-one\"").rowcount
db.commit()
sys.exit(n != 1)' "$STRATA_ROOT/meta.db" || fail "no cache_mounts row for old-one"
out=$("$STRATA" cache prune --mounts --keep-duration 2d)
grep -qE '^removed 1 cache mounts' <<<"$out" || fail "prune --mounts --keep-duration: $out"
du_out=$("$STRATA" cache du)
if grep -q '^old-one' <<<"$du_out"; then fail "the mount unused for 3 days was kept: $du_out"; fi
grep -q '^new-one' <<<"$du_out" || fail "the mount used now was removed: $du_out"
"$STRATA" cache prune --mounts >/dev/null
if grep -q 'CACHE MOUNT' <<<"$("$STRATA" cache du)"; then fail "prune --mounts left mounts"; fi
# A secret's value that also reaches an ARG is masked in the explanation
# of a miss (a store of its own: the ARG's value is in its cache record).
export STRATA_ROOT=$T/masked
make_busybox
printf 'FROM busybox\nARG K\nRUN true\n' > "$C/Dockerfile.arg"
printf 'value-one-123' > "$T/k1"; printf 'value-two-456' > "$T/k2"
"$STRATA" build --progress quiet --build-arg K=value-one-123 -f "$C/Dockerfile.arg" "$C" >/dev/null
out=$("$STRATA" build --progress plain --build-arg K=value-two-456 --secret id=k,src="$T/k2" -f "$C/Dockerfile.arg" "$C" 2>&1)
grep -q 'K "value-one-123" → "\*\*\*\*"' <<<"$out" || fail "the secret's value was not masked: $(echo "$out" | grep 'cache miss')"
if grep -q value-two-456 <<<"$("$STRATA" explain)"; then fail "explain shows the secret's value"; fi
# --no-cache gives a RUN a fresh cache mount, as BuildKit does; the kept
# contents stay for the next build.
printf 'FROM busybox\nRUN --mount=type=cache,target=/c sh -c "ls /c > /seen; date +%%s%%N > /c/stamp"\n' > "$C/Dockerfile.fresh"
"$STRATA" build --progress quiet -t fresh -f "$C/Dockerfile.fresh" "$C" >/dev/null
"$STRATA" build --progress quiet -t fresh --no-cache -f "$C/Dockerfile.fresh" "$C" >/dev/null
expect_eq "$("$STRATA" run fresh cat /seen)" "" "the cache mount under --no-cache"
printf 'FROM busybox\nRUN --mount=type=cache,target=/c ls /c > /seen\n' > "$C/Dockerfile.kept"
"$STRATA" build --progress quiet -t kept -f "$C/Dockerfile.kept" "$C" >/dev/null
expect_eq "$("$STRATA" run kept cat /seen)" "stamp" "the kept cache mount after a --no-cache build"
echo "run mounts: OK"
