"""moby/buildkit frontend/dockerfile/dockerfile_core_test.go, ported."""

import shutil

from bk import Dir, Suite, Symlink, check, equal, make_tar

suite = Suite("dockerfile_core_test.go")

DIRS = """
FROM busybox
COPY foo /foo2
COPY foo /
RUN echo -n bar > foo3
RUN test -f foo
RUN cmp -s foo foo2
RUN cmp -s foo foo3
"""


@suite.test("testDockerfileDirs")
def _(t):
    t.context({"Dockerfile": DIRS, "foo": "bar"})
    t.build()
    # relative paths
    r = t.strata("build", "--progress", "plain", "-f", "Dockerfile", ".", cwd=t.ctx)
    check(r.code == 0, f"build with relative paths: {r.stderr}")
    # different context and dockerfile directories
    dockerfile_dir = t.context({"Dockerfile": DIRS}, root=t.dir + "/d1")
    context = t.context({"foo": "bar"}, root=t.dir + "/d2")
    t.build("-f", dockerfile_dir + "/Dockerfile", context=context)


@suite.test("testSymlinkedDockerfile")
def _(t):
    t.context({"Dockerfile.web": "FROM scratch\nENV foo bar\n", "Dockerfile": Symlink("Dockerfile.web")})
    t.build()


@suite.test("testSymlinkDestination")
def _(t):
    import tarfile
    t.context({"Dockerfile": "FROM scratch\nADD t.tar /\nCOPY foo /symlink/\n", "foo": "content0",
               "t.tar": make_tar([("symlink", tarfile.SYMTYPE, {"linkname": "../tmp/symlink-target",
                                                                  "mode": 0o755})])})
    t.build(local=True)
    equal(t.read("tmp/symlink-target/foo"), "content0")


@suite.test("testContextChangeDirToFile")
def _(t):
    t.context({"Dockerfile": "FROM scratch\nCOPY foo /\n", "foo": Dir(0o700), "foo/bar": "contents"})
    t.build()
    shutil.rmtree(t.ctx + "/foo")
    t.context({"foo": "contents2"})
    t.build(local=True)
    equal(t.read("foo"), "contents2")


@suite.test("testNoSnapshotLeak")
def _(t):
    t.context({"Dockerfile": "FROM scratch\nCOPY foo /\n", "foo": "contents"})
    t.build()
    before = t.strata("cache", "du")
    t.build()
    after = t.strata("cache", "du")
    check(before.code == 0 and after.code == 0, f"cache du: {before.stderr}{after.stderr}")

    # The Go test counts the disk-usage records: strata's cache records, and
    # the layers and snapshots they keep (an image config per build is
    # metadata, unreferenced once a new build names another).
    def kept(du):
        return [line for line in du.splitlines() if line.split()[0] in ("layers", "snapshots")
                or line.endswith("cache records")]
    equal(kept(after.stdout), kept(before.stdout), "cache du after the same build again")


@suite.test("testExposeExpansion")
def _(t):
    t.context({"Dockerfile": 'FROM scratch\nARG PORTS="3000 4000/udp"\nEXPOSE $PORTS\nEXPOSE 5000\n'})
    tag = t.image_tag()
    t.build(tag=tag)
    ports = sorted(t.config(tag)["config"]["ExposedPorts"])
    equal(ports, ["3000/tcp", "4000/udp", "5000/tcp"])


@suite.test("testDockerfileLowercase")
def _(t):
    t.context({"dockerfile": "FROM scratch\n"})
    t.build()


@suite.test("testLabels")
def _(t):
    t.context({"Dockerfile": "FROM scratch\nLABEL foo=bar\n"})
    tag = t.image_tag()
    t.build("--label", "bar=baz", tag=tag)
    labels = t.config(tag)["config"]["Labels"]
    equal(labels.get("foo"), "bar")
    equal(labels.get("bar"), "baz")


USER = r"""
FROM busybox AS base
RUN mkdir -m 0777 /out
RUN id -un > /out/rootuser

# Make sure our defaults work
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)" = '0:0/root:root' ]

# TODO decide if "args.user = strconv.Itoa(syscall.Getuid())" is acceptable behavior for changeUser in sysvinit instead of "return nil" when "USER" isn't specified (so that we get the proper group list even if that is the empty list, even in the default case of not supplying an explicit USER to run as, which implies USER 0)
USER root
RUN [ "$(id -G):$(id -Gn)" = '0 10:root wheel' ]

# Setup dockerio user and group
RUN echo 'dockerio:x:1001:1001::/bin:/bin/false' >> /etc/passwd && \
	echo 'dockerio:x:1001:' >> /etc/group

# Make sure we can switch to our user and all the information is exactly as we expect it to be
USER dockerio
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1001/dockerio:dockerio/1001:dockerio' ]

# Switch back to root and double check that worked exactly as we might expect it to
USER root
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '0:0/root:root/0 10:root wheel' ] && \
        # Add a "supplementary" group for our dockerio user
	echo 'supplementary:x:1002:dockerio' >> /etc/group

# ... and then go verify that we get it like we expect
USER dockerio
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1001/dockerio:dockerio/1001 1002:dockerio supplementary' ]
USER 1001
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1001/dockerio:dockerio/1001 1002:dockerio supplementary' ]

# super test the new "user:group" syntax
USER dockerio:dockerio
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1001/dockerio:dockerio/1001:dockerio' ]
USER 1001:dockerio
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1001/dockerio:dockerio/1001:dockerio' ]
USER dockerio:1001
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1001/dockerio:dockerio/1001:dockerio' ]
USER 1001:1001
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1001/dockerio:dockerio/1001:dockerio' ]
USER dockerio:supplementary
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1002/dockerio:supplementary/1002:supplementary' ]
USER dockerio:1002
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1002/dockerio:supplementary/1002:supplementary' ]
USER 1001:supplementary
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1002/dockerio:supplementary/1002:supplementary' ]
USER 1001:1002
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1001:1002/dockerio:supplementary/1002:supplementary' ]

# make sure unknown uid/gid still works properly
USER 1042:1043
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '1042:1043/1042:1043/1043:1043' ]
USER daemon
RUN id -un > /out/daemonuser
FROM scratch
COPY --from=base /out /
USER nobody
"""


@suite.test("testUser")
def _(t):
    t.context({"Dockerfile": USER})
    t.build(local=True)
    equal(t.read("rootuser"), "root\n")
    equal(t.read("daemonuser"), "daemon\n")
    tag = t.image_tag()
    t.build(tag=tag)
    equal(t.config(tag)["config"]["User"], "nobody")


@suite.test("testUserAdditionalGids")
def _(t):
    t.context({"Dockerfile": """
FROM busybox
SHELL ["/bin/sh", "-euxc"]
RUN [ "$(id)" = "uid=0(root) gid=0(root) groups=0(root),10(wheel)" ]
USER 1234
RUN [ "$(id)" = "uid=1234 gid=0(root) groups=0(root)" ]
USER 1234:1234
RUN [ "$(id)" = "uid=1234 gid=1234 groups=1234" ]
USER daemon
RUN [ "$(id)" = "uid=1(daemon) gid=1(daemon) groups=1(daemon)" ]
"""})
    t.build()


@suite.test("testDockerfileCheckHostname")
def _(t):
    t.context({"Dockerfile": "FROM busybox\nRUN cat /etc/hosts | grep foo\nRUN echo $HOSTNAME | grep foo\n"
               "\tRUN echo $(hostname) | grep foo\n\t"})
    # The Go test's "meta" cases set the frontend's hostname attribute, which
    # no docker buildx flag sets; its "arg" case:
    t.build("--build-arg", "BUILDKIT_SANDBOX_HOSTNAME=foo")


@suite.test("testStepNames")
def _(t):
    t.context({"Dockerfile": 'FROM busybox AS base\nWORKDIR /out\nRUN echo "base" > base\nFROM scratch\n'
               "COPY --from=base --chmod=0644 /out /out\n"})
    r = t.build()
    for step in ['[base 3/3] RUN echo "base" > base', "[stage-1 1/1] COPY --from=base --chmod=0644 /out /out"]:
        check(step in r.stderr, f"missing step {step!r} in:\n{r.stderr}")


@suite.test("testTargetMistype")
def _(t):
    t.context({"Dockerfile": "FROM scratch AS build\nCOPY Dockerfile /out\nFROM scratch\nCOPY --from=build /out /\n"})
    t.build("--target", "bulid", error='target stage "bulid" could not be found (did you mean build?)')


suite.run()
