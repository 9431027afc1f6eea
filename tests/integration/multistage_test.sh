#!/usr/bin/env bash
# A multi-stage build (COPY --from, heredocs, USER, WORKDIR, ENV, ARG) whose
# OCI archive skopeo reads, umoci unpacks and runc runs with the same output
# as `strata run`, and whose docker archive podman loads.
source "$(dirname "$0")/lib.sh"
make_busybox
mkdir -p "$T/app/src"
echo "payload" > "$T/app/src/data.txt"
cat > "$T/app/Dockerfile" <<'DOCKERFILE'
ARG BASE=busybox
FROM ${BASE} AS build
ARG VERSION=1.0
ENV APP_HOME=/opt/app
WORKDIR $APP_HOME
COPY src/ ./src/
RUN <<EOF
set -e
mkdir -p out
cat src/data.txt > out/data.txt
echo "version ${VERSION}" >> out/data.txt
EOF
COPY <<EOF out/greeting.txt
built with ${VERSION}
EOF

FROM ${BASE}
RUN mkdir -p /etc && echo 'app:x:1234:1234::/srv:/bin/sh' >> /etc/passwd && echo 'app:x:1234:' >> /etc/group
COPY --from=build --chown=app /opt/app/out/ /srv/
COPY --from=build --chmod=u=rwx,go=rx /opt/app/out/greeting.txt /srv/tool
WORKDIR /srv
USER app
ENV GREETING=hello
CMD ["/bin/sh", "-c", "echo $GREETING from $(id -u) in $(pwd); cat /srv/data.txt /srv/greeting.txt"]
DOCKERFILE
"$STRATA" build --progress quiet --build-arg VERSION=2.5 -t app:1 \
  --output type=oci,dest="$T/app-oci.tar" --output type=docker,dest="$T/app-docker.tar" "$T/app" >/dev/null
expected=$'hello from 1234 in /srv\npayload\nversion 2.5\nbuilt with 2.5'
expect_eq "$("$STRATA" run app:1)" "$expected" "strata run"
expect_eq "$("$STRATA" run app:1 stat -c %U /srv/data.txt)" "app" "COPY --chown"
expect_eq "$("$STRATA" run app:1 stat -c %a /srv/tool)" "755" "COPY --chmod with a symbolic mode"

skopeo inspect "oci-archive:$T/app-oci.tar" > "$T/inspect.json"
grep -q '"Os": "linux"' "$T/inspect.json" || fail "skopeo inspect: $(cat "$T/inspect.json")"
skopeo copy -q "oci-archive:$T/app-oci.tar" "oci:$T/layout:app"
umoci unpack --image "$T/layout:app" "$T/bundle" >/dev/null 2>&1
sed -i 's/"terminal": *true/"terminal": false/' "$T/bundle/config.json"
got=$(cd "$T/bundle" && runc run "strata-it-$$")
expect_eq "$got" "$expected" "umoci + runc"

skopeo inspect "docker-archive:$T/app-docker.tar" >/dev/null || fail "skopeo rejected the docker archive"
if command -v podman >/dev/null; then
  podman load -i "$T/app-docker.tar" >/dev/null 2>&1 || fail "podman load rejected the docker archive"
  podman rmi -f localhost/app:1 >/dev/null 2>&1 || true
else
  skip_part "podman load of the docker archive: podman is not installed"
fi
echo "ok"
