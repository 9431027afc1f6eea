"""moby/buildkit frontend/dockerfile/dockerfile_runsecurity_test.go, ported.

The Go tests run in two sandboxes, security.insecure granted and denied;
here each case builds once with `--allow security.insecure` and once
without."""

import os

from bk import Suite, check

suite = Suite("dockerfile_runsecurity_test.go")


def own_bounding_set():
    """An insecure step gets every capability strata has, as BuildKit's
    privileged steps get containerd's: where the runner itself lacks some
    (this VM has no CAP_SYS_RESOURCE), the Go test's 3fffffffff becomes
    what the runner has of those bits."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return int(line.split()[1], 16) & 0x3FFFFFFFFF
    raise RuntimeError("no CapBnd in /proc/self/status")

DENIED = "entitlement security.insecure is not allowed"


@suite.test("testRunSecurityInsecure")
def _(t):
    t.context({"Dockerfile": """
FROM busybox
RUN --security=insecure [ "$(printf '%x' $(( $(cat /proc/self/status | grep CapBnd | cut -f 2 | sed s#^#0x#) & 0x3fffffffff)))" == "3fffffffff" ]
RUN [ "$(cat /proc/self/status | grep CapBnd)" == "CapBnd:	00000000a80425fb" ]
""".replace('"3fffffffff"', f'"{own_bounding_set():x}"')})
    t.build("--allow", "security.insecure")
    t.build(error=DENIED)


@suite.test("testRunSecuritySandbox")
def _(t):
    t.context({"Dockerfile": """
FROM busybox
RUN --security=sandbox [ "$(cat /proc/self/status | grep CapBnd)" == "CapBnd:	00000000a80425fb" ]
"""})
    t.build()


@suite.test("testRunSecurityDefault")
def _(t):
    t.context({"Dockerfile": """
FROM busybox
RUN [ "$(cat /proc/self/status | grep CapBnd)" == "CapBnd:	00000000a80425fb" ]
"""})
    t.build("--allow", "security.insecure")
    t.build()


@suite.test("testInsecureDevicesWhitelist")
def _(t):
    # Its device checks, on busybox: the Go test installs fuse and e2fsprogs
    # with apk (alpine, the internet) and mounts a hellofs image. Of its two
    # devices, those the host has (the loop driver is there wherever the
    # hostile-input tests run; fuse may be absent).
    devices = [d for d in ("/dev/fuse", "/dev/loop-control") if os.path.exists(d)]
    check(devices, "the host has neither /dev/fuse nor /dev/loop-control to check for")
    absent = " && ".join(f"[ ! -e {d} ]" for d in devices)
    present = " && ".join(f"[ -c {d} ]" for d in devices)
    t.context({"Dockerfile": f"""
FROM busybox
RUN {absent}
RUN --security=insecure {present}
RUN --security=insecure dmesg > /dev/null
"""})
    t.build("--allow", "security.insecure")
    t.build(error=DENIED)


if __name__ == "__main__":
    suite.run()
