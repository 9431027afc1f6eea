#!/usr/bin/env bash
# --trace and explain --trace: Chrome trace events (valid JSON), a track
# per stage, one slice per step of the build with its time (a RUN that
# sleeps 1 s lasts at least that, and no slice outlasts the build), its
# container's share, cached steps marked so on a rebuild, and the archive
# written by --output as a transfer.
source "$(dirname "$0")/lib.sh"
need python3
make_busybox
mkdir -p "$T/ctx"
echo data > "$T/ctx/file"
cat > "$T/ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox AS tools
RUN sleep 1 && echo tool > /tool
FROM busybox
COPY file /file
COPY --from=tools /tool /tool
RUN cat /file /tool
DOCKERFILE
t0=$(date +%s%N)
"$STRATA" build --progress quiet --trace "$T/trace.json" -o "type=oci,dest=$T/app.tar" "$T/ctx" > /dev/null ||
  fail "the build with --trace"
wall_us=$(( ($(date +%s%N) - t0) / 1000 ))
"$STRATA" explain --trace "$T/explained.json" 2> /dev/null || fail "explain --trace"
python3 - "$T/trace.json" "$T/explained.json" "$wall_us" <<'PY' || fail "the trace"
import json, sys
trace, explained, wall = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
def slices(doc):
    return [e for e in doc["traceEvents"] if e["ph"] == "X"]
threads = {e["tid"]: e["args"]["name"] for e in trace["traceEvents"] if e.get("name") == "thread_name"}
steps = [e for e in slices(trace) if e["cat"] in ("ran", "cached", "incremental")]
names = sorted(e["name"] for e in steps)
assert names == sorted(["[tools 2] RUN sleep 1 && echo tool > /tool", "[stage-1 2] COPY file /file",
                        "[stage-1 3] COPY --from=tools /tool /tool", "[stage-1 4] RUN cat /file /tool"]), names
assert {threads[e["tid"]] for e in steps} == {"tools", "stage-1"}, threads
sleep = next(e for e in steps if "sleep 1" in e["name"])
assert 1_000_000 <= sleep["dur"] <= wall, (sleep, wall)
assert 1.0 <= sleep["args"]["container_seconds"] <= sleep["args"]["seconds"] + 1e-6, sleep
for e in steps:
    assert e["ts"] >= 0 and e["ts"] + e["dur"] <= wall, (e, wall)
    assert e["args"]["reason"] == "no earlier build of this step", e
transfers = [e for e in slices(trace) if e["cat"] == "transfer"]
assert any(e["name"].startswith("writing ") for e in transfers), transfers
assert sorted(e["name"] for e in slices(explained)) == names, slices(explained)
PY
"$STRATA" build --progress quiet --trace "$T/again.json" "$T/ctx" > /dev/null || fail "the rebuild"
python3 -c "
import json, sys
s = [e for e in json.load(open(sys.argv[1]))['traceEvents'] if e['ph'] == 'X']
# The tools stage is only keyed on a rebuild (its result is read by a hit): no slices.
assert len(s) == 3 and all(e['cat'] == 'cached' and e['args']['cached'] for e in s), s
" "$T/again.json" || fail "the rebuild's trace: $(cat "$T/again.json")"
echo "trace: OK"
