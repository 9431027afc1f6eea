#!/usr/bin/env bash
# How strata reaches registries, against Debian's docker-registry on
# 127.0.0.1: retries of 429 Too Many Requests; giving up after five tries
# of a registry that keeps failing; https with a certificate the system
# trusts and a clear error with one it does not; plain http only for a
# registry named by --insecure-registry (before or after the command) or
# $STRATA_INSECURE_REGISTRIES; login -p. A registry is "not loopback" when
# it is named by a host name other than localhost: the name resolves to
# 127.0.0.1 through an /etc/hosts of the test's own, bind-mounted in a
# mount namespace (unshare -m) with the CA bundle the test chooses.
. "$(dirname "$0")/lib.sh" "$1"
need docker-registry htpasswd openssl python3 unshare curl
HELPER=$(dirname "$(realpath "$0")")/registry_helper.py
export DOCKER_CONFIG=$T/docker # never the user's credentials
make_busybox
NAME=strata-registry.test

start_registry open
R=127.0.0.1:$PORT

# --- 429s are retried: the first two requests for each path are refused.
start_proxy() { # start_proxy MODE: a failing proxy in front of $R; its address in $P
  local pf=$T/proxy-$1.port
  python3 "$HELPER" proxy "${R#*:}" "$pf" "$T/proxy-$1.log" "$1" &
  PIDS+=($!)
  wait_for_line "$pf" '^[0-9]+$' 10
  P=127.0.0.1:$(cat "$pf")
}
start_proxy busy
"$STRATA" push busybox "$P/retry/busybox:1" > /dev/null 2> "$T/err" || fail "push through 429s: $(cat "$T/err")"
grep -q '^429 ' "$T/proxy-busy.log" || fail "the proxy sent no 429"
STRATA_ROOT=$T/busy "$STRATA" pull "$P/retry/busybox:1" > /dev/null 2> "$T/err" || fail "pull through 429s: $(cat "$T/err")"
expect_eq "$(STRATA_ROOT=$T/busy "$STRATA" run "$P/retry/busybox:1" echo ok)" "ok" "the image pulled through 429s"

# --- A registry that always fails: five tries, then a clear error.
start_proxy down
if STRATA_ROOT=$T/down "$STRATA" pull "$P/retry/busybox:1" > /dev/null 2> "$T/err"; then fail "a pull from a failing registry succeeded"; fi
grep -q '503' "$T/err" || fail "unclear error from a failing registry: $(cat "$T/err")"
first=$(head -1 "$T/proxy-down.log")
expect_eq "$(grep -cxF "$first" "$T/proxy-down.log")" 5 "tries of one request ($first)"
if [ -n "$(ls "$T/down/tmp" 2>/dev/null)" ]; then fail "a failed pull left temporary files"; fi

# --- https: a certificate for $NAME, trusted or not.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
  -subj "/CN=$NAME" -addext "subjectAltName=DNS:$NAME" 2> /dev/null
mkdir -p "$T/trusted" "$T/untrusted"
cp "$T/cert.pem" "$T/trusted/ca-certificates.crt"
: > "$T/untrusted/ca-certificates.crt"
TPORT=$(free_port)
mkdir -p "$T/tls"
cat > "$T/tls/config.yml" << YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $T/tls/data
http:
  addr: 127.0.0.1:$TPORT
  tls:
    certificate: $T/cert.pem
    key: $T/key.pem
YAML
docker-registry serve "$T/tls/config.yml" > "$T/tls/log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sk -o /dev/null "https://127.0.0.1:$TPORT/v2/" && break; sleep 0.1; done
printf '127.0.0.1 localhost\n127.0.0.1 %s\n' "$NAME" > "$T/hosts"
# as_host TRUST CMD...: CMD where $NAME is 127.0.0.1 and the system trusts
# the certificates in $T/TRUST only.
as_host() {
  unshare -m sh -c 'trust=$1; shift; mount --bind "$T/hosts" /etc/hosts &&
    mount --bind "$trust" /etc/ssl/certs && exec "$@"' as_host "$T/$1" "${@:2}"
}
export T
TLS=$NAME:$TPORT
if as_host untrusted "$STRATA" push busybox "$TLS/tls/busybox:1" > /dev/null 2> "$T/err"; then
  fail "a push to a registry with an untrusted certificate succeeded"
fi
grep -qi 'certificate' "$T/err" || fail "unclear error for an untrusted certificate: $(cat "$T/err")"
as_host trusted "$STRATA" push busybox "$TLS/tls/busybox:1" > /dev/null 2> "$T/err" ||
  fail "push over https: $(cat "$T/err")"
curl -s --cacert "$T/cert.pem" --resolve "$TLS:127.0.0.1" "https://$TLS/v2/tls/busybox/tags/list" |
  jq -e '.tags == ["1"]' > /dev/null || fail "the https registry does not list the pushed tag"
STRATA_ROOT=$T/tls-pull as_host trusted "$STRATA" pull "$TLS/tls/busybox:1" > /dev/null 2> "$T/err" ||
  fail "pull over https: $(cat "$T/err")"
expect_eq "$(STRATA_ROOT=$T/tls-pull "$STRATA" run "$TLS/tls/busybox:1" echo ok)" "ok" "the image pulled over https"

# --- plain http for a named registry only when told so.
PLAIN=$NAME:${R#*:}
if as_host trusted "$STRATA" push busybox "$PLAIN/plain/busybox:1" > /dev/null 2> "$T/err"; then
  fail "strata spoke plain http to $PLAIN without --insecure-registry"
fi
as_host trusted "$STRATA" --insecure-registry "$PLAIN" push busybox "$PLAIN/plain/busybox:1" > /dev/null 2> "$T/err" ||
  fail "--insecure-registry before the command: $(cat "$T/err")"
as_host trusted "$STRATA" push busybox "$PLAIN/plain/busybox:2" --insecure-registry "$PLAIN" > /dev/null 2> "$T/err" ||
  fail "--insecure-registry after the command: $(cat "$T/err")"
STRATA_INSECURE_REGISTRIES=$PLAIN as_host trusted "$STRATA" push busybox "$PLAIN/plain/busybox:3" > /dev/null 2> "$T/err" ||
  fail "STRATA_INSECURE_REGISTRIES: $(cat "$T/err")"
expect_eq "$(curl -s "http://$R/v2/plain/busybox/tags/list" | jq -c '.tags | sort')" '["1","2","3"]' "tags pushed over plain http"
printf 'FROM %s/plain/busybox:1\nRUN echo built > /b\n' "$PLAIN" > "$T/Dockerfile.plain"
STRATA_ROOT=$T/plain-build as_host trusted "$STRATA" build --insecure-registry "$PLAIN" --progress quiet -t b \
  -f "$T/Dockerfile.plain" "$T" > /dev/null 2> "$T/err" || fail "a build FROM an --insecure-registry image: $(cat "$T/err")"
expect_eq "$(STRATA_ROOT=$T/plain-build "$STRATA" run b cat /b)" "built" "the build FROM it"

# --- login -p (the password on the command line, as docker login -p).
start_basic_registry basic ci s3cret
if "$STRATA" login "$RB" -u ci -p wrong 2> "$T/err"; then fail "login -p with a wrong password succeeded"; fi
"$STRATA" login "$RB" -u ci -p s3cret 2> "$T/err" || fail "login -p: $(cat "$T/err")"
jq -e --arg r "$RB" '.auths[$r].auth' "$DOCKER_CONFIG/config.json" > /dev/null || fail "login -p stored nothing"
"$STRATA" push busybox "$RB/base/busybox:1" > /dev/null 2> "$T/err" || fail "push after login -p: $(cat "$T/err")"
echo "registry transport: OK"
