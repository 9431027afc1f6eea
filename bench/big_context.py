#!/usr/bin/env python3
"""Writes a build context of about GB gigabytes for the benchmarks: four
directories part0..part3 of files of 4 KiB to 4 MiB, three in five
text-like (they compress well), the others random; the same bytes every
run but for the random files. Usage: big_context.py DIR GB
"""
import os, random, sys
root, gb = sys.argv[1], float(sys.argv[2])
rnd = random.Random(7)
words = [("".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9)))) for _ in range(5000)]
per_part = int(gb * (1 << 30) / 4)
for part in range(4):
    d = os.path.join(root, f"part{part}")
    os.makedirs(d)
    written, n = 0, 0
    while written < per_part:
        size = rnd.choice([4096, 65536, 1 << 20, 4 << 20])
        with open(os.path.join(d, f"f{n:05d}"), "wb") as f:
            if n % 5 < 3:   # text-like: compresses well
                chunk = (" ".join(rnd.choice(words) for _ in range(2000)) + "\n").encode()
                data = (chunk * (size // len(chunk) + 1))[:size]
            else:           # random: does not compress
                data = os.urandom(size)
            f.write(data)
        written += size
        n += 1
