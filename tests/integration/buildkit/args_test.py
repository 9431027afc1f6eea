"""moby/buildkit frontend/dockerfile/dockerfile_args_test.go, ported."""

from bk import File, Suite, check, equal

suite = Suite("dockerfile_args_test.go")


@suite.test("testGlobalArg")
def _(t):
    t.context({"Dockerfile": "ARG tag=nosuchtag\nFROM busybox:${tag}\n"})
    t.build("--build-arg", "tag=latest")


@suite.test("testGlobalArgErrors")
def _(t):
    t.context({"Dockerfile": 'ARG FOO=${FOO:?"custom error"}\nFROM busybox\n'})
    t.build(error="FOO: custom error")
    t.build("--build-arg", "FOO=bar")


@suite.test("testArgDefaultExpansion")
def _(t):
    t.context({"Dockerfile": 'FROM scratch\nARG FOO\nARG BAR=${FOO:?"foo missing"}\n'})
    t.build(error="FOO: foo missing")
    t.build("--build-arg", "FOO=123")
    t.build("--build-arg", "BAR=123")


@suite.test("testMultiArgs")
def _(t):
    t.context({"Dockerfile": """
ARG a1="foo bar" a2=box
ARG a3="$a2-foo"
FROM busy$a2 AS build
ARG a3 a4="123 456" a1
RUN echo -n "$a1:$a3:$a4" > /out
FROM scratch
COPY --from=build /out .
"""})
    t.build(local=True)
    equal(t.read("out"), "foo bar:box-foo:123 456")


@suite.test("testQuotedMetaArgs")
def _(t):
    t.context({"Dockerfile": """
ARG a1="box"
ARG a2="$a1-foo"
FROM busy$a1 AS build
ARG a2
ARG a3="bar-$a2"
RUN echo -n $a3 > /out
FROM scratch
COPY --from=build /out .
"""})
    t.build(local=True)
    equal(t.read("out"), "bar-box-foo")


TARGET_STAGE = """
FROM busybox AS base
WORKDIR /out
RUN echo -n "value:$TARGETSTAGE" > /out/first
ARG TARGETSTAGE
RUN echo -n "value:$TARGETSTAGE" > /out/second
FROM scratch AS foo
COPY --from=base /out/ /
FROM scratch
COPY --from=base /out/ /
"""


@suite.test("testTargetStageNameArg")
def _(t):
    # FROM alpine in the Go test; nothing of alpine is used.
    t.context({"Dockerfile": TARGET_STAGE})
    t.build("--target", "foo", local=True)
    equal(t.read("first"), "value:")
    equal(t.read("second"), "value:foo")
    t.build(local=True)
    equal(t.read("first"), "value:")
    equal(t.read("second"), "value:default")
    t.context({"Dockerfile": TARGET_STAGE + "\n\tFROM scratch AS final\n\tCOPY --from=base /out/ /\n\t"})
    t.build(local=True)
    equal(t.read("first"), "value:")
    equal(t.read("second"), "value:final")


@suite.test("testBuiltinArgs")
def _(t):
    t.context({"Dockerfile": """
FROM busybox AS build
ARG FOO
ARG BAR
ARG BAZ=bazcontent
RUN echo -n $HTTP_PROXY::$NO_PROXY::$FOO::$BAR::$BAZ > /out
FROM scratch
COPY --from=build /out /
"""})
    t.build("--build-arg", "FOO=foocontents", "--build-arg", "http_proxy=hpvalue", "--build-arg",
            "NO_PROXY=npvalue", local=True)
    equal(t.read("out"), "hpvalue::npvalue::foocontents::::bazcontent")
    # repeat with changed default args should match the old cache
    t.build("--build-arg", "FOO=foocontents", "--build-arg", "http_proxy=hpvalue2", local=True)
    equal(t.read("out"), "hpvalue::npvalue::foocontents::::bazcontent")
    # changing actual value invalidates cache
    t.build("--build-arg", "FOO=foocontents2", "--build-arg", "http_proxy=hpvalue2", local=True)
    equal(t.read("out"), "hpvalue2::::foocontents2::::bazcontent")


@suite.test("testDefaultEnvWithArgs")
def _(t):
    t.context({"Dockerfile": """
ARG image=idlebox
FROM busy${image#idle} AS build
ARG my_arg
ENV my_arg "my_arg=${my_arg:-def_val}"
ENV my_trimmed_arg "${my_arg%%e*}"
COPY myscript.sh myscript.sh
RUN ./myscript.sh $my_arg $my_trimmed_arg
FROM scratch
COPY --from=build /out /out
""", "myscript.sh": File("\n#!/usr/bin/env sh\necho -n $my_arg $* > /out\n", 0o700)})
    for flags, expected in [((), "my_arg=def_val my_arg=def_val my_arg=d"),
                            (("--build-arg", "my_arg="), "my_arg=def_val my_arg=def_val my_arg=d"),
                            (("--build-arg", "my_arg=override"), "my_arg=override my_arg=override my_arg=ov")]:
        t.build(*flags, local=True)
        equal(t.read("out"), expected, " ".join(flags) or "no build args")


@suite.test("testEmptyStringArgInEnv")
def _(t):
    t.context({"Dockerfile": "FROM busybox AS build\nARG FOO\nARG BAR=\nRUN env > env.txt\n"
               "FROM scratch\nCOPY --from=build env.txt .\n"})
    t.build(local=True)
    env = t.read("env.txt")
    check("BAR=" in env, "BAR= must be in the environment")
    check("FOO=" not in env, "FOO must not be in the environment")


@suite.test("testEnvEmptyFormatting")
def _(t):
    t.context({"Dockerfile": "FROM busybox AS build\nENV myenv foo%sbar\nRUN [ \"$myenv\" = 'foo%sbar' ]\n"})
    t.build()


suite.run()
