"""moby/buildkit frontend/dockerfile/dockerfile_export_test.go, ported."""

import io
import tarfile

from bk import File, Suite, check, equal, make_tar

suite = Suite("dockerfile_export_test.go")


def tar_members(data):
    """The tar's regular files by name, as testutil.ReadTarToMap reads them."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile()}


def build_tar(t):
    """Builds with --output type=tar and returns the tar's files."""
    out = t.dir + "/out.tar"
    t.build("--output", f"type=tar,dest={out}")
    with open(out, "rb") as f:
        return tar_members(f.read())


@suite.test("testTarExporterBasic")
def _(t):
    t.context({"Dockerfile": "\nFROM scratch\nCOPY foo foo\n", "foo": File("data", 0o600)})
    m = build_tar(t)
    check("foo" in m, f"no foo in the tar: {sorted(m)}")
    equal(m["foo"], "data", "foo")
    # -o - : the same tar on standard output, and nothing else there.
    r = t.strata("build", "--progress", "quiet", "-o", "-", t.ctx, stdin=b"")
    check(r.code == 0, f"build -o -: {r.stderr}")
    equal(tar_members(r.stdout), {"foo": "data"}, "the tar on stdout")


@suite.test("testTarExporterMulti")
def _(t):
    # Its first half (one platform); the second builds linux/amd64 and
    # darwin/amd64 at once, a later issue (several platforms).
    t.context({"Dockerfile": """
FROM scratch AS stage-linux
COPY foo forlinux

FROM scratch AS stage-darwin
COPY bar fordarwin

FROM stage-$TARGETOS
""", "foo": File("data", 0o600), "bar": File("data2", 0o600)})
    m = build_tar(t)
    check("forlinux" in m, f"no forlinux in the tar: {sorted(m)}")
    equal(m["forlinux"], "data", "forlinux")


suite.skip("testExportMultiPlatform", "builds three platforms in one build (a later issue: several platforms)")


@suite.test("testTarContext")
def _(t):
    dockerfile = "\nFROM scratch\nCOPY foo /"
    ctx = make_tar([("Dockerfile", dockerfile), ("foo", "contents")])
    t.build(context="-", stdin=ctx)
    # The same context gzip-compressed, and a Dockerfile (not a tar) on
    # stdin with an empty context, as docker reads `-`.
    t.build(context="-", stdin=make_tar([("Dockerfile", dockerfile), ("foo", "contents")], gzip=True))
    t.build(context="-", stdin="FROM scratch\nENV a=b\n")
    t.build(context="-", stdin=dockerfile, error='"/foo": not found')


@suite.test("testTarContextExternalDockerfile")
def _(t):
    # The Go test takes the context from sub/dir of the tar (the frontend's
    # contextsubdir, which buildx sets only for git and URL contexts); here
    # the tar holds foo at its root, the Dockerfile comes from -f.
    df = t.context({"Dockerfile": "\nFROM scratch\nCOPY foo bar\n"})
    t.build("-f", df + "/Dockerfile", local=True, context="-", stdin=make_tar([("foo", "contents")]))
    equal(t.read("bar"), "contents", "bar")


if __name__ == "__main__":
    suite.run()
