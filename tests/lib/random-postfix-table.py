#!/usr/bin/env python3
"""Random Postfix pcre:/regexp: table and host names, for differential tests
against postmap. Usage: random-postfix-table.py SEED OUTDIR -> OUTDIR/t.table,
OUTDIR/names. Covers delimiters, '!' (repeated), if/endif nesting, flags,
$n/${n}/$(n)/$$ results, continuation and comment lines; the names are valid
host names so ip25b answers every one of them."""
import random
import sys

R = random.Random(int(sys.argv[1]))
out = sys.argv[2]
ATOMS = ["a", "b", "x", "[0-9]+", "\\.", "-", "(a|b)", "(x)?", "[a-z]{2}", "dyn", "\\d", ".",
         "(\\.[a-z]+)", "\\/", "(?i)B", "\\Qa.b\\E", "a{2}", "b{,2}", "x*", "[]a]", "[^.]", "\\x61",
         "(?:a|x)"]


def regex():
    s = "".join(R.choice(ATOMS) for _ in range(R.randint(1, 5)))
    if R.random() < 0.5:
        s = "^" + s
    if R.random() < 0.6:
        s += R.choice(["$", "\\.jp$", "\\.example\\.jp$", "b\\.jp$"])
    if R.random() < 0.1:
        s = s.replace("a", "A")
    return s


def result(groups):
    parts = [R.choice(["R", "res", "x y", "$$", "a  b", "x\t y", "$", "a $ b", "${", "$0", "$ab"])]
    if groups and R.random() < 0.5:
        parts.append(R.choice(["$1", "${1}", "$(1)", "$10", "${2}"]))
    return " ".join(parts) + R.choice(["", "", " ", "\r"])


lines, depth = [], 0
for _ in range(R.randint(3, 25)):
    k = R.random()
    d = R.choice("/|!%@~,")
    if k < 0.1:
        bang = "!" * R.choice([0, 0, 1, 2])
        kw = R.choice(["if ", "IF\t", "if"])
        lines.append(f"{kw}{bang}{d}{regex()}{d}{R.choice(['', 'i', 'x'])}{R.choice(['', ' extra'])}")
        depth += 1
    elif k < 0.17 and depth:
        lines.append(R.choice(["endif", "ENDIF", "endif extra"]))
        depth -= 1
    else:
        r = regex()
        neg = R.random() < 0.15
        flags = R.choice(["", "", "i", "s", "x", "U", "A", "E", "m", "X", "q"])
        sep = R.choice([" ", "\t", ""])
        lines.append(f"{'!' * R.choice([0, 1, 2]) if neg else ''}{d}{r}{d}{flags}{sep}"
                     f"{result('(' in r)}")
        if R.random() < 0.1:
            lines.append("  continued")
        if R.random() < 0.05:
            lines.append("# comment")
lines += ["endif"] * depth
open(f"{out}/t.table", "w").write("\n".join(lines) + "\n")

names = []
for _ in range(200):
    n = "".join(R.choice(["a", "b", "x", "1", "23", "-", ".", "dyn", "A", "B"])
                for _ in range(R.randint(1, 8)))
    while ".." in n:
        n = n.replace("..", ".")
    n = n.strip(".") or "a"
    names.append(n + R.choice(["", ".jp", ".example.jp", "b.jp", ".EXAMPLE.JP"]))
open(f"{out}/names", "w").write("\n".join(names) + "\n")
