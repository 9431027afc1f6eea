"""moby/buildkit frontend/dockerfile/dockerfile_mount_test.go, ported.

The Dockerfiles are the Go tests' own (their Linux variants), byte for byte;
FROM alpine becomes FROM busybox where nothing of alpine is used.
"""

from bk import Suite, check, equal

suite = Suite("dockerfile_mount_test.go")


@suite.test("testMountContext")
def _(t):
    t.context({"Dockerfile": '\nFROM busybox\nRUN --mount=target=/context [ "$(cat /context/testfile)" == "contents0" ]\n', "testfile": "contents0"})
    t.build()


@suite.test("testMountTmpfs")
def _(t):
    t.context({"Dockerfile": '\nFROM busybox\nRUN --mount=target=/mytmp,type=tmpfs touch /mytmp/foo\nRUN [ ! -f /mytmp/foo ]\n'})
    t.build()


@suite.test("testMountInvalid")
def _(t):
    t.context({"Dockerfile": '\nFROM scratch\nRUN --mont=target=/mytmp,type=tmpfs /bin/true\n'})
    r = t.build(error="unknown flag: --mont")
    check("did you mean mount?" in r.stderr, r.stderr)
    t.context({"Dockerfile": '\n\tFROM scratch\n\tRUN --mount=typ=tmpfs /bin/true\n\t'})
    r = t.build(error="unexpected key 'typ'")
    check("did you mean type?" in r.stderr, r.stderr)
    t.context({"Dockerfile": '\n\tFROM scratch\n\tRUN --mount=type=tmp /bin/true\n\t'})
    r = t.build(error='unsupported mount type "tmp"')
    check("did you mean tmpfs?" in r.stderr, r.stderr)


@suite.test("testMountRWCache")
def _(t):
    t.context({"Dockerfile": '\nfrom busybox AS build\ncopy cachebust /\nrun mkdir out && echo foo > out/foo\n\nfrom busybox as second\nRUN --mount=from=build,src=out,target=/out,rw touch /out/bar && cat /dev/urandom | head -c 100 | sha256sum > /unique\n\nfrom scratch\nCOPY --from=second /unique /unique\n', "cachebust": "0"})
    t.build(local=True)
    first = t.read("unique")
    # repeat with changed file that should be still cached by content
    t.context({"cachebust": "1"})
    t.build(local=True)
    equal(t.read("unique"), first, "the RUN whose mount has the same content")


@suite.test("testCacheMountUser")
def _(t):
    t.context({"Dockerfile": '\nFROM busybox\nRUN --mount=type=cache,target=/mycache,uid=1001,gid=1002,mode=0751 [ "$(stat -c "%u %g %f" /mycache)" == "1001 1002 41e9" ]\n'})
    t.build()


DOCKERFILES = {
    "testCacheMountDefaultID": '\nFROM busybox\nRUN --mount=type=cache,target=/mycache touch /mycache/foo\nRUN --mount=type=cache,target=/mycache2 [ ! -f /mycache2/foo ]\nRUN --mount=type=cache,target=/mycache [ -f /mycache/foo ]\n',
    "testMountEnvVar": '\nFROM busybox\nENV SOME_PATH=/mycache\nRUN --mount=type=cache,target=/mycache touch /mycache/foo\nRUN --mount=type=cache,target=$SOME_PATH [ -f $SOME_PATH/foo ]\n',
    "testMountArg": '\nFROM busybox\nARG MNT_TYPE=cache\nRUN --mount=type=$MNT_TYPE,target=/mycache2 touch /mycache2/foo\nRUN --mount=type=cache,target=/mycache2 [ -f /mycache2/foo ]\n',
    "testMountEnvAcrossStages": '\nFROM busybox as stage1\n\nENV MNT_ID=mycache\nENV MNT_TYPE2=cache\nRUN --mount=type=cache,id=mycache,target=/abcabc touch /abcabc/foo\nRUN --mount=type=$MNT_TYPE2,id=$MNT_ID,target=/cbacba [ -f /cbacba/foo ]\n\nFROM stage1\nRUN --mount=type=$MNT_TYPE2,id=$MNT_ID,target=/whatever [ -f /whatever/foo ]\n',
    "testMountMetaArg": '\nARG META_PATH=/tmp/meta\n\nFROM busybox\nARG META_PATH\nRUN --mount=type=cache,id=mycache,target=/tmp/meta touch /tmp/meta/foo\nRUN --mount=type=cache,id=mycache,target=$META_PATH [ -f /tmp/meta/foo ]\n',
}


for case_name, dockerfile in DOCKERFILES.items():
    suite.dockerfile_case(case_name, dockerfile)


@suite.test("testMountFromError")
def _(t):
    t.context({"Dockerfile": '\nFROM busybox as test\nRUN touch /tmp/test\n\nFROM busybox\nENV ttt=test\nRUN --mount=from=$ttt,type=cache,target=/tmp ls\n'})
    t.build(error="'from' doesn't support variable expansion, define alias stage instead")


@suite.test("testMountTmpfsSize")
def _(t):
    t.context({"Dockerfile": '\nFROM busybox AS base\nRUN --mount=type=tmpfs,target=/dev/shm,size=128m mount | grep /dev/shm > /tmpfssize\nFROM scratch\nCOPY --from=base /tmpfssize /\n'})
    t.build(local=True)
    check("size=131072k" in t.read("tmpfssize"), t.read("tmpfssize"))


@suite.test("testMountDuplicate")
def _(t):
    for text in ["foo\n", "updated\n"]:
        t.context({"Dockerfile": '\nFROM busybox AS base\nRUN --mount=source=.,target=/tmp/test \\\n  --mount=source=b.txt,target=/tmp/b.txt \\\n  cat /tmp/test/a.txt /tmp/b.txt > /combined.txt\nFROM scratch\nCOPY --from=base /combined.txt /\n', "a.txt": text, "b.txt": "bar\n"})
        t.build(local=True)
        equal(t.read("combined.txt"), text + "bar\n")


@suite.test("testCacheMountParallel")
def _(t):
    t.context({"Dockerfile": '\nFROM busybox AS b1\nRUN --mount=type=cache,target=/foo/bar --mount=type=cache,target=/foo/bar/baz echo 1\n\nFROM busybox AS b2\nRUN --mount=type=cache,target=/foo/bar --mount=type=cache,target=/foo/bar/baz echo 2\n\nFROM scratch\nCOPY --from=b1 /etc/passwd p1\nCOPY --from=b2 /etc/passwd p2\n'})
    for _ in range(20):
        t.build("--no-cache")


@suite.test("testCacheMountSourceEscape")
def _(t):
    t.context({"Dockerfile": '\nFROM busybox AS init\nRUN --mount=type=cache,id=sourceescape,target=/cache mkdir -p /cache/sel && echo benign > /cache/sel/benign.txt\n\nFROM init AS link\nRUN --mount=type=cache,id=sourceescape,target=/cache rm -rf /cache/sel && ln -s /etc /cache/sel\n\nFROM link AS victim\nRUN --mount=type=cache,id=sourceescape,source=sel,target=/victim cat /victim/hostname\n\nFROM scratch\nCOPY --from=victim /etc/hostname /hostname\n'})
    t.build("--no-cache", error="")


suite.run()
