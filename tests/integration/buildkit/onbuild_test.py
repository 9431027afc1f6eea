"""moby/buildkit frontend/dockerfile/dockerfile_onbuild_test.go, ported.

The Go tests push their base images to a registry; strata's store holds them
here (FROM a tagged image reads the store first).
"""

from bk import Suite, check, equal

suite = Suite("dockerfile_onbuild_test.go")


@suite.test("testOnBuildCleared")
def _(t):
    t.context({"Dockerfile": "\nFROM busybox\nONBUILD RUN mkdir -p /out && echo -n 11 >> /out/foo\n"})
    base = t.image_tag()
    t.build(tag=base)
    t.context({"Dockerfile": f"\n\tFROM {base}\n\t"})
    child = t.image_tag()
    t.build(tag=child)
    t.context({"Dockerfile": f"\n\tFROM {child} AS base\n\tFROM scratch\n\tCOPY --from=base /out /\n\t"})
    t.build(local=True)
    equal(t.read("foo"), "11", "the trigger ran once, in the child")


@suite.test("testOnBuildWithChildStage")
def _(t):
    t.context({"Dockerfile": "\nFROM busybox\nONBUILD RUN mkdir -p /out && echo -n yes >> /out/didrun\n"})
    base = t.image_tag()
    t.build(tag=base)
    t.context({"Dockerfile": f"""
FROM {base} AS base
RUN [ -f /out/didrun ] && touch /step1
RUN rm /out/didrun
RUN [ ! -f /out/didrun ] && touch /step2
FROM base AS child
RUN [ ! -f /out/didrun ] && touch /step3
FROM scratch
COPY --from=child /step* /
"""})
    t.build(local=True)
    for step in ["step1", "step2", "step3"]:
        check(t.exists(step), step)


suite.dockerfile_case(
    "testOnBuildInheritedStageRun",
    "\nFROM busybox AS base\nONBUILD RUN mkdir -p /out && echo -n 11 >> /out/foo\n"
    "FROM base AS mid\nRUN cp /out/foo /out/bar\nFROM scratch\nCOPY --from=mid /out/bar /\n",
    files={"bar": "11"})

# FROM alpine in the Go test; nothing of alpine is used.
suite.dockerfile_case(
    "testOnBuildInheritedStageWithFrom",
    "\nFROM busybox AS src\nRUN mkdir -p /in && echo -n 12 > /in/file\n"
    "FROM busybox AS base\nONBUILD COPY --from=src /in/file /out/foo\nFROM base AS mid\n"
    "RUN cp /out/foo /out/bar\nFROM scratch\nCOPY --from=mid /out/bar /\n",
    files={"bar": "12"})


@suite.test("testOnBuildWithCacheMount")
def _(t):
    t.context({"Dockerfile": "\nFROM busybox\nONBUILD RUN --mount=type=cache,target=/cache echo -n 42 >> "
               "/cache/foo && echo -n 11 >> /bar\n"})
    base = t.image_tag()
    t.build(tag=base)
    t.context({"Dockerfile": f'FROM {base}\nRUN --mount=type=cache,target=/cache [ "$(cat /cache/foo)" = "42" ] '
               '&& [ "$(cat /bar)" = "11" ]\n'})
    t.build()


suite.skip("testOnBuildNamedContext", "a named context from an OCI layout (context:base=oci-layout:...): "
           "strata has no --build-context yet (docker buildx's flag, issue 19)")
suite.skip("testOnBuildNewDeps", "reads alpine's /etc/alpine-release: needs the alpine image")

suite.run()
