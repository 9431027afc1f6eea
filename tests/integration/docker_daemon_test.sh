#!/usr/bin/env bash
# Builds that end in a real docker daemon (Debian's dockerd 20.10, started
# here on its own socket): Airflow's breeze command line through the buildx
# plugin, unchanged but for the registry (a local one in place of ghcr.io),
# after its `docker buildx inspect airflow_cache || docker buildx create`;
# the builder commands (ls, use, rm, du, prune) and `imagetools inspect`;
# `docker run` of the result; its labels in `docker image inspect`;
# --iidfile and --metadata-file name the id the daemon reports; a cached
# rebuild whose last layer changed sends only that layer (bytes counted by
# a proxy in front of the daemon's socket, not by strata); an image the
# daemon has is only tagged; `strata load --into-docker` of a saved archive.
source "$(dirname "$0")/lib.sh"
need docker python3 jq skopeo
make_busybox
start_registry reg
REG=127.0.0.1:$PORT
"$STRATA" push busybox "$REG/library/busybox:latest" > /dev/null 2>&1 || fail "pushing the base"
start_dockerd
DAEMON_SOCKET=${DOCKER_HOST#unix://}
python3 "$(dirname "$0")/socket_counter.py" "$T/counted.sock" "$DAEMON_SOCKET" "$T/sent" &
PIDS+=($!)
for _ in $(seq 100); do [ -S "$T/counted.sock" ] && break; sleep 0.05; done
export DOCKER_HOST=unix://$T/counted.sock
sent() { cat "$T/sent" 2>/dev/null || echo 0; }

export DOCKER_CONFIG=$T/docker-config
"$STRATA" install-plugin > /dev/null || fail "install-plugin"

mkdir -p "$T/airflow"
cat > "$T/airflow/Dockerfile.ci" <<DOCKERFILE
FROM $REG/library/busybox AS main
ARG PYTHON_BASE_IMAGE
LABEL org.apache.airflow.distro=debian org.apache.airflow.module=airflow
RUN head -c 3000000 /dev/urandom > /deps && echo "\$PYTHON_BASE_IMAGE" > /base
COPY setup.cfg /opt/airflow/
ARG AIRFLOW_VERSION
RUN echo "airflow \$AIRFLOW_VERSION" > /version
DOCKERFILE
echo "[metadata]" > "$T/airflow/setup.cfg"
IMAGE=ghcr.io/apache/airflow/main/ci/python3.9

# breeze: the builder is made the first time inspect fails.
if /usr/bin/docker buildx inspect airflow_cache > "$T/out" 2>&1; then fail "inspect of a builder never created"; fi
grep -q 'no builder "airflow_cache" found' "$T/out" || fail "inspect's error: $(cat "$T/out")"
/usr/bin/docker buildx create --name airflow_cache --driver docker-container > "$T/out" 2> "$T/err" ||
  fail "buildx create: $(cat "$T/err")"
expect_eq "$(cat "$T/out")" "airflow_cache" "buildx create prints the name"
grep -q -- '--driver docker-container is ignored' "$T/err" || fail "the ignored --driver is not said: $(cat "$T/err")"
/usr/bin/docker buildx inspect airflow_cache > "$T/out" || fail "inspect after create"
grep -q "^Endpoint:  $STRATA_ROOT\$" "$T/out" || fail "the store is not the endpoint: $(cat "$T/out")"
if /usr/bin/docker buildx create --name airflow_cache > "$T/out" 2>&1; then fail "a second create of the same name"; fi
/usr/bin/docker buildx create --name other --use > /dev/null 2>&1 || fail "create --use"
/usr/bin/docker buildx ls > "$T/out" || fail "buildx ls"
grep -q '^other \*' "$T/out" || fail "ls does not mark the current builder: $(cat "$T/out")"
grep -q '^airflow_cache ' "$T/out" || fail "ls: $(cat "$T/out")"
expect_eq "$(/usr/bin/docker buildx inspect | head -1)" "Name:          other" "inspect of the current builder"
/usr/bin/docker buildx use default || fail "use default"
/usr/bin/docker buildx rm other 2> /dev/null || fail "buildx rm"
/usr/bin/docker buildx ls > "$T/out"
if grep -q '^other' "$T/out"; then fail "rm left the builder: $(cat "$T/out")"; fi
/usr/bin/docker buildx stop airflow_cache || fail "buildx stop"

breeze_build() {  # VERSION: breeze's command line, as it runs it
  (cd "$T/airflow" && /usr/bin/docker buildx build --builder airflow_cache --load --progress=auto --pull \
    --build-arg PYTHON_BASE_IMAGE=python:3.9-slim-bookworm --build-arg AIRFLOW_VERSION="$1" \
    --build-arg AIRFLOW_BRANCH=main --build-arg AIRFLOW_EXTRAS=devel-ci \
    --build-arg INSTALL_MYSQL_CLIENT=true --build-arg BUILDKIT_INLINE_CACHE=1 \
    --cache-from="$REG/apache/airflow/main/ci/python3.9:cache-linux-amd64" \
    -t "$IMAGE" --target main . -f Dockerfile.ci --platform linux/amd64 \
    --iidfile "$T/iid" --metadata-file "$T/metadata.json")
}
breeze_build 2.10.0 > "$T/out" 2>&1 || fail "breeze's build: $(cat "$T/out")"
first=$(sent)
expect_eq "$(/usr/bin/docker run --rm --network none "$IMAGE" cat /version)" "airflow 2.10.0" "docker run"
expect_eq "$(/usr/bin/docker image inspect "$IMAGE" --format '{{index .Config.Labels "org.apache.airflow.module"}}')" \
  "airflow" "the label in docker image inspect"
id=$(/usr/bin/docker image inspect "$IMAGE" --format '{{.Id}}')
expect_eq "$(cat "$T/iid")" "$id" "--iidfile names the daemon's image id"
expect_eq "$(jq -r '."containerimage.config.digest"' "$T/metadata.json")" "$id" "--metadata-file"
[ "$first" -gt 3000000 ] || fail "the first load sent $first bytes: less than the image"

# One layer changed: only it goes to the daemon.
breeze_build 2.10.1 > "$T/out" 2>&1 || fail "breeze's rebuild: $(cat "$T/out")"
second=$(( $(sent) - first ))
expect_eq "$(/usr/bin/docker run --rm --network none "$IMAGE" cat /version)" "airflow 2.10.1" "docker run after the rebuild"
grep -q "1 of 4 layers sent (3 already there)" "$T/out" || fail "strata's report: $(grep -i daemon "$T/out")"
[ "$second" -lt 100000 ] || fail "the rebuild's load sent $second bytes (the first sent $first)"
echo "bytes sent to dockerd: first load $first, rebuild $second"

# The daemon has the image: a new name costs no upload.
before=$(sent)
"$STRATA" load --into-docker "$IMAGE" > "$T/out" 2>&1 || fail "load --into-docker: $(cat "$T/out")"
grep -q "already: tagged, nothing sent" "$T/out" || fail "load --into-docker sent the image again: $(cat "$T/out")"
"$STRATA" build --progress plain --load -t third:name -f "$T/airflow/Dockerfile.ci" "$T/airflow" \
  --build-arg AIRFLOW_VERSION=2.10.1 --build-arg PYTHON_BASE_IMAGE=python:3.9-slim-bookworm \
  --build-arg BUILDKIT_INLINE_CACHE=1 > "$T/out" 2>&1 ||
  fail "strata build --load: $(cat "$T/out")"
grep -q "already: tagged, nothing sent" "$T/out" || fail "an image the daemon has was sent again: $(cat "$T/out")"
(( $(sent) - before < 20000 )) || fail "tagging sent $(( $(sent) - before )) bytes"
expect_eq "$(/usr/bin/docker run --rm --network none third:name cat /version)" "airflow 2.10.1" "the tagged image"

# A saved archive, restored by a test job: strata load --into-docker FILE.
"$STRATA" save -o "$T/ci-image.tar" third:name > /dev/null 2>&1 || fail "save"
/usr/bin/docker rmi third:name > /dev/null
/usr/bin/docker image prune -af > /dev/null
STRATA_ROOT=$T/other-store "$STRATA" load --into-docker "$T/ci-image.tar" > "$T/out" 2>&1 ||
  fail "load --into-docker FILE: $(cat "$T/out")"
expect_eq "$(/usr/bin/docker run --rm --network none third:name cat /version)" "airflow 2.10.1" "the restored archive"

# The rest of buildx's commands scripts use.
/usr/bin/docker buildx du > "$T/out" || fail "buildx du"
grep -q '^layers ' "$T/out" || fail "buildx du: $(cat "$T/out")"
/usr/bin/docker buildx prune -af --filter until=240h > "$T/out" || fail "buildx prune: $(cat "$T/out")"
grep -q '^removed ' "$T/out" || fail "buildx prune: $(cat "$T/out")"
/usr/bin/docker buildx imagetools inspect "$REG/library/busybox:latest" > "$T/out" || fail "imagetools inspect"
grep -q "^Digest:    sha256:" "$T/out" || fail "imagetools inspect: $(cat "$T/out")"
expect_eq "$(/usr/bin/docker buildx imagetools inspect --raw "$REG/library/busybox:latest" | jq -r .schemaVersion)" 2 "imagetools inspect --raw"
# buildx's --output type=image,name=REF,push=true: pushed, not loaded.
(cd "$T/airflow" && /usr/bin/docker buildx build --output "type=image,name=$REG/pushed/ci:1,push=true" \
  --build-arg AIRFLOW_VERSION=9 -f Dockerfile.ci .) > "$T/out" 2>&1 || fail "type=image,push=true: $(cat "$T/out")"
expect_eq "$(skopeo inspect --tls-verify=false "docker://$REG/pushed/ci:1" | jq -r '.Labels."org.apache.airflow.module"')" \
  "airflow" "the pushed image, read by skopeo"
if /usr/bin/docker image inspect "$REG/pushed/ci:1" > /dev/null 2>&1; then fail "push=true also loaded the image"; fi

# A daemon that is not there: a clear error, the build itself kept.
if DOCKER_HOST=unix://$T/nothing.sock "$STRATA" build --progress plain --load -t gone -f "$T/airflow/Dockerfile.ci" \
  "$T/airflow" > "$T/out" 2>&1; then fail "--load without a daemon succeeded"; fi
grep -q "cannot connect to the docker daemon at unix://$T/nothing.sock" "$T/out" || fail "unclear error: $(tail -3 "$T/out")"
if DOCKER_HOST=tcp://127.0.0.1:2375 "$STRATA" load --into-docker gone > "$T/out" 2>&1; then fail "tcp DOCKER_HOST accepted"; fi
grep -q "unix socket only" "$T/out" || fail "unclear error for tcp://: $(cat "$T/out")"
echo "ok: docker daemon"
