"""moby/buildkit frontend/dockerfile/dockerfile_addgit_test.go, translated.

The Go tests make git repositories with the git CLI and serve them from
127.0.0.1 with a plain file server (git's "dumb" http protocol, after `git
update-server-info`); so do these. Where the Go test runs `apk add git` in
alpine to look at a kept `.git`, these run the host's git on the exported
files.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bk import FileServer, Suite, check, equal, git_repo, git_rev  # noqa: E402

S = Suite("dockerfile_addgit_test.go")


def commits(tags):
    out = []
    for tag in tags:
        out += [f"echo foo of {tag} >foo", "git add foo", f"git commit -q -m {tag}", f"git tag {tag}"]
    return out


def add_git(t, object_format):
    repo = os.path.join(t.dir, "repo")
    git_repo(repo, commits(["v0.0.1", "v0.0.2", "v0.0.3"]) + ["git update-server-info"],
             object_format)
    v2, v3 = git_rev(repo, "v0.0.2"), git_rev(repo, "v0.0.3")
    with FileServer(repo) as server:
        url = server.url
        # Basic and complicated cases (alpine in the Go test).
        t.context({"Dockerfile": f"""
FROM busybox

# Basic case
ADD {url}/.git#v0.0.1 /x
RUN cd /x && \\
  [ "$(cat foo)" = "foo of v0.0.1" ]

# Complicated case
ARG REPO="{url}/.git"
ARG TAG="v0.0.2"
ADD --keep-git-dir=true --chown=4242:8484 --checksum={v2} ${{REPO}}#${{TAG}} /buildkit-chowned
USER 4242
RUN cd /buildkit-chowned && \\
  [ "$(cat foo)" = "foo of v0.0.2" ] && \\
  [ "$(stat -c %u foo)" = "4242" ] && \\
  [ "$(stat -c %g foo)" = "8484" ]
"""})
        t.build(local=True)
        # `git status -s` of the Go test, on the exported checkout.
        st = subprocess.run(["git", "-c", "safe.directory=*", "-C", t.path("/buildkit-chowned"),
                             "status", "-s"], capture_output=True, text=True)
        check(st.returncode == 0, st.stderr)
        equal(st.stdout, "", "git status -s of the kept checkout")

        t.context({"Dockerfile": f"""
FROM busybox
ARG REPO="{url}/.git"
ARG TAG="v0.0.3"
ADD --checksum={v3} ${{REPO}}#${{TAG}} /nogitdir
RUN [ -f /nogitdir/foo ]
RUN [ "$(cat /nogitdir/foo)" = "foo of v0.0.3" ]
RUN [ ! -d /nogitdir/.git ]
"""})
        t.build()
        # The ref fetched before, again.
        t.context({"Dockerfile": f"""
FROM busybox
ARG REPO="{url}/.git"
ARG TAG="v0.0.2"
ADD --keep-git-dir --checksum={v2} ${{REPO}}#${{TAG}} /nogitdir
RUN [ -f /nogitdir/foo ]
RUN [ "$(cat /nogitdir/foo)" = "foo of v0.0.2" ]
RUN [ -d /nogitdir/.git ]
"""})
        t.build()
        # A commit as the ref and as the checksum.
        t.context({"Dockerfile": f"""
FROM busybox
ARG REPO="{url}/.git"
ARG COMMIT="{v3}"
ADD --keep-git-dir=true --checksum={v3} ${{REPO}}#${{COMMIT}} /commitdir
RUN [ -f /commitdir/foo ]
RUN [ "$(cat /commitdir/foo)" = "foo of v0.0.3" ]
RUN [ -d /commitdir/.git ]
"""})
        t.build()
        t.context({"Dockerfile": f"""
FROM busybox
ARG REPO="{url}/.git"
ARG TAG="v0.0.3"
ADD --checksum={v2} ${{REPO}}#${{TAG}} /faildir
"""})
        t.build(error="expected checksum to match")
        t.context({"Dockerfile": f"""
FROM busybox
ARG REPO="{url}/.git"
ARG TAG="v0.0.3"
ADD --checksum=foobar ${{REPO}}#${{TAG}} /faildir
"""})
        r = t.build(error="invalid checksum")
        check("expected hex commit hash" in r.stderr, r.stderr)


@S.test("testAddGitSHA1")
def _(t):
    add_git(t, None)


@S.test("testAddGitSHA256")
def _(t):
    add_git(t, "sha256")


@S.test("testAddGitChecksumCache")
def _(t):
    repo = os.path.join(t.dir, "repo")
    git_repo(repo, commits(["v0.0.1", "v0.0.2"]) + ["git update-server-info"])
    commit = git_rev(repo, "v0.0.2")
    with FileServer(repo) as server:
        outs = []
        for checksum in ["", f"--checksum={commit} "]:
            t.context({"Dockerfile": f"""
FROM busybox AS src
ADD --keep-git-dir {checksum}{server.url}/.git#v0.0.2 /repo
RUN head -c 16 /dev/urandom | base64 > /repo/unique.txt

FROM scratch
COPY --from=src /repo/unique.txt /
"""})
            t.build(local=True)
            outs.append(t.read("unique.txt"))
        equal(outs[1], outs[0], "the step after the ADD, with --checksum: a cache hit")


@S.test("testGitQueryString")
def _(t):
    submod = os.path.join(t.dir, "submod")
    git_repo(submod, ["echo 123 >file", "git add file", "git commit -q -m initial",
                      "git update-server-info"])
    with FileServer(submod) as sub_server:
        repo = os.path.join(t.dir, "repo")
        git_repo(repo, ["echo base >foo"])
        with open(os.path.join(repo, "Dockerfile"), "w") as f:
            f.write("\nFROM scratch AS withgit\nCOPY .git/HEAD out\n\n"
                    "FROM scratch as withsubmod\nCOPY submod/file out\n\nFROM scratch\nCOPY foo out\n")
        git_repo(repo, [
            f"git -c protocol.allow=always submodule -q add {sub_server.url}/.git submod",
            "git add Dockerfile foo submod", "git commit -q -m initial", "git tag v0.0.1",
            "git branch base", "echo feature >foo", "mkdir sub", "echo subfeature >sub/foo",
            "cp Dockerfile sub/", "git add foo sub", "git commit -q -m feature",
            "git branch feature", "git checkout -q -B master base", "echo v0.0.2 >foo",
            "git add foo", "git commit -q -m v0.0.2", "git tag v0.0.2", "echo latest >foo",
            "git add foo", "git commit -q -m latest", "git tag latest", "git update-server-info"])
        v2, latest = git_rev(repo, "v0.0.2"), git_rev(repo, "latest")
        check(len(v2) == 40 and v2 != latest, "two commits")
        with FileServer(repo) as server:
            u = server.url + "/.git"
            cases = [
                ("tag with invalid commit", f"{u}?tag=v0.0.2&commit={latest}", "", None,
                 "expected checksum to match"),
                ("old style ref", f"{u}#v0.0.2", "", "v0.0.2\n", None),
                ("querystring ref", f"{u}?ref=base", "", "base\n", None),
                ("querystring branch", f"{u}?branch=base", "", "base\n", None),
                ("querystring invalid branch", f"{u}?branch=invalid", "", None,
                 "repository does not contain ref"),
                ("tag as branch", f"{u}?branch=v0.0.2", "", None, "repository does not contain ref"),
                ("allowed mixed refs", f"{u}?tag=v0.0.2#refs/tags/v0.0.2", "", "v0.0.2\n", None),
                ("v2 by commit", f"{u}?commit={latest}", "", "latest\n", None),
                ("v2 by commit (wrong short)", f"{u}?commit={v2[:8]}", "", None,
                 "expected checksum to match"),
                ("v2 by commit (short)", f"{u}?commit={latest[:8]}", "", "latest\n", None),
                ("v2 ref by commit", f"{u}?ref={v2}", "", "v0.0.2\n", None),
                ("v2 ref by commit (short)", f"{u}?ref={v2[:8]}", "", None,
                 "repository does not contain ref"),
                ("tag with commit", f"{u}?tag=v0.0.2&commit={v2}", "", "v0.0.2\n", None),
                ("commit with commit", f"{u}?ref={v2}&commit={v2}", "", "v0.0.2\n", None),
                ("latest with commit", f"{u}?commit={latest}", "", "latest\n", None),
                ("mismatch refs", f"{u}?tag=v0.0.2#refs/heads/master", "", None, "ref conflicts"),
                ("sub old-style", f"{u}#feature:sub", "", "subfeature\n", None),
                ("sub query", f"{u}?subdir=sub&ref=feature", "", "subfeature\n", None),
                ("withgit", f"{u}?keep-git-dir=true", "withgit", latest + "\n", None),
                ("withgitandtag", f"{u}?tag=v0.0.2&keep-git-dir=true", "withgit", v2 + "\n", None),
                ("withgit-default", u, "withgit", None, '.git/HEAD": not found'),
                ("withgit-valueless", f"{u}?keep-git-dir&submodules", "withgit", latest + "\n",
                 None),
                ("withgit-forbidden", f"{u}?keep-git-dir=false", "withgit", None,
                 '.git/HEAD": not found'),
                ("withsubmod", u, "withsubmod", "123\n", None),
                ("withsubmodset", f"{u}?submodules=true", "withsubmod", "123\n", None),
                ("withsubmodempty", f"{u}?submodules", "withsubmod", "123\n", None),
                ("withoutsubmod", f"{u}?submodules=false", "withsubmod", None,
                 'submod/file": not found'),
            ]
            failures = []
            for name, url, target, out, err in cases:
                target_flags = ["--target", target] if target else []
                # The repository as the build context, then ADD of it.
                for mode in ["context", "add"]:
                    try:
                        if mode == "context":
                            t.build(*target_flags, local=True, error=err, context=url)
                            if out is not None:
                                equal(t.read("out"), out, "out")
                        else:
                            t.context({"Dockerfile": f"""
FROM scratch AS main
ADD {url} /repo/

FROM scratch as withsubmod
COPY --from=main /repo/submod/file /repo/foo

FROM scratch AS withgit
COPY --from=main /repo/.git/HEAD /repo/foo

FROM main
"""})
                            t.build(*target_flags, local=True, error=err)
                            if out is not None:
                                equal(t.read("/repo/foo"), out, "/repo/foo")
                    except Exception as e:  # noqa: BLE001 - every case is reported
                        failures.append(f"{mode}_{name}: {e}")
            check(not failures, "\n".join(failures))


if __name__ == "__main__":
    S.run()
