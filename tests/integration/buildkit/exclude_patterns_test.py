"""moby/buildkit frontend/dockerfile/exclude_patterns_test.go, ported."""

import os

from bk import Dir, Suite, Symlink, check, equal

suite = Suite("exclude_patterns_test.go")

SOURCE = {"dir1": Dir(0o777), "dir2": Dir(0o777), "dir3": Dir(0o777), "dir4": Dir(0o777),
          "dir1/file-101.png": "2", "dir1/file-102.txt": "3", "dir1/file-103.jpeg": "4",
          "dir2/file-201.pdf": "6", "dir2/file-202.jpeg": "7", "dir2/file-203.png": "8",
          "dir3/file-301.mp3": "9", "dir3/file-302.mpeg": "10", "dir4/file-401.txt": "11",
          "dir4/file-402.txt": Symlink("file-401.txt"), "dir4/file-403.txt": Symlink("file-404.txt")}

DOCKERFILE = """
# ignore all the image files
FROM scratch as builder1
COPY --exclude=*/*.png --exclude=*/*.jpeg . /1
# ignore all document files
FROM scratch as builder2
COPY --exclude=*/*.pdf --exclude=*/*.txt . /2
# ignore all mp3 files
FROM scratch as builder3
ADD --exclude=*.mp3 dir3/ /3/
# Ignore everything, keeping only .mpeg files, using src as a wildcard.
# it's a fake example, just to be sure that src as wildcards work as expected.
FROM scratch as builder4
COPY --exclude=*.mp3 --exclude=*.jpeg --exclude=*.png --exclude=*.pdf --exclude=*.txt dir* /4/
# Ignore everything, keeping only txt files.
# it's a fake example, just to be sure that src as wildcards work as expected.
FROM scratch as builder5
ADD --exclude=*.mp* --exclude=*.jpeg --exclude=*.png --exclude=*.pdf dir* /5
# Exclude all files. No idea how it could be useful, but it should not be forbidden.
FROM scratch as builder6
ADD --exclude=* dir* /6
FROM scratch
COPY --from=builder1 / /builder1
COPY --from=builder2 / /builder2
COPY --from=builder3 / /builder3
COPY --from=builder4 / /builder4
COPY --from=builder5 / /builder5
COPY --from=builder6 / /builder6
"""

# (file, expected content; None: excluded)
EXPECTED = [
    ("builder1/1/dir1/file-101.png", None), ("builder1/1/dir1/file-102.txt", "3"),
    ("builder1/1/dir1/file-103.jpeg", None), ("builder1/1/dir2/file-201.pdf", "6"),
    ("builder1/1/dir2/file-202.jpeg", None), ("builder1/1/dir2/file-203.png", None),
    ("builder1/1/dir3/file-301.mp3", "9"), ("builder1/1/dir3/file-302.mpeg", "10"),
    ("builder1/1/dir4/file-401.txt", "11"), ("builder1/1/dir4/file-402.txt", "file-401.txt"),
    ("builder1/1/dir4/file-403.txt", "file-404.txt"),
    ("builder2/2/dir1/file-101.png", "2"), ("builder2/2/dir1/file-102.txt", None),
    ("builder2/2/dir1/file-103.jpeg", "4"), ("builder2/2/dir2/file-201.pdf", None),
    ("builder2/2/dir2/file-202.jpeg", "7"), ("builder2/2/dir2/file-203.png", "8"),
    ("builder2/2/dir3/file-301.mp3", "9"), ("builder2/2/dir3/file-302.mpeg", "10"),
    ("builder2/2/dir4/file-401.txt", None), ("builder2/2/dir4/file-402.txt", None),
    ("builder2/2/dir4/file-403.txt", None),
    ("builder3/3/file-301.mp3", None), ("builder3/3/file-302.mpeg", "10"),
    ("builder4/4/file-101.png", None), ("builder4/4/file-102.txt", None), ("builder4/4/file-103.jpeg", None),
    ("builder4/4/file-201.pdf", None), ("builder4/4/file-202.jpeg", None), ("builder4/4/file-203.png", None),
    ("builder4/4/file-301.mp3", None), ("builder4/4/file-302.mpeg", "10"),
    ("builder4/4/dir4/file-401.txt", None), ("builder4/4/dir4/file-402.txt", None),
    ("builder4/4/dir4/file-403.txt", None),
    ("builder5/5/file-101.png", None), ("builder5/5/file-102.txt", "3"), ("builder5/5/file-103.jpeg", None),
    ("builder5/5/file-201.pdf", None), ("builder5/5/file-202.jpeg", None), ("builder5/5/file-203.png", None),
    ("builder5/5/file-301.mp3", None), ("builder5/5/file-302.mpeg", None),
    ("builder5/5/file-401.txt", "11"), ("builder5/5/file-402.txt", "file-401.txt"),
    ("builder5/5/file-403.txt", "file-404.txt"),
]


@suite.test("testExcludedFilesOnCopy")
def _(t):
    # The Go test builds from a plain directory, then from a git repository
    # (ADD --keep-git-dir of a local git server); strata has no ADD of git
    # yet, so the plain directory only.
    t.context(SOURCE)
    t.context({"Dockerfile": DOCKERFILE}, root=t.dir + "/dockerfile")
    t.build("-f", t.dir + "/dockerfile/Dockerfile", local=True)
    for name, want in EXPECTED:
        if want is None:
            check(not t.exists(name), f"{name} should not exist")
            continue
        check(t.exists(name), f"{name} should exist")
        got = os.readlink(t.path(name)) if os.path.islink(t.path(name)) else t.read(name)
        equal(got, want, name)
    equal(t.listdir("builder6/6"), [], "builder6/6 must be empty")


suite.run()
