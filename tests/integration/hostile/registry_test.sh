#!/usr/bin/env bash
# A registry that lies (hostile_registry.py on 127.0.0.1): a manifest that
# never ends, manifests, indexes and configs of the wrong types, a config that
# is not JSON or does not match the layers, a config that declares a terabyte,
# token replies of the wrong type or without end. Each pull ends in a clear
# error, in bounded memory, and names nothing.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
python3 "$(dirname "$0")/hostile_registry.py" "$T/port" &
server=$!
stop_server() { kill "$server" 2>/dev/null || true; hostile_cleanup; }
trap stop_server EXIT
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
[ -s "$T/port" ] || fail "the hostile registry did not start"
R=127.0.0.1:$(cat "$T/port")
cases=0
pull_refused() {  # pull_refused REPO ERROR-REGEX
  local rc=0
  /usr/bin/time -f %M -o "$T/rss" "$STRATA" pull "$R/$1:t" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" -ne 0 ] || fail "$1: the pull was accepted"
  [ "$rc" -lt 128 ] || fail "$1: strata died with a signal (exit $rc): $(tail -3 "$T/err")"
  grep -Eq "$2" "$T/err" || fail "$1: said $(head -c 600 "$T/err"); expected /$2/"
  # ASan's shadow memory counts too: 400 MiB is far below the 4 GiB sent.
  [ "$(tail -1 "$T/rss")" -lt 409600 ] || fail "$1: strata took $(tail -1 "$T/rss") KiB"
  [ -z "$("$STRATA" images | tail -n +2)" ] || fail "$1: a refused pull named an image"
  cases=$((cases + 1))
}
command -v /usr/bin/time >/dev/null || fail "/usr/bin/time (package time) is missing"
pull_refused huge 'the response is more than the 4194304 bytes strata reads'
pull_refused manifest-types '"digest" is number, not a string'
pull_refused index-types '"manifests" is string, not a list'
pull_refused no-layers '"layers" is missing'
pull_refused config-json 'config sha256:[0-9a-f]+ is not JSON'
pull_refused config-types '"diff_ids" is array, not a list of strings'
pull_refused config-count 'the manifest has 1 layers, but the config names 0 diff ids'
pull_refused config-huge 'the config is 1000000000000 bytes, more than the 8388608 strata reads'
pull_refused token-types 'token server .*: "token" is number, not a string'
pull_refused token-huge 'the response is more than the 1048576 bytes strata reads'
check_canary
echo "ok: $cases hostile registry replies"
