#!/usr/bin/env bash
# strata explain --html: a build of two stages at once (one with a cache
# mount) and a stage that copies from both; the page names every step,
# carries nothing from the network, and headless Chromium renders it to a
# PNG that is not blank (a blank page's PNG, rendered the same way, is the
# baseline).
source "$(dirname "$0")/lib.sh"
need chromium python3
make_busybox
mkdir -p "$T/ctx"
cat > "$T/ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox AS a
RUN --mount=type=cache,target=/cache echo a > /cache/a && sleep 1 && echo a > /a.txt
FROM busybox AS b
RUN sleep 1 && dd if=/dev/urandom of=/b.bin bs=1M count=2 2>/dev/null
FROM busybox
COPY --from=a /a.txt /a.txt
COPY --from=b /b.bin /b.bin
RUN cat /a.txt && ls -l /b.bin > /ls.txt
DOCKERFILE
"$STRATA" build --progress quiet "$T/ctx" > /dev/null || fail "the build"
"$STRATA" explain --html "$T/report.html" 2> /dev/null || fail "explain --html"
"$STRATA" explain --json > "$T/steps.json"
python3 - "$T/report.html" "$T/steps.json" <<'PY' || fail "the page does not name every step"
import html, json, sys
page = open(sys.argv[1]).read()
for step in json.load(open(sys.argv[2])):
    assert html.escape(step["instruction"], quote=True).replace("&#x27;", "&#39;") in page, step["instruction"]
for needle in ("<svg", "Biggest layers", "Cache mounts", "Where the time went"):
    assert needle in page, needle
assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
PY
echo '<!DOCTYPE html><html><body></body></html>' > "$T/blank.html"
for page in report blank; do
  timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$T/chrome" \
    --window-size=1200,1000 --screenshot="$T/$page.png" "file://$T/$page.html" > "$T/chrome.log" 2>&1 ||
    fail "chromium: $(tail -5 "$T/chrome.log")"
done
python3 - "$T/report.png" "$T/blank.png" <<'PY' || fail "the rendered report looks blank"
import struct, sys, zlib
def pixels(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IHDR": width = struct.unpack(">I", data[pos + 8:pos + 12])[0]
        if kind == b"IDAT": idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    return width, zlib.decompress(idat)
(w, report), (_, blank) = pixels(sys.argv[1]), pixels(sys.argv[2])
# Distinct byte values of the filtered scanlines: a page of one colour has few.
rich, plain = len(set(report)), len(set(blank))
assert w == 1200, w
assert plain < 16 and rich > 64, (rich, plain)
PY
echo "report: OK"
