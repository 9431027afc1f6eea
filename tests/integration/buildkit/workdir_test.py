"""moby/buildkit frontend/dockerfile/dockerfile_workdir_test.go, ported."""

import calendar
import stat
import time

from bk import Suite, check, equal

suite = Suite("dockerfile_workdir_test.go")


@suite.test("testWorkdirCreatesDir")
def _(t):
    t.context({"Dockerfile": "FROM scratch\nWORKDIR /foo\nWORKDIR /\n"})
    t.build(local=True)
    check(stat.S_ISDIR(t.stat("foo").st_mode), "/foo must be a directory")


@suite.test("testWorkdirSourceDateEpochReproducible")
def _(t):
    # The Go test compares the index.json of two OCI exports around a prune
    # of all cache; strata prints the manifest digest the index names.
    t.context({"Dockerfile": "FROM busybox\nWORKDIR /mydir\n"})
    epoch = str(calendar.timegm((2023, 1, 10, 15, 34, 56)))
    first = t.build("--build-arg", f"SOURCE_DATE_EPOCH={epoch}").stdout.strip()
    r = t.strata("cache", "prune", "--all")
    check(r.code == 0, f"cache prune --all: {r.stderr}")
    time.sleep(3)
    second = t.build("--build-arg", f"SOURCE_DATE_EPOCH={epoch}").stdout.strip()
    check(first.startswith("sha256:"), f"a digest on stdout, got {first!r}")
    equal(second, first, "the image after a prune of all cache")


@suite.test("testWorkdirUser")
def _(t):
    t.context({"Dockerfile": 'FROM busybox\nRUN adduser -D user\nUSER user\nWORKDIR /mydir\n'
               'RUN [ "$(stat -c "%U %G" /mydir)" == "user user" ]\n'})
    t.build()


@suite.test("testWorkdirCopyIgnoreRelative")
def _(t):
    t.context({"Dockerfile": "FROM scratch AS base\nWORKDIR /foo\nCOPY Dockerfile /\nFROM scratch\n"
               "# relative path still loaded as absolute\nCOPY --from=base Dockerfile .\n"})
    t.build()


@suite.test("testWorkdirExists")
def _(t):
    t.context({"Dockerfile": 'FROM busybox\nRUN adduser -D user\nRUN mkdir /mydir && chown user:user /mydir\n'
               'WORKDIR /mydir\nRUN [ "$(stat -c "%U %G" /mydir)" == "user user" ]\n'})
    t.build()


suite.run()
