#!/usr/bin/env bash
# The same build under crun and runc; RUN sees its ENV, ARGs, WORKDIR and
# USER, --network none has only a loopback interface, and the exit code of
# `strata run` is the container's.
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
for rt in crun runc; do
  command -v "$rt" >/dev/null || continue
  "$STRATA" --runtime "$rt" build --progress quiet -t "t-$rt" "$T/ctx" >/dev/null
  expect_eq "$("$STRATA" --runtime "$rt" run "t-$rt" cat /result)" "hello world in /work/dir as 0" "$rt"
  expect_eq "$("$STRATA" run "t-$rt" cat /links-none | tr -d ' ')" "1" "$rt --network=none"
done
set +e
"$STRATA" run busybox sh -c 'exit 42'
rc=$?
set -e
expect_eq "$rc" "42" "exit code of strata run"
expect_eq "$(echo piped | "$STRATA" run busybox cat)" "piped" "stdin of strata run"
echo "ok"
