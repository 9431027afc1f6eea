#!/usr/bin/env bash
# Flags as docker buildx takes them: before and after the context, a
# repeatable flag taking one value each time it is given.
source "$(dirname "$0")/lib.sh"
make_busybox
mkdir -p "$T/ctx"
printf 'FROM busybox\nARG A\nARG B\nRUN echo "$A$B" > /ab\n' > "$T/ctx/Dockerfile"
"$STRATA" build --progress quiet -t one "$T/ctx" --no-cache -t two --build-arg A=1 --build-arg B=2 \
  --label l=v >/dev/null
expect_eq "$("$STRATA" run one cat /ab)" "12" "build args given after the context"
expect_eq "$("$STRATA" inspect two | jq -r '.config.config.Labels.l')" "v" "a label given after the context"
echo "cli flags: OK"
