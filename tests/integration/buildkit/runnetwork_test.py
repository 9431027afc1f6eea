"""moby/buildkit frontend/dockerfile/dockerfile_runnetwork_test.go, ported.

strata's RUN steps use the host's network unless told otherwise (docs/cli.md);
BuildKit's default, a network namespace of the build's own behind a bridge,
is not made here (no bridge networks on CI runners). Where the Go test relies
on that default being isolated, the build is given `--network none`, the
isolated default strata has.
"""

import socket
import threading

from bk import Suite

suite = Suite("dockerfile_runnetwork_test.go")


class EchoServer:
    """A loopback server that writes `text` to each connection (echoserver)."""

    def __init__(self, text):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.text = text.encode()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(self.text)

    def close(self):
        self.sock.close()


@suite.test("testRunNoNetwork")
def _(t):
    t.context({"Dockerfile": "\nFROM busybox\nRUN --network=none ! ip link show eth0\n"})
    t.build()


@suite.test("testRunHostNetwork")
def _(t):
    s = EchoServer("foo")
    try:
        t.context({"Dockerfile": f"\nFROM busybox\nRUN --network=host nc 127.0.0.1 {s.port} | grep foo\n"
                   f"RUN ! nc 127.0.0.1 {s.port} | grep foo"})
        t.build("--network", "none")
    finally:
        s.close()


@suite.test("testRunGlobalNetwork")
def _(t):
    s = EchoServer("foo")
    try:
        t.context({"Dockerfile": f"\nFROM busybox\nRUN nc 127.0.0.1 {s.port} | grep foo\n"
                   f"RUN --network=none ! nc -z 127.0.0.1 {s.port}\n"})
        t.build("--network", "host")  # force-network-mode=host
    finally:
        s.close()


suite.skip("testRunDefaultNetwork", "BuildKit's default bridge network (eth0): strata creates no bridge "
           "networks; its default is the host's network")

suite.run()
