# Shared by the hostile-input tests (sourced after ../lib.sh): a canary
# directory on the host that no build, image or archive may read or touch,
# a sentinel in the store's tmp/ that stands for another command's files,
# and helpers to expect a clear refusal.
CANARY=$(mktemp -d /tmp/strata-canary.XXXXXX)
head -c 24 /dev/urandom | base64 > "$CANARY/secret"
CANARY_SECRET=$(cat "$CANARY/secret")
canary_state() { stat -c '%h %s %Y %a' "$CANARY/secret"; cat "$CANARY/secret"; ls -a "$CANARY" | tr '\n' ' '; }
CANARY_STATE=$(canary_state)
hostile_cleanup() {
  cleanup
  rm -rf "$CANARY"
}
trap hostile_cleanup EXIT

# The canary is as it was: not linked, written, removed or joined by files.
check_canary() {
  [ "$(canary_state)" = "$CANARY_STATE" ] || fail "the host canary changed: $(canary_state)"
}

# Nothing the store has or shows holds the canary's secret.
check_no_secret_in() {
  if grep -rqF "$CANARY_SECRET" "$1" 2>/dev/null; then fail "the host canary's secret is in $1"; fi
}

# Runs strata with the given arguments; it must fail, and its error output
# must match the extended regular expression $1.
expect_refusal() {
  local pattern=$1
  shift
  local rc=0
  "$STRATA" "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" -ne 0 ] || fail "strata $* succeeded; expected a refusal matching /$pattern/"
  [ "$rc" -lt 128 ] || fail "strata $* died with a signal (exit $rc): $(tail -3 "$T/err")"
  grep -Eq "$pattern" "$T/err" || fail "strata $* said: $(cat "$T/err"); expected /$pattern/"
}

# The store's own tmp/ keeps what other commands have there.
STORE_SENTINEL=
place_store_sentinel() {
  mkdir -p "$STRATA_ROOT/tmp/other-command"
  echo keep > "$STRATA_ROOT/tmp/other-command/file"
  STORE_SENTINEL=$STRATA_ROOT/tmp/other-command/file
}
check_store_sentinel() {
  [ -z "$STORE_SENTINEL" ] || [ "$(cat "$STORE_SENTINEL" 2>/dev/null)" = keep ] ||
    fail "another command's file under the store's tmp/ was removed"
}

# After a refused load nothing of it is left under tmp/ (but the sentinel).
check_tmp_clean() {
  local left
  left=$(cd "$STRATA_ROOT/tmp" && ls -A | grep -v '^other-command$' || true)
  [ -z "$left" ] || fail "left under the store's tmp/: $left"
}
