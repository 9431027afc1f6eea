"""moby/buildkit frontend/dockerfile/dockerfile_multistage_test.go, ported."""

from bk import Suite, check

suite = Suite("dockerfile_multistage_test.go")


@suite.test("testMultiStageImplicitFrom")
def _(t):
    t.context({"Dockerfile": "FROM scratch\nCOPY --from=busybox /etc/passwd test\n"})
    t.build(local=True)
    check("root" in t.read("test"), "busybox's /etc/passwd")
    # testing masked image will load actual stage
    t.context({"Dockerfile": "FROM busybox AS golang\nRUN mkdir -p /usr/bin && echo -n foo > /usr/bin/go\n"
               "FROM scratch\nCOPY --from=golang /usr/bin/go go\n"})
    t.build(local=True)
    check("foo" in t.read("go"), "the stage named golang, not an image")


@suite.test("testMultiStageCaseInsensitive")
def _(t):
    t.context({"Dockerfile": "FROM scratch AS STAge0\nCOPY foo bar\nFROM scratch AS staGE1\n"
               "COPY --from=staGE0 bar baz\nFROM scratch\nCOPY --from=stage1 baz bax\n", "foo": "foo-contents"})
    t.build("--target", "Stage1", local=True)
    check("foo-contents" in t.read("baz"), "baz")


@suite.test("testOutOfOrderStage")
def _(t):
    # FROM alpine in the Go test; nothing of alpine is used.
    for src in ["/", "/d2"]:
        t.context({"Dockerfile": f"FROM busybox AS target\nCOPY --from=build {src} /out\n"
                   "FROM busybox AS build\nCOPY /Dockerfile /d2\nFROM target\n"})
        r = t.build(error="cannot copy from stage")
        check("needs to be defined before current stage" in r.stderr, r.stderr)


@suite.test("testEmptyStages")
def _(t):
    t.context({"Dockerfile": "ARG foo=bar"})
    t.build(error="dockerfile contains no stages to build")


suite.run()
