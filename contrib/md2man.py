#!/usr/bin/env python3
"""md2man.py — one man page from its Markdown source, with pandoc.

    md2man.py PANDOC IN.md OUT.N NAME SECTION VERSION [DESCRIPTION]

The Markdown pages open with "# name(N) — what it is" and use "##" for their
sections, which reads well on a forge. A man page wants a NAME section of the
form "name - what it is" (whatis and lintian parse it) and top-level section
headings, so headings move up one level and the title line becomes NAME.
DESCRIPTION replaces the title's own text (rules/README.md has no "name(N)").
Pipe tables become definition lists: man(1) cannot wrap a table cell, so a
wide table overflows the terminal (and lintian reports groff's warning).
"""
import re
import subprocess
import sys


def cells(row):
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|"):
        row = row[:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)]


def table_to_definitions(rows):
    header, body = cells(rows[0]), rows[2:]
    out = []
    for row in body:
        c = cells(row)
        if len(c) == 2:
            text = c[1]
        else:
            text = "; ".join(f"{h}: {v}" for h, v in zip(header[1:], c[1:]) if v)
        out += ["", c[0], f":   {text}"]
    return out + [""]


def convert(text, name, description):
    out, in_code, first = [], False, True
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not in_code and line.startswith("|") and i < len(lines) and \
                re.match(r"^\|[ :|-]+\|?\s*$", lines[i]):
            rows = [line]
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            out += table_to_definitions(rows)
            continue
        if line.startswith("```"):
            in_code = not in_code
        if first and line.startswith("# "):
            first = False
            m = re.match(r"# \S+\(\d\) +(?:—|-+) +(.*)", line)
            what = description or (m.group(1) if m else line[2:])
            out += ["# NAME", "", f"{name} - {what}"]
            continue
        if not in_code and line.startswith("## "):
            out.append("# " + line[3:].upper())
        elif not in_code and re.match(r"###+ ", line):
            out.append(line[1:])
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def main():
    pandoc, src, dst, name, section, version = sys.argv[1:7]
    description = sys.argv[7] if len(sys.argv) > 7 else ""
    with open(src, encoding="utf-8") as f:
        md = convert(f.read(), name, description)
    subprocess.run([pandoc, "--standalone", "--from", "markdown-smart", "--to", "man",
                    "--metadata", f"title={name.upper()}", "--metadata", f"section={section}",
                    "--metadata", f"header=ip25b {version}", "--metadata", f"footer=ip25b {version}",
                    "--output", dst], input=md.encode(), check=True)


if __name__ == "__main__":
    main()
