"""moby/buildkit frontend/dockerfile/dockerfile_parents_test.go, ported."""

from bk import Dir, Suite, equal

suite = Suite("dockerfile_parents_test.go")


@suite.test("testCopyParents")
def _(t):
    t.context({"Dockerfile": "FROM scratch\nCOPY --parents foo1/foo2/bar /\nWORKDIR /test\n"
               "COPY --parents foo1/foo2/ba* .\n", "foo1": Dir(0o700), "foo1/foo2": Dir(0o700),
               "foo1/foo2/bar": "testing", "foo1/foo2/baz": "testing2"})
    t.build(local=True)
    equal(t.read("foo1/foo2/bar"), "testing")
    equal(t.read("test/foo1/foo2/bar"), "testing")
    equal(t.read("test/foo1/foo2/baz"), "testing2")


# FROM alpine in the Go test; busybox has every tool the heredocs use.
RELATIVE_PARENTS = r"""
FROM busybox AS base
WORKDIR /test
RUN <<eot
	set -ex
	mkdir -p a/b/c/d/e
	mkdir -p a/b2/c/d/e
	mkdir -p a/b/c2/d/e
	mkdir -p a/b/c2/d/e2
	touch a/b/c/d/foo
	touch a/b/c/d/e/bay
	touch a/b2/c/d/e/bar
	touch a/b/c2/d/e/baz
	touch a/b/c2/d/e2/baz
eot

FROM busybox AS middle
COPY --from=base --parents /test/a/b/./c/d /out/
RUN <<eot
	set -ex
	[ -d /out/c/d/e ]
	[ -f /out/c/d/foo ]
	[ ! -d /out/a ]
	[ ! -d /out/e ]
eot

FROM busybox AS end
COPY --from=base --parents /test/a/b/c/d/. /out/
RUN <<eot
	set -ex
	[ -d /out/test/a/b/c/d/e ]
	[ -f /out/test/a/b/c/d/foo ]
eot

FROM busybox AS start
COPY --from=base --parents ./test/a/b/c/d /out/
RUN <<eot
	set -ex
	[ -d /out/test/a/b/c/d/e ]
	[ -f /out/test/a/b/c/d/foo ]
eot

FROM busybox AS double
COPY --from=base --parents /test/a/./b/./c /out/
RUN <<eot
	set -ex
	[ -d /out/b/c/d/e ]
	[ -f /out/b/c/d/foo ]
eot

FROM busybox AS wildcard
COPY --from=base --parents /test/a/./*/c /out/
RUN <<eot
	set -ex
	[ -d /out/b/c/d/e ]
	[ -f /out/b2/c/d/e/bar ]
eot

FROM busybox AS doublewildcard
COPY --from=base --parents /test/a/b*/./c/**/e /out/
RUN <<eot
	set -ex
	[ -d /out/c/d/e ]
	[ -f /out/c/d/e/bay ] # via b
	[ -f /out/c/d/e/bar ] # via b2
eot

FROM busybox AS doubleinputs
COPY --from=base --parents /test/a/b/c*/./d/**/baz /test/a/b*/./c/**/bar /out/
RUN <<eot
	set -ex
	[ -f /out/d/e/baz ]
	[ ! -f /out/d/e/bay ]
	[ -f /out/d/e2/baz ]
	[ -f /out/c/d/e/bar ] # via b2
eot
"""


@suite.test("testCopyRelativeParents")
def _(t):
    t.context({"Dockerfile": RELATIVE_PARENTS})
    for target in ["middle", "end", "start", "double", "wildcard", "doublewildcard", "doubleinputs"]:
        t.build("--target", target)


MISSING_DIRECTORY = r"""
FROM busybox AS base
WORKDIR /test
RUN <<eot
	set -ex
	mkdir -p a/b/c/d/e
	touch a/b/c/d/foo
	touch a/b/c/d/e/bay
eot

FROM busybox AS normal
COPY --from=base --parents /test/a/b/c/d /out/
RUN <<eot
	set -ex
	[ -d /out/test/a/b/c/d/e ]
	[ -f /out/test/a/b/c/d/e/bay ]
	[ ! -d /out/e ]
	[ ! -d /out/a ]
eot

FROM busybox AS withpivot
COPY --from=base --parents /test/a/b/./c/d /out/
RUN <<eot
	set -ex
	[ -d /out/c/d/e ]
	[ -f /out/c/d/foo ]
	[ ! -d /out/a ]
	[ ! -d /out/e ]
eot

FROM busybox AS nonexistentfile
COPY --from=base --parents /test/nonexistent-file /out/

FROM busybox AS wildcard-nonexistent
COPY --from=base --parents /test/a/b2*/c /out/
RUN <<eot
	set -ex
	[ -d /out ]
	[ ! -d /out/a ]
eot

FROM busybox AS wildcard-afterpivot
COPY --from=base --parents /test/a/b/./c2* /out/
RUN <<eot
	set -ex
	[ -d /out ]
	[ ! -d /out/a ]
	[ ! -d /out/c* ]
eot
"""


@suite.test("testCopyParentsMissingDirectory")
def _(t):
    t.context({"Dockerfile": MISSING_DIRECTORY})
    for target in ["normal", "withpivot", "wildcard-nonexistent", "wildcard-afterpivot"]:
        t.build("--target", target)
    # The Go test's regexp: failed to calculate checksum of ref.*: "/test/nonexistent-file": not found
    t.build("--target", "nonexistentfile", error='failed to calculate checksum of ref')
    t.build("--target", "nonexistentfile", error=': "/test/nonexistent-file": not found')


suite.run()
