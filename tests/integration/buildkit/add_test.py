"""moby/buildkit frontend/dockerfile/dockerfile_add_test.go, ported."""

import hashlib
import os
import tarfile
import time

from bk import HTTPServer, Response, Suite, check, equal, make_tar

suite = Suite("dockerfile_add_test.go")


@suite.test("testDockerfileADDFromURL")
def _(t):
    mod_time = int(time.time()) - 24 * 3600
    with HTTPServer({"/foo": Response("content1", etag="etag-foo"),
                     "/": Response("content2", etag="etag-root", last_modified=mod_time)}) as server:
        t.context({"Dockerfile": f"FROM scratch\nADD {server.url}/foo /dest/\n"})
        t.build(local=True)
        equal(t.read("dest/foo"), "content1")
        t.build()  # again: the server is asked whether the file changed
        t.context({"Dockerfile": f"FROM scratch\nADD {server.url}/ /dest/\n"})
        t.build(local=True)
        equal(t.read("dest/__unnamed__"), "content2")
        equal(int(t.stat("dest/__unnamed__").st_mtime), mod_time, "mtime from Last-Modified")
        requests = server.requests["/foo"]
        equal([method for method, _ in requests], ["GET", "HEAD"], "requests for /foo")
        for _, headers in requests:
            # BuildKit sends buildkit/vX; strata names itself.
            check("strata/" in headers.get("User-Agent", ""), f"User-Agent: {headers.get('User-Agent')}")


@suite.test("testDockerfileAddArchive")
def _(t):
    plain = make_tar([("foo", "content0")])
    gz = make_tar([("foo", "content0")], gzip=True)
    t.context({"Dockerfile": "FROM scratch\nADD t.tar /\n", "t.tar": plain})
    t.build(local=True)
    equal(t.read("foo"), "content0")
    t.context({"Dockerfile": "FROM scratch\nADD t.tar.gz /\n", "t.tar.gz": gz})
    t.build(local=True)
    equal(t.read("foo"), "content0")
    t.context({"Dockerfile": "\n\tFROM scratch\n\tADD --unpack=false t.tar.gz /\n\t"})
    t.build(local=True)
    check(not t.exists("foo"), "--unpack=false must not unpack")
    check(open(t.path("t.tar.gz"), "rb").read() == gz, "t.tar.gz copied as it is")
    t.context({"Dockerfile": "FROM scratch\nCOPY t.tar.gz /\n"})
    t.build(local=True)
    check(open(t.path("t.tar.gz"), "rb").read() == gz, "COPY does not unpack")
    with HTTPServer({"/t.tar.gz": Response(gz, etag="etag-t")}) as server:
        t.context({"Dockerfile": f"FROM scratch\nADD {server.url}/t.tar.gz /\n"})
        t.build(local=True)
        check(open(t.path("t.tar.gz"), "rb").read() == gz, "ADD of a URL does not unpack")
        t.context({"Dockerfile": f"FROM scratch\nADD --unpack=true {server.url}/t.tar.gz /dest/\n"})
        t.build(local=True)
        equal(t.read("dest/foo"), "content0")
        t.context({"Dockerfile": f"FROM scratch\nADD {server.url}/t.tar.gz /newname.tar.gz\n"})
        t.build(local=True)
        check(open(t.path("newname.tar.gz"), "rb").read() == gz, "ADD URL /newname.tar.gz is that file")


@suite.test("testDockerfileAddArchiveWithImpliedParentDir")
def _(t):
    gz = make_tar([("etc/dnf/", tarfile.DIRTYPE, {"mode": 0o755}), ("etc/dnf/dnf.conf", "content0")], gzip=True)
    t.context({"Dockerfile": "FROM scratch\nADD t.tar.gz /\n", "t.tar.gz": gz})
    t.build(local=True)
    equal(t.read("etc/dnf/dnf.conf"), "content0")


@suite.test("testDockerfileAddArchiveThroughAbsoluteSymlink")
def _(t):
    rootfs = make_tar([("run/", tarfile.DIRTYPE, {}), ("var/", tarfile.DIRTYPE, {}),
                       ("var/run", tarfile.SYMTYPE, {"linkname": "/run", "mode": 0o777})])
    head = "ref: refs/heads/main\n"
    payload = make_tar([("var/run/act/", tarfile.DIRTYPE, {}), ("var/run/act/actions/", tarfile.DIRTYPE, {}),
                        ("var/run/act/actions/broad/", tarfile.DIRTYPE, {}),
                        ("var/run/act/actions/broad/.git/", tarfile.DIRTYPE, {}),
                        ("var/run/act/actions/broad/.git/HEAD", head),
                        ("var/run/act/actions/broad/.git/HEAD.link", tarfile.LNKTYPE,
                         {"linkname": "var/run/act/actions/broad/.git/HEAD"})])
    t.context({"Dockerfile": "FROM scratch\nADD rootfs.tar /\nADD payload.tar /\n", "rootfs.tar": rootfs,
               "payload.tar": payload})
    t.build(local=True)
    equal(t.read("run/act/actions/broad/.git/HEAD"), head)
    equal(t.read("run/act/actions/broad/.git/HEAD.link"), head)
    a = os.stat(t.path("run/act/actions/broad/.git/HEAD"))
    b = os.stat(t.path("run/act/actions/broad/.git/HEAD.link"))
    check((a.st_dev, a.st_ino) == (b.st_dev, b.st_ino), "HEAD.link must be a hard link to HEAD")


@suite.test("testDockerfileAddChownArchive")
def _(t):
    # The Go test exports a tar and reads its headers; the local export
    # keeps owners, so the same fields are read from it.
    t.context({"Dockerfile": "FROM scratch\nADD --chown=100:200 t.tar /out/\n",
               "t.tar": make_tar([("foo", "content0")])})
    t.build(local=True)
    equal(t.read("out/foo"), "content0")
    equal(t.owner("out/foo"), (100, 200), "out/foo")
    equal(t.owner("out"), (100, 200), "out/")


suite.dockerfile_case(
    "testDockerfileAddArchiveWildcard", "FROM scratch\nADD *.tar /dest\n",
    files={"dest/foo": "content0", "dest/bar": "content1"},
    context={"t.tar": make_tar([("foo", "content0")]), "b.tar": make_tar([("bar", "content1")])})


@suite.test("testDockerfileAddChownExpand")
def _(t):
    t.context({"Dockerfile": 'FROM busybox\nARG group\nENV owner 1000\nADD --chown=${owner}:${group} foo /\n'
               'RUN [ "$(stat -c "%u %G" /foo)" == "1000 nobody" ]\n', "foo": "foo-contents"})
    t.build("--build-arg", "group=nobody")


@suite.test("testAddURLChmod")
def _(t):
    with HTTPServer({"/foo": Response("content1", etag="etag-foo")}) as server:
        url = server.url + "/foo"
        t.context({"Dockerfile": f"""
FROM busybox AS build
ADD --chmod=644 {url} /tmp/foo1
ADD --chmod=755 {url} /tmp/foo2
ADD --chmod=0413 {url} /tmp/foo3
ARG mode
ADD --chmod=${{mode}} {url} /tmp/foo4
RUN stat -c "%04a" /tmp/foo1 >> /dest && \\
	stat -c "%04a" /tmp/foo2 >> /dest && \\
	stat -c "%04a" /tmp/foo3 >> /dest && \\
	stat -c "%04a" /tmp/foo4 >> /dest
FROM scratch
COPY --from=build /dest /dest
"""})
        t.build("--build-arg", "mode=400", local=True)
        equal(t.read("dest"), "0644\n0755\n0413\n0400\n")


@suite.test("testAddInvalidChmod")
def _(t):
    t.context({"Dockerfile": "FROM scratch\nADD --chmod=64a foo /\n", "foo": "foo-contents"})
    t.build(error="invalid chmod parameter: '64a'. it should be octal string and between 0 and 07777")
    t.context({"Dockerfile": "FROM scratch\nADD --chmod=10000 foo /\n"})
    t.build(error="invalid chmod parameter: '10000'. it should be octal string and between 0 and 07777")


@suite.test("testAddChecksum")
def _(t):
    content = b"content1"
    sha = "sha256:" + hashlib.sha256(content).hexdigest()
    with HTTPServer({"/foo": Response(content, etag="etag-foo")}) as server:
        url = server.url + "/foo"
        # Valid
        t.context({"Dockerfile": f"FROM scratch\nADD --checksum={sha} {url} /tmp/foo\n"})
        t.build()
        # DigestFromEnv
        t.context({"Dockerfile": f"FROM scratch\nENV DIGEST={sha}\nENV LINK={url}\n"
                   "ADD --checksum=${DIGEST} ${LINK} /tmp/foo\n"})
        t.build()
        # DigestMismatch
        empty = "sha256:" + hashlib.sha256(b"").hexdigest()
        t.context({"Dockerfile": f"FROM scratch\nADD --checksum={empty} {url} /tmp/foo\n"})
        t.build(error="")
        # DigestWithKnownButUnsupportedAlgoName
        t.context({"Dockerfile": f"FROM scratch\nADD --checksum=md5:7e55db001d319a94b0b713529a756623 {url} /tmp/foo\n"})
        t.build(error="unsupported digest algorithm")
        # DigestWithUnknownAlgoName
        t.context({"Dockerfile": f"FROM scratch\nADD --checksum=unknown:{sha[7:]} {url} /tmp/foo\n"})
        t.build(error="unsupported digest algorithm")
        # DigestWithoutAlgoName
        t.context({"Dockerfile": f"FROM scratch\nADD --checksum={sha[7:]} {url} /tmp/foo\n"})
        t.build(error="invalid checksum digest format")
        # NonHTTPSource
        local = b"local file"
        t.context({"foo": local, "Dockerfile": "FROM scratch\nADD --checksum=sha256:"
                   f"{hashlib.sha256(local).hexdigest()} foo /tmp/foo\n"})
        t.build(error="checksum requires HTTP(S) or Git sources")


suite.run()
