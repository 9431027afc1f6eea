"""moby/buildkit frontend/dockerfile/dockerfile_git_http_test.go, translated:
git repositories and http URLs as the build context (the Go tests' frontend
attribute "context" is `docker buildx build URL`'s argument)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bk import FileServer, HTTPServer, Response, Suite, check, equal, git_repo, make_tar  # noqa: E402

S = Suite("dockerfile_git_http_test.go")

DOCKERFILE = """
FROM busybox AS build
RUN echo -n fromgit > foo
FROM scratch
COPY --from=build foo bar
"""


def from_git(t, object_format):
    repo = os.path.join(t.dir, "repo")
    os.makedirs(repo)
    with open(os.path.join(repo, "Dockerfile"), "w") as f:
        f.write(DOCKERFILE)
    git_repo(repo, ["git add Dockerfile", "git commit -q -m initial", "git branch first"],
             object_format)
    with open(os.path.join(repo, "Dockerfile"), "w") as f:
        f.write(DOCKERFILE + "\nCOPY --from=build foo bar2\n")
    git_repo(repo, ["git add Dockerfile", "git commit -q -m second", "git update-server-info"],
             object_format)
    with FileServer(repo) as server:
        t.build(local=True, context=server.url + "/.git#first")
        equal(t.read("bar"), "fromgit", "bar")
        check(not t.exists("bar2"), "bar2 of the second commit is not in the first")
        # The remote's HEAD (master) has both.
        t.build(local=True, context=server.url + "/.git")
        equal(t.read("bar"), "fromgit", "bar")
        equal(t.read("bar2"), "fromgit", "bar2")


@S.test("testDockerfileFromGitSHA1")
def _(t):
    from_git(t, None)


@S.test("testDockerfileFromGitSHA256")
def _(t):
    from_git(t, "sha256")


@S.test("testDockerfileFromHTTP")
def _(t):
    tar = make_tar([("mydockerfile", "FROM scratch\nCOPY foo bar\n"), ("foo", "foo-contents")])
    with HTTPServer({"/myurl": Response(tar, etag="x1")}) as server:
        t.build("-f", "mydockerfile", local=True, context=server.url + "/myurl")
        equal(t.read("bar"), "foo-contents", "bar")


@S.test("testHTTPDockerfile")
def _(t):
    dockerfile = ('\nFROM busybox\nRUN echo -n "foo-contents" > /foo\nFROM scratch\n'
                  'COPY --from=0 /foo /foo\n')
    with HTTPServer({"/df": Response(dockerfile, etag="x2")}) as server:
        # "this is bogus, any name should work"
        t.build("-f", "mydockerfile", local=True, context=server.url + "/df")
        equal(t.read("foo"), "foo-contents", "foo")


if __name__ == "__main__":
    S.run()
