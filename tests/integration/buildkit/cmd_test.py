"""moby/buildkit frontend/dockerfile/dockerfile_cmd_test.go, ported."""

from bk import Suite, equal

suite = Suite("dockerfile_cmd_test.go")


@suite.test("testCmdShell")
def _(t):
    # The Go test exports to containerd's image store and reads the config
    # there; strata's store and `strata inspect` stand for it.
    t.context({"Dockerfile": 'FROM scratch\nCMD ["test"]\n'})
    base = t.image_tag()
    t.build(tag=base)
    t.context({"Dockerfile": f'FROM {base}\nSHELL ["ls"]\nENTRYPOINT my entrypoint\n'})
    tag = t.image_tag()
    t.build(tag=tag)
    config = t.config(tag)["config"]
    equal(config.get("Cmd"), None, "Cmd")
    equal(config.get("Entrypoint"), ["ls", "my entrypoint"], "Entrypoint")


@suite.test("testIgnoreEntrypoint")
def _(t):
    t.context({"Dockerfile": 'FROM busybox\nENTRYPOINT ["/nosuchcmd"]\nRUN ["ls"]\n'})
    t.build()


@suite.test("testInvalidJSONCommands")
def _(t):
    # FROM alpine in the Go test; nothing of alpine is used.
    t.context({"Dockerfile": 'FROM busybox\nRUN ["echo", "hello"]this is invalid\n'})
    t.build(error="this is invalid")
    # The Go test pushes the image to a registry and reads it back; the
    # store's copy is the same image.
    t.context({"Dockerfile": "FROM busybox\nENTRYPOINT []random string\n"})
    tag = t.image_tag()
    t.build(tag=tag)
    equal(t.config(tag)["config"].get("Entrypoint"), ["/bin/sh", "-c", "[]random string"])


@suite.test("testDockerfileInvalidCommand")
def _(t):
    t.context({"Dockerfile": "\n\tFROM busybox\n\tRUN invalidcmd\n"})
    r = t.build(error="did not complete successfully")
    equal("/bin/sh -c invalidcmd" in r.stderr, True, "the command in the error")


@suite.test("testDockerfileInvalidInstruction")
def _(t):
    t.context({"Dockerfile": 'FROM scratch\nFNTRYPOINT ["/bin/sh", "-c", "echo invalidinstruction"]\n'})
    r = t.build(error="unknown instruction: FNTRYPOINT")
    equal("did you mean ENTRYPOINT?" in r.stderr, True, f"the suggestion in:\n{r.stderr}")


suite.skip("testDefaultShellAndPath", "builds windows/amd64 and linux/amd64 in one build (several "
           "platforms at once is a later issue)")
suite.skip("testDefaultPathEnvOnWindows", "a Windows image")

suite.run()
