"""moby/buildkit frontend/dockerfile/dockerfile_history_test.go, ported."""

from bk import Suite, check, equal

suite = Suite("dockerfile_history_test.go")


@suite.test("testExportedHistory")
def _(t):
    # The Go test reads the config from containerd's image store; strata's
    # store stands for it.
    t.context({"Dockerfile": """
FROM busybox AS base
ENV foo=bar
COPY foo /foo2
FROM busybox
LABEL lbl=val
COPY --from=base foo2 foo3
WORKDIR /
RUN echo bar > foo4
RUN ["ls"]
EXPOSE 2375 5000 1234/udp
""", "foo": "contents0"})
    tag = t.image_tag()
    t.build(tag=tag)
    img = t.config(tag)
    equal(img["rootfs"]["type"], "layers")
    equal(len(img["rootfs"]["diff_ids"]), 4, "diff ids")
    history = img["history"]
    equal(len(history), 8, f"history entries: {[h.get('created_by') for h in history]}")
    expected = [("lbl=val", True), ("COPY foo2 foo3", False), ("WORKDIR /", True), ("echo bar > foo4", False),
                ("RUN ls", False), ("EXPOSE [1234/udp 2375/tcp 5000/tcp]", True)]
    for i, (text, empty) in enumerate(expected):
        h = history[2 + i]
        check(text in h.get("created_by", ""), f"history[{2 + i}] {h.get('created_by')!r} lacks {text!r}")
        equal(h.get("empty_layer", False), empty, f"history[{2 + i}] empty_layer")
        check(h.get("created"), f"history[{2 + i}] has no created time")


@suite.test("testExportedHistoryFlattenArgs")
def _(t):
    # The Go test pushes to a registry and reads the image back; the store's
    # copy is the same image.
    t.context({"Dockerfile": "FROM busybox\nARG foo=bar\nARG bar=123\nARG foo=bar2\nRUN ls /etc/\n"})
    tag = t.image_tag()
    t.build(tag=tag)
    history = t.config(tag)["history"]
    first = next((i for i, h in enumerate(history) if h.get("created_by") == "ARG foo=bar"), -1)
    check(first > 0, f"no 'ARG foo=bar' entry in {[h.get('created_by') for h in history]}")
    equal(len(history), first + 4, "history entries")
    check("ARG bar=123" in history[first + 1]["created_by"], history[first + 1]["created_by"])
    check("ARG foo=bar2" in history[first + 2]["created_by"], history[first + 2]["created_by"])
    run = history[first + 3]["created_by"]
    check("ls /etc/" in run and "ARG foo=bar" not in run and "RUN |2 foo=bar2 bar=123 " in run, run)


suite.skip("testHistoryError", "BuildKit's build-history API (ListenBuildHistory) and its error records")
suite.skip("testHistoryFinalizeTrace", "BuildKit's build-history API and its traces")

suite.run()
