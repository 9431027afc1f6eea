#!/usr/bin/env bash
# Layers that try to reach outside their snapshot when unpacked (a hard link
# or an entry through a symlink, whiteouts named "..", "../" names, a "."
# that is a file), and an image whose config names another image's diff ids
# for other bytes. Each is refused with a clear error when a build or a run
# needs the layer; the host canary, the store's tmp/ and the other image
# stay as they were.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
MAKE="$(dirname "$0")/make_archive.py"
make_busybox
place_store_sentinel

# hostile NAME EXPECTED-ERROR-REGEX LAYER-ENTRIES-JSON
hostile() {
  local name=$1 pattern=$2
  printf '{"layers": [%s]}' "$3" > "$T/$name.json"
  python3 "$MAKE" "$T/$name.tar" "$name" "$T/$name.json"
  "$STRATA" load "$T/$name.tar" >/dev/null
  expect_refusal "$pattern" run "$name" true
  printf 'FROM %s\nRUN true\n' "$name" > "$T/Dockerfile.$name"
  expect_refusal "$pattern" build --progress quiet -f "$T/Dockerfile.$name" "$T"
  check_canary
  check_store_sentinel
  check_tmp_clean
  cases=$((cases + 1))
}
cases=0
hostile hardlink-through-link 'hard link "h" refused.*"l/secret" goes through a symbolic link' \
  "[{\"name\": \"l\", \"type\": \"symlink\", \"link\": \"$CANARY\"},
    {\"name\": \"h\", \"type\": \"hardlink\", \"link\": \"l/secret\"}]"
hostile hardlink-up 'hard link "h" refused.*leaves its root' \
  '[{"name": "h", "type": "hardlink", "link": "../../../../../../../../etc/passwd"}]'
hostile entry-through-link '"l/new" goes through a symbolic link' \
  "[{\"name\": \"l\", \"type\": \"symlink\", \"link\": \"$CANARY\"},
    {\"name\": \"l/new\", \"data\": \"written\"}]"
hostile entry-through-rel-link '"l/secret" goes through a symbolic link' \
  "[{\"name\": \"l\", \"type\": \"symlink\", \"link\": \"../../../../../../../..$CANARY\"},
    {\"name\": \"l/secret\", \"data\": \"overwritten\"}]"
hostile whiteout-dotdot 'whiteout "x/.wh.." names no entry' \
  '[{"name": "x", "type": "dir"}, {"name": "x/.wh..", "type": "file"}]'
hostile whiteout-top-dotdot 'whiteout ".wh.." names no entry' '[{"name": ".wh..", "type": "file"}]'
hostile whiteout-through-link '"l/.wh.secret" goes through a symbolic link' \
  "[{\"name\": \"l\", \"type\": \"symlink\", \"link\": \"$CANARY\"},
    {\"name\": \"l/.wh.secret\"}]"
hostile dotdot-name 'leaves its root through' '[{"name": "../../../../../../tmp/x", "data": "x"}]'
hostile dotdot-inner 'leaves its root through' '[{"name": "a/../../b", "data": "x"}]'
hostile dot-file '"\." \(the layer.s root\) is not a directory' '[{"name": ".", "data": "x"}]'

# An absolute name lands inside the snapshot, not on the host.
printf '{"layers": [[{"name": "%s/new", "data": "inside"}]]}' "$CANARY" > "$T/abs.json"
python3 "$MAKE" "$T/abs.tar" abs "$T/abs.json"
"$STRATA" load "$T/abs.tar" >/dev/null
printf 'FROM busybox\nCOPY --from=abs %s/new /got\nRUN cat /got\n' "$CANARY" > "$T/Dockerfile.abs"
"$STRATA" build --progress quiet -f "$T/Dockerfile.abs" -t got-abs "$T" >/dev/null
expect_eq "$("$STRATA" run got-abs cat /got)" "inside" "an absolute layer entry"
check_canary
cases=$((cases + 1))

# A forged image: busybox's diff ids, other bytes. Loaded into a store that
# has no busybox yet, then busybox itself: busybox still shows busybox.
"$STRATA" save busybox -o "$T/busybox.tar" >/dev/null
diff_ids=$("$STRATA" inspect busybox | jq -c '.config.rootfs.diff_ids')
cat > "$T/forged.json" <<JSON
{"layers": [[{"name": "pwned", "data": "forged"}, {"name": "bin/busybox", "data": "not busybox"}]],
 "diff_ids": $diff_ids}
JSON
python3 "$MAKE" "$T/forged.tar" forged "$T/forged.json"
export STRATA_ROOT=$T/fresh
"$STRATA" load "$T/forged.tar" >/dev/null
expect_refusal 'content has the digest sha256:[0-9a-f]{64}, not the diff id sha256:[0-9a-f]{64} that the image.s config gives it' run forged true
"$STRATA" load "$T/busybox.tar" >/dev/null
"$STRATA" run busybox sh -c '! test -e /pwned && busybox true' || fail "busybox shows the forged image's files"
expect_eq "$("$STRATA" run busybox sh -c 'echo ok')" "ok"
cases=$((cases + 1))
echo "ok: $cases hostile layer cases"
