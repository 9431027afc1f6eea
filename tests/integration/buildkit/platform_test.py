"""moby/buildkit frontend/dockerfile/dockerfile_platform_test.go, ported."""

from bk import Suite

suite = Suite("dockerfile_platform_test.go")


suite.dockerfile_case(
    "testPlatformArgsImplicit",
    "\nFROM scratch AS build-linux\nCOPY foo bar\nFROM build-${TARGETOS}\nCOPY foo2 bar2\n",
    files={"bar": "d0", "bar2": "d1"}, context={"foo": "d0", "foo2": "d1"})

suite.dockerfile_case(
    "testPlatformArgsExplicit",
    "\nFROM --platform=$BUILDPLATFORM busybox AS build\nARG TARGETPLATFORM\nARG TARGETOS\n"
    "RUN mkdir /out && echo -n $TARGETPLATFORM > /out/platform && echo -n $TARGETOS > /out/os\n"
    "FROM scratch\nCOPY --from=build out .\n",
    files={"platform": "darwin/ppc64le", "os": "freebsd"},
    flags=("--platform", "darwin/ppc64le", "--build-arg", "TARGETOS=freebsd"))


suite.skip("testPlatformWithOSVersion", "builds two windows platforms in one build and pushes them "
           "(several platforms at once is a later issue)")
suite.skip("testMaintainBaseOSVersion", "a windows/amd64 OS version through a registry: Windows images")

suite.run()
