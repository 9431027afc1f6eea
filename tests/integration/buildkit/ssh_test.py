"""moby/buildkit frontend/dockerfile/dockerfile_ssh_test.go, ported."""

import os
import subprocess
import time

from bk import Suite, check

suite = Suite("dockerfile_ssh_test.go")


@suite.test("testSSHSocketParams")
def _(t):
    # The Go test serves a new RSA key through BuildKit's agent provider;
    # the step only looks at the socket, so an empty ssh-agent serves here.
    sock = os.path.join(t.dir, "agent.sock")
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        check(os.path.exists(sock), "ssh-agent did not start")
        t.context({"Dockerfile": '\nFROM busybox\nRUN --mount=type=ssh,mode=741,uid=100,gid=102 '
                   '[ "$(stat -c "%u %g %f" $SSH_AUTH_SOCK)" = "100 102 c1e1" ]\n'})
        t.build("--ssh", f"default={sock}")
    finally:
        agent.terminate()
        agent.wait()


suite.skip("testSSHFileDescriptorsClosed", "needs alpine's apk and github.com (the internet)")
suite.run()
