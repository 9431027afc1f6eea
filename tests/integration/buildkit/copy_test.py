"""moby/buildkit frontend/dockerfile/dockerfile_copy_test.go, ported."""

import stat

from bk import Dir, File, Socket, Suite, Symlink, equal, check

suite = Suite("dockerfile_copy_test.go")


@suite.test("testDockerfileCopyFromArgs")
def _(t):
    t.context({"Dockerfile": "FROM scratch\nCOPY --from=$FOO . .\n"})
    t.build(error="variable expansion is not supported for --from, define a new stage with FROM using "
            "ARG from global scope as a workaround")


@suite.test("testEmptyDestDir")
def _(t):
    t.context({"Dockerfile": 'FROM busybox\nENV empty=""\nCOPY testfile $empty\n'
               'RUN [ "$(cat testfile)" == "contents0" ]\n', "testfile": "contents0"})
    t.build()


@suite.test("testPreserveDestDirSlash")
def _(t):
    t.context({"Dockerfile": 'FROM busybox\nCOPY testfile /sample/\n'
               'RUN [ "$(cat /sample/testfile)" == "contents0" ]\n', "testfile": "contents0"})
    t.build()


@suite.test("testCopyLinkDotDestDir")
def _(t):
    t.context({"Dockerfile": 'FROM busybox\nWORKDIR /var/www\nCOPY --link testfile .\n'
               'RUN [ "$(cat testfile)" == "contents0" ]\n', "testfile": "contents0"})
    t.build()


@suite.test("testCopyLinkEmptyDestDir")
def _(t):
    t.context({"Dockerfile": 'FROM busybox\nWORKDIR /var/www\nENV empty=""\nCOPY --link testfile $empty\n'
               'RUN [ "$(cat testfile)" == "contents0" ]\n', "testfile": "contents0"})
    t.build()


def ownership_checks(pairs):
    """The Go test's RUN line: each path's uid:gid must be as expected."""
    lines = []
    for expected, path in pairs:
        lines.append(f'e="{expected}"; p="{path}"; a=`stat -c "%u:%g" "$p"`; '
                     f'if [ "$a" != "$e" ]; then echo "incorrect ownership on $p. expected $e, got $a"; exit 1; fi')
    return "RUN " + " \\\n && ".join(lines) + "\n"


@suite.test("testCopyChownExistingDir")
def _(t):
    existing = [("500:600", "/existingdir"), ("501:601", "/existingdir/existingsubdir"),
                ("501:601", "/existingdir/existingfile")]
    dockerfile = """
FROM busybox AS source
RUN touch /file && chown 100:200 /file \\
 && mkdir -p /dir/subdir \\
 && touch /dir/subdir/nestedfile \\
 && chown 100:200 /dir \\
 && chown 101:201 /dir/subdir \\
 && chown 102:202 /dir/subdir/nestedfile

FROM busybox AS test_base
RUN mkdir -p /existingdir/existingsubdir \\
 && touch /existingdir/existingfile \\
 && chown 500:600 /existingdir \\
 && chown 501:601 /existingdir/existingsubdir \\
 && chown 501:601 /existingdir/existingfile

FROM test_base AS copy_from
COPY --from=source /file .
COPY --from=source /dir /dir
COPY --from=source /dir/. /existingdir
""" + ownership_checks([("100:200", "/file"), ("0:0", "/dir"), ("101:201", "/dir/subdir"),
                        ("102:202", "/dir/subdir/nestedfile"), *existing,
                        ("101:201", "/existingdir/subdir"), ("102:202", "/existingdir/subdir/nestedfile")]) + """
FROM test_base AS copy_from_chowned
COPY --from=source --chown=300:400 /file .
COPY --from=source --chown=300:400 /dir /dir
COPY --from=source --chown=300:400 /dir/. /existingdir
""" + ownership_checks([("300:400", "/file"), ("300:400", "/dir"), ("300:400", "/dir/subdir"),
                        ("300:400", "/dir/subdir/nestedfile"), *existing,
                        ("300:400", "/existingdir/subdir"), ("300:400", "/existingdir/subdir/nestedfile")])
    t.context({"Dockerfile.web": dockerfile, "Dockerfile": Symlink("Dockerfile.web")})
    t.build("--target", "copy_from")
    t.build("--target", "copy_from_chowned")


@suite.test("testCopyWildcardCache")
def _(t):
    t.context({"Dockerfile": """
FROM busybox AS base
COPY foo* files/
RUN cat /dev/urandom | head -c 100 | sha256sum > unique
COPY bar files/
FROM scratch
COPY --from=base unique /
""", "foo1": "foo1-data", "foo2": "foo2-data", "bar": "bar-data"})
    t.build(local=True)
    first = t.read("unique")
    t.context({"bar": "bar-data-mod"})
    t.build(local=True)
    equal(t.read("unique"), first, "a change to bar only")
    t.context({"foo2": "foo2-data-mod"})
    t.build(local=True)
    check(t.read("unique") != first, "a change to foo2 must re-run the RUN")


@suite.test("testEmptyWildcard")
def _(t):
    t.context({"Dockerfile": "FROM scratch\nCOPY foo nomatch* /\n", "foo": "contents0"})
    t.build(local=True)
    equal(t.read("foo"), "contents0")


@suite.test("testCopyChownCreateDest")
def _(t):
    t.context({"Dockerfile": """
FROM busybox
ARG group
ENV owner user01
RUN adduser -D user
RUN adduser -D user01
COPY --chown=user:user . /dest
COPY --chown=${owner}:${group} . /dest01
RUN [ "$(stat -c "%U %G" /dest)" == "user user" ]
RUN [ "$(stat -c "%U %G" /dest01)" == "user01 user" ]
"""})
    t.build("--build-arg", "group=user")


@suite.test("testCopyThroughSymlinkContext")
def _(t):
    t.context({"Dockerfile": "FROM scratch\nCOPY link/foo .\n", "link": Symlink("sub"), "sub": Dir(0o700),
               "sub/foo": "contents"})
    t.build(local=True)
    equal(t.read("foo"), "contents")


@suite.test("testCopyThroughSymlinkMultiStage")
def _(t):
    t.context({"Dockerfile": """
FROM busybox AS build
RUN mkdir -p /out/sub && ln -s /out/sub /sub && ln -s out/sub /sub2 && echo -n "data" > /sub/foo
FROM scratch
COPY --from=build /sub/foo .
COPY --from=build /sub2/foo bar
"""})
    t.build(local=True)
    equal(t.read("foo"), "data")


@suite.test("testCopySocket")
def _(t):
    t.context({"Dockerfile": "FROM scratch\nCOPY . /\n", "socket.sock": Socket()})
    t.build(local=True)
    check(stat.S_ISREG(t.stat("socket.sock").st_mode), "the socket must become a regular file")


@suite.test("testCopyFollowAllSymlinks")
def _(t):
    t.context({"Dockerfile": "FROM scratch\nCOPY foo /\nCOPY foo/sub bar\n", "bar": "bar-contents",
               "foo": Dir(0o700), "foo/sub": Symlink("../bar")})
    t.build()


@suite.test("testCopySymlinks")
def _(t):
    t.context({"Dockerfile": "FROM scratch\nCOPY foo /\nCOPY sub/l* alllinks/\n", "bar": "bar-contents",
               "foo": Symlink("bar"), "sub": Dir(0o700), "sub/lfile": "lfile-contents",
               "sub/l0": Symlink("subfile"), "sub/subfile": "subfile-contents", "sub/l1": Symlink("second"),
               "sub/second": Symlink("baz"), "sub/baz": "baz-contents"})
    t.build(local=True)
    equal(t.read("foo"), "bar-contents")
    equal(t.read("alllinks/l0"), "subfile-contents")
    equal(t.read("alllinks/lfile"), "lfile-contents")
    equal(t.read("alllinks/l1"), "baz-contents")


@suite.test("testCopyChown")
def _(t):
    t.context({"Dockerfile": """
FROM busybox AS base
ENV owner 1000
RUN mkdir -m 0777 /out
COPY --chown=daemon foo /
COPY --chown=1000:nobody bar /baz
ARG group
COPY --chown=${owner}:${group} foo /foobis
RUN stat -c "%U %G" /foo  > /out/fooowner
RUN stat -c "%u %G" /baz/sub  > /out/subowner
RUN stat -c "%u %G" /foobis  > /out/foobisowner
FROM scratch
COPY --from=base /out /
""", "foo": "foo-contents", "bar": Dir(0o700), "bar/sub": ""})
    t.build("--build-arg", "group=nobody", local=True)
    equal(t.read("fooowner"), "daemon daemon\n")
    equal(t.read("subowner"), "1000 nobody\n")
    equal(t.read("foobisowner"), "1000 nobody\n")


@suite.test("testCopyChmod")
def _(t):
    t.context({"Dockerfile": """
FROM busybox AS base

RUN mkdir -m 0777 /out
COPY --chmod=0644 foo /
COPY --chmod=777 bar /baz
COPY --chmod=0 foo /foobis
COPY --chmod=777 foo /parent/foo
COPY --chmod=770 foo /parent/sub/foo

ARG mode
COPY --chmod=${mode} foo /footer

RUN stat -c "%04a" /foo  > /out/fooperm
RUN stat -c "%04a" /baz  > /out/barperm
RUN stat -c "%04a" /foobis  > /out/foobisperm
RUN stat -c "%04a" /parent  > /out/parentperm
RUN stat -c "%04a" /parent/sub  > /out/subparentperm
RUN stat -c "%04a" /footer  > /out/footerperm
FROM scratch
COPY --from=base /out /
""", "foo": "foo-contents", "bar": File("bar-contents", 0o700)})
    t.build("--build-arg", "mode=755", local=True)
    equal(t.read("fooperm"), "0644\n")
    equal(t.read("barperm"), "0777\n")
    equal(t.read("foobisperm"), "0000\n")
    equal(t.read("parentperm"), "0777\n")
    equal(t.read("subparentperm"), "0770\n")
    equal(t.read("footerperm"), "0755\n")


@suite.test("testCopyInvalidChmod")
def _(t):
    t.context({"Dockerfile": "FROM scratch\nCOPY --chmod=64a foo /\n", "foo": "foo-contents"})
    t.build(error="invalid chmod parameter: '64a'. it should be octal string and between 0 and 07777")
    t.context({"Dockerfile": "FROM scratch\nCOPY --chmod=10000 foo /\n"})
    t.build(error="invalid chmod parameter: '10000'. it should be octal string and between 0 and 07777")


@suite.test("testCopyOverrideFiles")
def _(t):
    t.context({"Dockerfile": """
FROM scratch AS base
COPY sub sub
COPY sub sub
COPY files/foo.go dest/foo.go
COPY files/foo.go dest/foo.go
COPY files dest
""", "sub": Dir(0o700), "sub/dir1": Dir(0o700), "sub/dir1/dir2": Dir(0o700), "sub/dir1/dir2/foo": "foo-contents",
               "files": Dir(0o700), "files/foo.go": "foo.go-contents"})
    t.build(local=True)
    equal(t.read("sub/dir1/dir2/foo"), "foo-contents")
    equal(t.read("dest/foo.go"), "foo.go-contents")


@suite.test("testCopyVarSubstitution")
def _(t):
    t.context({"Dockerfile": "FROM scratch AS base\nENV FOO bar\nCOPY $FOO baz\n", "bar": "bar-contents"})
    t.build(local=True)
    equal(t.read("baz"), "bar-contents")


@suite.test("testCopyWildcards")
def _(t):
    t.context({"Dockerfile": """
FROM scratch AS base
COPY *.go /gofiles/
COPY f*.go foo2.go
COPY sub/* /subdest/
COPY sub/*/dir2/foo /subdest2/
COPY sub/*/dir2/foo /subdest3/bar
COPY . all/
COPY sub/dir1/ subdest4
COPY sub/dir1/. subdest5
COPY sub/dir1 subdest6
""", "foo.go": "foo-contents", "bar.go": "bar-contents", "sub": Dir(0o700), "sub/dir1": Dir(0o700),
               "sub/dir1/dir2": Dir(0o700), "sub/dir1/dir2/foo": "foo-contents"})
    t.build(local=True)
    for path, want in [("gofiles/foo.go", "foo-contents"), ("gofiles/bar.go", "bar-contents"),
                       ("foo2.go", "foo-contents"), ("subdest/dir2/foo", "foo-contents"),
                       ("subdest2/foo", "foo-contents"), ("subdest3/bar", "foo-contents"),
                       ("all/foo.go", "foo-contents"), ("subdest4/dir2/foo", "foo-contents"),
                       ("subdest5/dir2/foo", "foo-contents"), ("subdest6/dir2/foo", "foo-contents")]:
        equal(t.read(path), want, path)


@suite.test("testCopyRelative")
def _(t):
    t.context({"Dockerfile": """
FROM busybox
WORKDIR /test1
WORKDIR test2
RUN sh -c "[ "$PWD" = '/test1/test2' ]"
COPY foo ./
RUN sh -c "[ $(cat /test1/test2/foo) = 'hello' ]"
ADD foo ./bar/baz
RUN sh -c "[ $(cat /test1/test2/bar/baz) = 'hello' ]"
COPY foo ./bar/baz2
RUN sh -c "[ $(cat /test1/test2/bar/baz2) = 'hello' ]"
WORKDIR ..
COPY foo ./
RUN sh -c "[ $(cat /test1/foo) = 'hello' ]"
COPY foo /test3/
RUN sh -c "[ $(cat /test3/foo) = 'hello' ]"
WORKDIR /test4
COPY . .
RUN sh -c "[ $(cat /test4/foo) = 'hello' ]"
WORKDIR /test5/test6
COPY foo ../
RUN sh -c "[ $(cat /test5/foo) = 'hello' ]"
""", "foo": "hello"})
    t.build()


@suite.test("testCopyUnicodePath")
def _(t):
    # FROM alpine in the Go test; nothing of alpine is used.
    t.context({"Dockerfile": "FROM busybox\nCOPY test-äöü.txt /\nCOPY test-%C3%A4%C3%B6%C3%BC.txt /\n"
               "COPY test+aou.txt /\n", "test-äöü.txt": File("foo"), "test-%C3%A4%C3%B6%C3%BC.txt": File("bar"),
               "test+aou.txt": File("baz")})
    t.build(local=True)
    equal(t.read("test-äöü.txt"), "foo")
    equal(t.read("test-%C3%A4%C3%B6%C3%BC.txt"), "bar")
    equal(t.read("test+aou.txt"), "baz")


@suite.test("testChmodNonOctal")
def _(t):
    cases = [("file", "f1", "go-w", False), ("file", "f2", "u=rw,g=r,o=r", False), ("file", "f3", "a+X", False),
             ("dir", "d1", "go-w", True), ("dir", "d2", "u+rw,g+r,o-x,o+w", True), ("dir", "d3", "a+X", True)]
    expected, copies, verify = "", "", ""
    for src, dst, mode, is_dir in cases:
        if is_dir:
            expected += f"RUN mkdir -p /input/dirs/{dst} && cp -a /input/{src} /input/dirs/{dst}/{dst}\n"
            expected += f"RUN cp -a /input/dirs/{dst}/. /expected/ && chmod {mode} /expected/{dst}\n"
            copies += f"COPY --from=base --chmod={mode} /input/dirs/{dst} /\n"
        else:
            expected += f"RUN cp -a /input/{src} /expected/{dst} && chmod {mode} /expected/{dst}\n"
            copies += f"COPY --from=base --chmod={mode} /input/{src} /{dst}\n"
        verify += f'RUN [ "$(stat -c %A /actual/{dst})" = "$(stat -c %A /expected/{dst})" ]\n'
    # FROM alpine in the Go test; busybox has every tool it uses.
    t.context({"Dockerfile": f"""
FROM busybox as base
RUN <<eot
	set -ex
	mkdir /input
	touch /input/file
	chmod 666 /input/file
	mkdir /input/dir
	chmod 124 /input/dir
	mkdir /expected
eot
{expected}

FROM scratch as result
{copies}

FROM base
COPY --from=result / /actual/
{verify}
"""})
    t.build()


suite.skip("testLocalCustomSessionID", "BuildKit session ids for local sources; its named context "
           "(context:base=local:DIR) is testNamedContext* in the named-context file")

suite.run()
