#!/usr/bin/env bash
# Identical layers stacked in one image are legal and common (no-op RUNs
# that leave only the runtime's mount points, the same COPY twice): the
# overlay of such a stack must mount, and the image must hold what it says.
source "$(dirname "$0")/lib.sh"
make_busybox
mkdir -p "$T/runs" "$T/copies"
cat > "$T/runs/Dockerfile" <<'DOCKERFILE'
FROM busybox
RUN echo x > /etc/x
RUN true
RUN true
RUN true
RUN cat /etc/x > /got
DOCKERFILE
"$STRATA" build --progress quiet -t runs "$T/runs" >/dev/null
layers=$("$STRATA" inspect runs | jq -r '.config.rootfs.diff_ids[]')
[ "$(echo "$layers" | wc -l)" -ne "$(echo "$layers" | sort -u | wc -l)" ] ||
  fail "the no-op RUNs did not give identical layers; the test no longer tests a repeated lower"
expect_eq "$("$STRATA" run runs cat /got)" "x"

echo a > "$T/copies/a"
cat > "$T/copies/Dockerfile" <<'DOCKERFILE'
FROM busybox
COPY a /a
COPY a /a
RUN cat /a > /b
DOCKERFILE
"$STRATA" build --progress quiet -t copies "$T/copies" >/dev/null
expect_eq "$("$STRATA" run copies cat /b)" "a"
# The same with the overlay path for COPY, and read-only (COPY --from) stacks.
STRATA_COPY_OVERLAY=1 "$STRATA" build --progress quiet --no-cache -t copies2 "$T/copies" >/dev/null
expect_eq "$("$STRATA" run copies2 cat /b)" "a"
printf 'FROM busybox\nCOPY --from=copies /a /from-copies\nRUN cat /from-copies\n' > "$T/copies/Dockerfile.from"
"$STRATA" build --progress quiet -f "$T/copies/Dockerfile.from" -t from "$T/copies" >/dev/null
expect_eq "$("$STRATA" run from cat /from-copies)" "a"
echo "ok"
