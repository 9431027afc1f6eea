"""moby/buildkit frontend/dockerfile/dockerfile_ssh_test.go: not ported yet."""

from bk import Suite

suite = Suite("dockerfile_ssh_test.go")
suite.skip("testSSHSocketParams", "RUN --mount=type=ssh,mode=,uid=,gid= needs strata to serve the agent "
           "through a socket of its own (it binds the agent's socket, whose mode and owner are the host's): "
           "open in issue 16, defect 23")
suite.skip("testSSHFileDescriptorsClosed", "needs alpine's apk and github.com (the internet)")
suite.run()
