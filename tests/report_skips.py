"""Lists what a test run skipped, and fails a CI run on a skip it does not allow.

    python3 tests/report_skips.py JUNIT_XML SKIP_LOG ALLOWED_SKIPS

JUNIT_XML is ctest's --output-junit report: a test ctest did not run (exit
code 77, a GoogleTest GTEST_SKIP) is a skip, with the reason its output gave.
SKIP_LOG holds the lines "TEST: reason" that tests/integration/lib.sh's skip
and skip_part append (skip_part: one check of a test that otherwise ran).
ALLOWED_SKIPS names, one per line with a comment saying why, the tests that
may skip in CI (shell-style patterns; '#' starts a comment). With CI=true in
the environment any other skip makes the exit status 1; otherwise skips are
only listed. Called by scripts/test.
"""

import fnmatch
import os
import sys
import xml.etree.ElementTree as ET


def junit_skips(path):
    skips = []
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.get("status") != "notrun":
            continue
        out = (case.findtext("system-out") or "").splitlines()
        reason = next((line[len("skipped: "):] for line in out if line.startswith("skipped: ")), None)
        if reason is None:  # GoogleTest prints "FILE:LINE: Skipped" and then the message
            after = [out[i + 1] for i, line in enumerate(out[:-1]) if line.endswith(": Skipped")]
            reason = after[0] if after else None
        if reason is None:
            element = case.find("skipped")
            reason = element.get("message") if element is not None else "not run"
        skips.append((case.get("name"), reason))
    return skips


def log_skips(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [tuple(line.rstrip("\n").split(": ", 1)) for line in f if ": " in line]


def allowed_patterns(path):
    with open(path) as f:
        return [p for p in (line.split("#", 1)[0].strip() for line in f) if p]


def main(junit, log, allowed_file):
    skips = []
    for skip in junit_skips(junit) + log_skips(log):
        if skip not in skips:
            skips.append(skip)
    if not skips:
        print("skipped: nothing")
        return 0
    allowed = allowed_patterns(allowed_file)
    refused = [s for s in skips if not any(fnmatch.fnmatchcase(s[0], p) for p in allowed)]
    print(f"skipped ({len(skips)}):")
    for name, reason in skips:
        print(f"  {name}: {reason}{'' if (name, reason) in refused else '  (allowed)'}")
    if refused and os.environ.get("CI") == "true":
        print(f"scripts/test: {len(refused)} skip(s) in CI that {allowed_file} does not allow; "
              "install what they name (scripts/install-deps test) or allow them there, saying why",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
