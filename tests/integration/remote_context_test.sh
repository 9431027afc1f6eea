#!/usr/bin/env bash
# Contexts that are not a directory live under $TMPDIR/strata-<uid>: a
# build removes its own when it ends, and what a killed build left there (a
# pid that no longer runs) is removed by the next; a live build's is not.
# A directory there that others may write is refused.
source "$(dirname "$0")/lib.sh"
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"
dir=$TMPDIR/strata-$(id -u)
mkdir -m 0700 "$dir"
# A pid that is not running: one past the kernel's limit.
dead=$(($(cat /proc/sys/kernel/pid_max) + 1))
mkdir -p "$dir/context-$dead-0123456789ab/context" "$dir/context-$$-0123456789ab"
mkdir -p "$T/ctx" && printf 'FROM scratch\nCOPY a /a\n' > "$T/ctx/Dockerfile" && echo hi > "$T/ctx/a"
tar -C "$T/ctx" -cf "$T/ctx.tar" .
out=$("$STRATA" build --dry-run - < "$T/ctx.tar")
grep -q "context files (1): a" <<<"$out" || fail "the plan of the stdin context: $out"
[ ! -e "$dir/context-$dead-0123456789ab" ] || fail "a killed build's context was left"
[ -d "$dir/context-$$-0123456789ab" ] || fail "a live process's context was removed"
rmdir "$dir/context-$$-0123456789ab"
expect_eq "$(ls -A "$dir")" "" "what a build leaves in $dir"
# An http context, a tar served on 127.0.0.1.
port=$(free_port)
(cd "$T" && exec python3 -m http.server --bind 127.0.0.1 "$port") >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
"$STRATA" build --progress quiet -o "type=local,dest=$T/out" "http://127.0.0.1:$port/ctx.tar" >/dev/null
expect_eq "$(cat "$T/out/a")" "hi" "a file of the http context"
expect_eq "$(ls -A "$dir")" "" "what an http build leaves in $dir"
chmod 0777 "$dir"
set +e
err=$("$STRATA" build --dry-run - < "$T/ctx.tar" 2>&1)
set -e
grep -q "is not a private directory of this user" <<<"$err" || fail "a shared $dir was used: $err"
echo "ok"
