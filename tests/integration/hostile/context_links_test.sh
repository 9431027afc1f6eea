#!/usr/bin/env bash
# A build context whose symlinks point out of it (absolute, "../", to the
# host's /etc and to a canary directory): COPY, ADD and bind mounts resolve
# them inside the context, as BuildKit does, so no host file reaches an
# image; links that stay inside the context keep working.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
make_busybox
C=$T/ctx
mkdir -p "$C/sub"
echo inside > "$C/sub/f"
ln -s /etc "$C/etc-link"
ln -s "$CANARY" "$C/can-link"
ln -s "$CANARY/secret" "$C/secret-link"
ln -s "../../../../../../../..$CANARY" "$C/rel-link"
ln -s sub "$C/inner"
ln -s /sub "$C/abs-inner"
ln -s ../../.. "$C/sub/up"

try() {  # try NAME DOCKERFILE-LINES...
  local name=$1
  shift
  printf 'FROM busybox\n' > "$C/Dockerfile.$name"
  printf '%s\n' "$@" >> "$C/Dockerfile.$name"
}
for overlay in 0 1; do
  export STRATA_COPY_OVERLAY=$overlay
  n=0
  for line in "COPY etc-link/shadow /y" "COPY can-link/secret /z" "ADD can-link/secret /w2" \
              "COPY rel-link/secret /r" "COPY sub/up$CANARY/secret /u" "COPY secret-link /s2" \
              "COPY can-link /dir/" "ADD rel-link/ /dir2/"; do
    n=$((n + 1))
    try "bad$n" "$line"
    rc=0
    "$STRATA" build --progress quiet -f "$C/Dockerfile.bad$n" -t "bad$n" "$C" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -lt 128 ] || fail "$line: strata died (exit $rc)"
    if [ "$rc" -eq 0 ]; then
      # Accepted only as the link's own copy or a path inside the context.
      "$STRATA" save "bad$n" -o "$T/bad$n.tar" >/dev/null 2>&1
      mkdir -p "$T/bad$n" && tar -xf "$T/bad$n.tar" -C "$T/bad$n"
      for b in "$T/bad$n"/blobs/sha256/*; do
        grep -qF "$CANARY_SECRET" < <(tar -xOzf "$b" 2>/dev/null || tar -xOf "$b" 2>/dev/null || cat "$b") &&
          fail "$line (overlay=$overlay) put the host canary into the image"
      done
      if [ "$line" = "COPY etc-link/shadow /y" ]; then fail "$line copied the host's /etc/shadow"; fi
    else
      grep -q "not found" "$T/err" || fail "$line: unclear error: $(cat "$T/err")"
    fi
  done
  # Links inside the context still work.
  try good "COPY inner/f /f" "COPY abs-inner/f /g" "COPY sub/up/sub/f /h" "RUN cat /f /g /h > /all"
  "$STRATA" build --progress quiet --no-cache -f "$C/Dockerfile.good" -t good "$C" >/dev/null
  expect_eq "$("$STRATA" run good cat /all)" "inside
inside
inside" "links inside the context (overlay=$overlay)"
done
unset STRATA_COPY_OVERLAY
# A bind mount of a link out of the context sees the context, not the host.
try bind "RUN --mount=type=bind,source=can-link,target=/m cat /m/secret > /got"
rc=0
"$STRATA" build --progress quiet -f "$C/Dockerfile.bind" -t bind "$C" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -lt 128 ] || fail "bind: strata died"
[ "$rc" -ne 0 ] || fail "a bind mount of a link out of the context was accepted"
check_no_secret_in "$STRATA_ROOT"
check_canary
echo "ok"
