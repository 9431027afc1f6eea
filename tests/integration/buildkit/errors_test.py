"""moby/buildkit frontend/dockerfile/errors_test.go, ported.

BuildKit's error carries source ranges; strata's names the Dockerfile and
the lines (`Dockerfile:3:5: ...` for what the frontend refuses, `(Dockerfile:2-3)`
for a step that fails): each line the Go test expects must be named.
"""

import re

from bk import Suite, check

suite = Suite("errors_test.go")

CASES = [
    ("invalidenv", "from alpine\nenv", [2]),
    ("invalidrun", "from scratch\nenv foo=bar\nrun what", [3]),
    ("invalidcopy", "from scratch\nenv foo=bar\ncopy foo bar\nenv bar=baz", [3]),
    ("invalidflag", "from scratch\nenv foo=bar\ncopy --foo=bar / /\nenv bar=baz", [3]),
    ("invalidcopyfrom", "from scratch\nenv foo=bar\ncopy --from=invalid foo bar\nenv bar=baz", [3]),
    ("invalidmultiline", "from scratch\nrun wh\\\nat\nenv bar=baz", [2, 3]),
]


def named_lines(stderr):
    """The Dockerfile lines an error names: Dockerfile:L[:C] and Dockerfile:A-B."""
    lines = set()
    for a, b in re.findall(r"Dockerfile:(\d+)(?:-(\d+))?", stderr):
        lines.update(range(int(a), int(b or a) + 1))
    return lines


@suite.test("testErrorsSourceMap")
def _(t):
    for name, dockerfile, expected in CASES:
        t.context({"Dockerfile": dockerfile})
        r = t.build(error="")
        got = named_lines(r.stderr)
        for line in expected:
            check(line in got, f"{name}: line {line} not named in:\n{r.stderr}")
    # The Go test's "invalidsyntax" case (# syntax=foobar fails on line 1)
    # is left out: strata reads no frontend images and ignores # syntax=.


suite.run()
