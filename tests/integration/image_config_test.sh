#!/usr/bin/env bash
# The image config a real build writes, read by tools we did not write:
# ENTRYPOINT, CMD, LABEL, EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL,
# USER, WORKDIR and ENV from the config skopeo reads out of the OCI archive
# (raw: its parsed view drops the docker fields), and the
# runtime spec umoci derives from it; ONBUILD triggers of an image base run
# in the build that starts FROM it.
source "$(dirname "$0")/lib.sh"
make_busybox
need skopeo umoci jq
mkdir -p "$T/ctx"
cat > "$T/ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
LABEL org.example.team="ci" "with space"="a b"
EXPOSE 8080/tcp 53/udp
VOLUME ["/data", "/cache"]
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=7s --timeout=3s --start-period=2s --retries=4 CMD ["/bin/true"]
SHELL ["/bin/sh", "-ec"]
ENV MODE=test
WORKDIR /srv
USER 1000:1000
ENTRYPOINT ["/bin/echo", "entry"]
CMD ["default-arg"]
ONBUILD RUN echo "triggered in $(pwd)" > /tmp/onbuild
DOCKERFILE
"$STRATA" build --progress quiet -t cfg -o type=oci,dest="$T/cfg.tar" "$T/ctx" > /dev/null
skopeo inspect --raw --config "oci-archive:$T/cfg.tar" > "$T/config.json"
c() { jq -c "$1" "$T/config.json"; }
expect_eq "$(c .config.Entrypoint)" '["/bin/echo","entry"]' "ENTRYPOINT"
expect_eq "$(c .config.Cmd)" '["default-arg"]' "CMD"
expect_eq "$(c '.config.Labels["org.example.team"]')" '"ci"' "LABEL"
expect_eq "$(c '.config.Labels["with space"]')" '"a b"' "LABEL with a quoted key"
expect_eq "$(c '.config.ExposedPorts | keys')" '["53/udp","8080/tcp"]' "EXPOSE"
expect_eq "$(c '.config.Volumes | keys')" '["/cache","/data"]' "VOLUME"
expect_eq "$(c .config.StopSignal)" '"SIGQUIT"' "STOPSIGNAL"
expect_eq "$(c .config.Healthcheck.Test)" '["CMD","/bin/true"]' "HEALTHCHECK test"
expect_eq "$(c '[.config.Healthcheck.Interval, .config.Healthcheck.Timeout, .config.Healthcheck.StartPeriod, .config.Healthcheck.Retries]')" \
  '[7000000000,3000000000,2000000000,4]' "HEALTHCHECK durations in nanoseconds"
expect_eq "$(c .config.Shell)" '["/bin/sh","-ec"]' "SHELL"
expect_eq "$(c .config.User)" '"1000:1000"' "USER"
expect_eq "$(c .config.WorkingDir)" '"/srv"' "WORKDIR"
grep -q '"MODE=test"' <<< "$(c .config.Env)" || fail "ENV: $(c .config.Env)"
expect_eq "$(c .config.OnBuild)" '["RUN echo \"triggered in $(pwd)\" > /tmp/onbuild"]' "ONBUILD"

# umoci turns the config into a runtime spec: the process, its user and
# directory, the stop signal as an annotation.
skopeo copy -q "oci-archive:$T/cfg.tar" "oci:$T/layout:cfg"
umoci unpack --image "$T/layout:cfg" "$T/bundle" > /dev/null 2>&1
s() { jq -c "$1" "$T/bundle/config.json"; }
expect_eq "$(s .process.args)" '["/bin/echo","entry","default-arg"]' "umoci: entrypoint + cmd"
expect_eq "$(s .process.cwd)" '"/srv"' "umoci: cwd"
expect_eq "$(s '[.process.user.uid, .process.user.gid]')" '[1000,1000]' "umoci: user"
expect_eq "$(s '.annotations["org.opencontainers.image.stopSignal"]')" '"SIGQUIT"' "umoci: stop signal"

# ONBUILD from an image base: the trigger runs in the child's build, in the
# base's WORKDIR, and is not inherited further.
printf 'FROM cfg\nUSER 0\nENTRYPOINT []\nRUN cat /tmp/onbuild > /seen\n' > "$T/ctx/Dockerfile.child"
"$STRATA" build --progress quiet -t child -f "$T/ctx/Dockerfile.child" "$T/ctx" > /dev/null
expect_eq "$("$STRATA" run child cat /seen)" "triggered in /srv" "ONBUILD ran"
expect_eq "$("$STRATA" inspect child | jq -c '.config.config.OnBuild // []')" '[]' "ONBUILD not inherited"
echo "image config: OK"
