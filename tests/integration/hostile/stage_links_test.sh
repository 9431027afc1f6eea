#!/usr/bin/env bash
# A stage whose symlinks point at absolute host paths or climb with "../":
# COPY --from and bind/cache mounts from it resolve inside the stage's root
# filesystem, as if chrooted there, for files and directories alike.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
make_busybox
C=$T/ctx
mkdir -p "$C"
for overlay in 0 1; do
  export STRATA_COPY_OVERLAY=$overlay
  cat > "$C/Dockerfile" <<DOCKERFILE
FROM busybox AS evil
RUN mkdir -p /out/sub "$CANARY" && echo stage-own > "$CANARY/secret" && echo deep > /out/sub/foo \\
 && ln -s "$CANARY" /abs && ln -s "$CANARY/secret" /abs-file && ln -s "../../../../..$CANARY" /out/rel \\
 && ln -s /out/sub /sub && ln -s ../../../../../.. /out/up
FROM busybox
COPY --from=evil /abs/secret /got-abs
COPY --from=evil /abs-file /got-abs-file
COPY --from=evil /out/rel/secret /got-rel
COPY --from=evil /out/up$CANARY/secret /got-up
COPY --from=evil /abs/ /got-dir/
COPY --from=evil /sub/foo /got-sub
RUN --mount=type=bind,from=evil,source=/abs,target=/m cat /m/secret > /got-bind
RUN --mount=type=cache,id=c$overlay,from=evil,source=/out/rel,target=/c cat /c/secret > /got-cache
RUN cat /got-abs /got-rel /got-up /got-dir/secret /got-sub /got-bind /got-cache > /all; \\
    if [ -L /got-abs-file ]; then echo link >> /all; else cat /got-abs-file >> /all; fi
DOCKERFILE
  "$STRATA" build --progress quiet --no-cache -t st "$C" >/dev/null
  expect_eq "$("$STRATA" run st cat /all)" "stage-own
stage-own
stage-own
stage-own
deep
stage-own
stage-own
stage-own" "what the stage's links lead to (overlay=$overlay)"
done
check_no_secret_in "$STRATA_ROOT"
check_canary
echo "ok"
