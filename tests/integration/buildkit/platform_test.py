"""moby/buildkit frontend/dockerfile/dockerfile_platform_test.go, ported."""

from bk import Suite, equal

suite = Suite("dockerfile_platform_test.go")


@suite.test("testPlatformArgsImplicit")
def _(t):
    t.context({"Dockerfile": "\nFROM scratch AS build-linux\nCOPY foo bar\nFROM build-${TARGETOS}\nCOPY foo2 bar2\n",
               "foo": "d0", "foo2": "d1"})
    t.build(local=True)
    equal(t.read("bar"), "d0")
    equal(t.read("bar2"), "d1")


@suite.test("testPlatformArgsExplicit")
def _(t):
    t.context({"Dockerfile": "\nFROM --platform=$BUILDPLATFORM busybox AS build\nARG TARGETPLATFORM\nARG TARGETOS\n"
               "RUN mkdir /out && echo -n $TARGETPLATFORM > /out/platform && echo -n $TARGETOS > /out/os\n"
               "FROM scratch\nCOPY --from=build out .\n"})
    t.build("--platform", "darwin/ppc64le", "--build-arg", "TARGETOS=freebsd", local=True)
    equal(t.read("platform"), "darwin/ppc64le")
    equal(t.read("os"), "freebsd")


suite.skip("testPlatformWithOSVersion", "builds two windows platforms in one build and pushes them "
           "(several platforms at once is a later issue)")
suite.skip("testMaintainBaseOSVersion", "a windows/amd64 OS version through a registry: Windows images")

suite.run()
