"""moby/buildkit frontend/dockerfile/dockerfile_namedcontext_test.go,
translated: `--build-context NAME=VALUE` (the Go tests' frontend attribute
"context:NAME"). Alpine is an image the suite makes: the tests' busybox with
an /etc/alpine-release, tagged `alpine` in the store; where the Go test
pushes an image to a registry and names it, the store's tag is named; an
OCI layout is strata's OCI archive unpacked."""

import json
import os
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bk import Suite, check, equal  # noqa: E402

S = Suite("dockerfile_namedcontext_test.go")


def make_alpine(t):
    base = os.path.join(t.dir, "alpine")
    t.context({"Dockerfile": "FROM busybox\nRUN echo 3.20.0 > /etc/alpine-release\n"}, root=base)
    t.build(tag="alpine", context=base)


@S.test("testNamedImageContext")
def _(t):
    make_alpine(t)
    t.context({"Dockerfile": "\nFROM busybox AS base\nRUN cat /etc/alpine-release > /out\n"
                             "FROM scratch\nCOPY --from=base /out /\n"})
    # "Make sure image resolution works as expected, do not add a tag or locator."
    t.build("--build-context", "busybox=docker-image://alpine", local=True)
    check(len(t.read("out")) > 0, "/out from alpine")

    target = t.image_tag()
    envs = os.path.join(t.dir, "envs")
    t.context({"Dockerfile": "\nFROM alpine:latest\nENV PATH=/foobar:$PATH\nENV FOOBAR=foobar\n"},
              root=envs)
    t.build(tag=target, context=envs)
    t.context({"Dockerfile": """
FROM busybox AS base
RUN cat /etc/alpine-release > /out
RUN env | grep PATH > /env_path
RUN env | grep FOOBAR > /env_foobar
FROM scratch
COPY --from=base /out /
COPY --from=base /env_path /
COPY --from=base /env_foobar /
"""})
    t.build("--build-context", f"busybox=docker-image://{target}", local=True)
    check(len(t.read("out")) > 0, "/out")
    equal(t.read("env_foobar").strip(), "FOOBAR=foobar", "the image's ENV")
    check("/foobar:" in t.read("env_path"), t.read("env_path"))

    # A stage based on another stage, replaced (moby/buildkit#5578).
    t.context({"Dockerfile": """
FROM busybox AS parent
FROM parent AS base
RUN echo base > /out
FROM base
RUN [ -f /etc/alpine-release ]
RUN [ ! -f /out ]
"""})
    t.build("--build-context", f"base=docker-image://{target}")


S.skip("testNamedImageContextPlatform",
       "an image index of two platforms (--platform with a manifest list), which strata does not make yet")
S.skip("testNamedImageContextTimestamps",
       "compares image timestamps of an image pushed to a registry by BuildKit's exporter with rewrite options of its own")


@S.test("testNamedImageContextScratch")
def _(t):
    t.context({"Dockerfile": "\nFROM busybox AS build\nCOPY <<EOF /out\nhello world!\nEOF\n"})
    t.build("--build-context", "busybox=docker-image://scratch", local=True)
    equal(t.listdir(), ["out"], "the root: scratch and /out only")
    equal(t.read("out"), "hello world!\n", "/out")


@S.test("testNamedLocalContext")
def _(t):
    t.context({"Dockerfile": "\nFROM busybox AS base\nRUN cat /etc/alpine-release > /out\n"
                             "FROM scratch\nCOPY --from=base /o* /\n"})
    basedir = os.path.join(t.dir, "basedir")
    t.context({"out": "dummy-result", "out2": "dummy-result", ".dockerignore": "out2\n"},
              root=basedir)
    t.build("--build-context", f"base={basedir}", local=True)
    check(len(t.read("out")) > 0, "/out from the directory")
    check(not t.exists("out2"), "out2: excluded by the directory's .dockerignore")


def oci_layout(t, dockerfile, name):
    """An image built to an OCI archive, unpacked as a layout directory (as
    the Go test writes BuildKit's OCI export into a directory); returns the
    directory and the manifest digest its index names."""
    src = os.path.join(t.dir, name + "-src")
    t.context({"Dockerfile": dockerfile}, root=src)
    archive = os.path.join(t.dir, name + ".tar")
    t.build("--output", f"type=oci,dest={archive}", context=src)
    layout = os.path.join(t.dir, name)
    with tarfile.open(archive) as tar:
        tar.extractall(layout)
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    equal(len(index["manifests"]), 1, "manifests in the layout")
    return layout, index["manifests"][0]["digest"]


@S.test("testNamedOCILayoutContext")
def _(t):
    layout, digest = oci_layout(t, """
	FROM busybox:latest
	WORKDIR /test
	RUN sh -c "echo -n first > out"
	RUN sh -c "echo -n second > out2"
	ENV foo=bar
	""", "layout")
    t.context({"Dockerfile": """
FROM busybox AS base
RUN cat /etc/alpine-release > out
FROM foo AS imported
RUN echo -n $foo > outfoo
FROM scratch
COPY --from=base /test/o* /
COPY --from=imported /test/outfoo /
"""})
    t.build("--build-context", f"base=oci-layout://{layout}@{digest}",
            "--build-context", f"foo=oci-layout://{layout}@{digest}", local=True)
    equal(t.read("out"), "first", "/out: the layout's, not the stage's")
    equal(t.read("out2"), "second", "/out2")
    equal(t.read("outfoo"), "bar", "the layout image's ENV")


@S.test("testNamedOCILayoutContextExport")
def _(t):
    layout, digest = oci_layout(t, "\nFROM scratch\nWORKDIR /test\nENV foo=bar\n\t", "layout")
    t.context({"Dockerfile": "\nFROM nonexistent AS base\n"})
    out = os.path.join(t.dir, "out.tar")
    t.build("--build-context", f"nonexistent=oci-layout://{layout}@{digest}",
            "--output", f"type=oci,dest={out}")
    with tarfile.open(out) as tar:
        blob = lambda d: json.load(tar.extractfile("blobs/sha256/" + d.split(":")[1]))
        index = json.load(tar.extractfile("index.json"))
        equal(len(index["manifests"]), 1, "manifests")
        config = blob(blob(index["manifests"][0]["digest"])["config"]["digest"])
    equal(config["config"]["WorkingDir"], "/test", "WorkingDir")
    check("foo=bar" in config["config"]["Env"], f"Env {config['config']['Env']}")
S.skip("testNamedInputContext", "input: contexts, BuildKit's gateway API for frontends; no buildx flag reaches them")
S.skip("testNamedMultiplatformInputContext", "input: contexts of two platforms (BuildKit's gateway API)")
S.skip("testNamedFilteredContext",
       "measures the bytes BuildKit's file transfer sends for a context's used paths (its progress stream); strata reads the directory in place")
S.skip("testSourcePolicyWithNamedContext", "BuildKit's source policies (a policy file of its own), which strata does not have")


@S.test("testEagerNamedContextLookup")
def _(t):
    make_alpine(t)
    t.context({"Dockerfile": """
FROM broken AS notused

FROM alpine AS base
RUN echo "base" > /foo

FROM busybox AS otherstage

FROM scratch
COPY --from=base /foo /foo
"""})
    # Contexts of stages the target does not need are never fetched.
    t.build("--build-context", "notused=docker-image://docker.io/library/nosuchimage:latest",
            "--build-context", "busybox=docker-image://docker.io/library/dontexist:latest",
            local=True)
    equal(t.read("foo"), "base\n", "/foo")


if __name__ == "__main__":
    S.run()
