"""moby/buildkit frontend/dockerfile/dockerfile_dockerignore_test.go, ported."""

from bk import Suite, check, equal

suite = Suite("dockerfile_dockerignore_test.go")


@suite.test("testDockerignore")
def _(t):
    t.context({"Dockerfile": "\nFROM scratch\nCOPY . .\n", "foo": "foo-contents", "bar": "bar-contents",
               "baz": "baz-contents", "bay": "bay-contents",
               ".dockerignore": "\nba*\nDockerfile\n!bay\n.dockerignore\n"})
    t.build(local=True)
    equal(t.read("foo"), "foo-contents")
    for gone in [".dockerignore", "Dockerfile", "bar", "baz"]:
        check(not t.exists(gone), f"{gone} must be ignored")
    equal(t.read("bay"), "bay-contents")


@suite.test("testDockerignoreInvalid")
def _(t):
    t.context({"Dockerfile": "\nFROM scratch\nCOPY . .\n", ".dockerignore": "!\n"})
    t.build(error="")


@suite.test("testDockerignoreOverride")
def _(t):
    t.context({"Dockerfile": "\nFROM busybox\nCOPY . .\nRUN [ -f foo ] && [ ! -f bar ]\n",
               "Dockerfile.dockerignore": "\nbar\n",
               "Dockerfile2": "\nFROM busybox\nCOPY . .\nRUN [ ! -f foo ] && [ -f bar ]\n",
               "Dockerfile2.dockerignore": "\nfoo\n", "foo": "contents0", "bar": "contents0"})
    t.build()
    t.build("-f", t.ctx + "/Dockerfile2")


suite.run()
