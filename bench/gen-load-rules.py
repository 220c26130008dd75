#!/usr/bin/env python3
"""Generates large rule sets of one shape for bench/bench-load.sh.

Shapes (N rules each, deterministic):
  indexable    every pattern ends in a literal domain suffix before `$`
               (the matcher's suffix index takes them all)
  unindexable  no usable literal suffix: no `$`, alternations at the top, a
               class at the end (each goes to the prefilter scan)
  mixed        the two above and Hyperscan-refused ones, interleaved
  refused      unindexable, one in ten with a construct PCRE2 accepts and
               Hyperscan refuses (\\K, \\G, \\R, (?|...), (*ACCEPT))
Rule N/2 matches dyn-12-34.pool.isp{N/2}.example.net in every shape.
Output: a pcre: table (--table FILE) or a directory of *.toml rule files of at
most 1,000 rules each (--toml DIR, same patterns as [[dynamic]] entries).
"""
import argparse
import os
import random

REFUSED = [
    r"^dyn{i}-[0-9]+\K\.pool\.isp{i}\.example\.net",
    r"\Gppp{i}-[0-9]+\.isp{i}\.example\.org",
    r"^(?|cable|dsl){i}-[0-9]+\.isp{i}\.example\.com",
    r"^adsl{i}\R?-[0-9]+\.isp{i}\.example\.net",
    r"^wifi{i}-[0-9]+(*ACCEPT)\.isp{i}\.example\.jp",
]
UNINDEXABLE = [
    r"^dyn-[0-9]+-[0-9]+\.pool\.isp{i}\.example\.net",
    r"(^|\.)ppp[0-9]+\.isp{i}\.example\.",
    r"^(dhcp|dsl|cable)-?[0-9]{{1,3}}([.-][0-9]{{1,3}}){{3}}\.isp{i}\.",
    r"^[a-z]{{2,4}}{i}-[0-9a-f]{{8}}\.[a-z]+\.example",
    r"\.dyn{i}\.[a-z0-9-]+\.example\.(net|com|org)$",
    r"^host{i}[0-9]+\.(static|dynamic)\.[a-z]+$",
]
INDEXABLE = [
    r"^dyn-[0-9]+-[0-9]+\.pool\.isp{i}\.example\.net$",
    r"^([0-9]{{1,3}}[.-]){{3}}[0-9]{{1,3}}\.dsl\.isp{i}\.example\.com$",
    r"\.cable\.isp{i}\.example\.org$",
    r"^[a-z]+[0-9]+\.dhcp\.isp{i}\.example\.jp$",
]


def patterns(shape, n, rng):
    for i in range(n):
        if shape == "indexable":
            kind = INDEXABLE
        elif shape == "unindexable":
            kind = UNINDEXABLE
        elif shape == "refused":
            kind = REFUSED if i % 10 == 9 else UNINDEXABLE
        else:  # mixed
            kind = [INDEXABLE, UNINDEXABLE, UNINDEXABLE, INDEXABLE, REFUSED][i % 5]
        if i == n // 2:  # the bench's "hit" name, dyn-12-34.pool.isp{n//2}.example.net
            yield (INDEXABLE[0] if kind is INDEXABLE else UNINDEXABLE[0]).format(i=i)
        else:
            yield rng.choice(kind).format(i=i)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", required=True, choices=["indexable", "unindexable", "mixed", "refused"])
    ap.add_argument("--rules", type=int, default=100_000)
    ap.add_argument("--table")
    ap.add_argument("--toml")
    ap.add_argument("--seed", type=int, default=25)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    pats = list(patterns(a.shape, a.rules, rng))
    if a.table:
        with open(a.table, "w") as f:
            f.write(f"# {a.rules} generated {a.shape} rules (bench/gen-load-rules.py)\n")
            for i, p in enumerate(pats):
                f.write(f"/{p}/ REJECT dynamic pool {i}\n")
    if a.toml:
        os.makedirs(a.toml, exist_ok=True)
        per = 1000
        for k in range(0, len(pats), per):
            with open(os.path.join(a.toml, f"isp{k // per:05d}.toml"), "w") as f:
                f.write("format = 1\nkind = \"generic\"\n\n[meta]\n")
                f.write(f"name = \"bench {k // per}\"\ncontact = \"noc@example.net\"\n")
                f.write("updated = 2026-11-30\nsource = \"bench/gen-load-rules.py\"\n")
                for j, p in enumerate(pats[k:k + per]):
                    f.write(f"\n[[dynamic]]\nid = \"r{k + j}\"\npattern = '{p}'\n")


if __name__ == "__main__":
    main()
