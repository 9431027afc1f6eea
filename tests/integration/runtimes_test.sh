#!/usr/bin/env bash
# The same build under crun and runc; RUN sees its ENV, ARGs, WORKDIR and
# USER; a step on the host network sees the host's links and one with
# --network none (the step's flag, the build's, strata run's) a loopback
# only; the exit code of `strata run` is the container's.
source "$(dirname "$0")/lib.sh"
make_busybox
mkdir -p "$T/ctx"
cat > "$T/ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
ARG WHO=world
ENV GREETING="hello"
WORKDIR /work/dir
RUN echo "$GREETING $WHO in $(pwd) as $(id -u)" > /result && ip -o link | wc -l > /links
RUN --network=none ip -o link | wc -l > /links-none
DOCKERFILE
# The host network (strata's default) shows the host's links; --network=none
# only a loopback. That tells the two apart only where the host has more.
host_links=$(ip -o link | wc -l)
[ "$host_links" -gt 1 ] || skip_part "host network vs --network=none: the host has only a loopback link"
for rt in crun runc; do
  if ! command -v "$rt" >/dev/null; then skip_part "the build under $rt: $rt is not installed"; continue; fi
  "$STRATA" --runtime "$rt" build --progress quiet -t "t-$rt" "$T/ctx" >/dev/null
  expect_eq "$("$STRATA" --runtime "$rt" run "t-$rt" cat /result)" "hello world in /work/dir as 0" "$rt"
  expect_eq "$("$STRATA" run "t-$rt" cat /links | tr -d ' ')" "$host_links" "$rt: a RUN step on the host network"
  expect_eq "$("$STRATA" run "t-$rt" cat /links-none | tr -d ' ')" "1" "$rt --network=none"
done
# --network none for the whole build (RUN --network=host overrides it) and
# for strata run.
cat > "$T/ctx/Dockerfile.none" <<'DOCKERFILE'
FROM busybox
RUN ip -o link | wc -l > /links
RUN --network=host ip -o link | wc -l > /links-host
DOCKERFILE
"$STRATA" build --progress quiet --network none -t none -f "$T/ctx/Dockerfile.none" "$T/ctx" >/dev/null
expect_eq "$("$STRATA" run none cat /links | tr -d ' ')" "1" "build --network none"
expect_eq "$("$STRATA" run none cat /links-host | tr -d ' ')" "$host_links" "RUN --network=host in a --network none build"
expect_eq "$("$STRATA" run --network none busybox sh -c 'ip -o link | wc -l' | tr -d ' ')" "1" "strata run --network none"
expect_eq "$("$STRATA" run busybox sh -c 'ip -o link | wc -l' | tr -d ' ')" "$host_links" "strata run: the host network"
set +e
"$STRATA" run busybox sh -c 'exit 42'
rc=$?
set -e
expect_eq "$rc" "42" "exit code of strata run"
expect_eq "$(echo piped | "$STRATA" run busybox cat)" "piped" "stdin of strata run"
echo "ok"
