#!/usr/bin/env python3
"""Checks docs/api/options.md against the headers: every options struct of include/xkeras is
listed, with its members in declaration order (the order C++ requires designated initializers
in). Prints what differs and exits 1; with --print, prints the table the headers give."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def members(body):
    """The names of a struct body's data members, in order."""
    body = re.sub(r"//[^\n]*", "", body)
    names, depth, stmt = [], 0, ""
    for ch in body:
        if ch in "({[<":
            depth += 1
        elif ch in ")}]>":
            depth -= 1
        if ch == ";" and depth == 0:
            head = re.split(r"[={]", stmt, maxsplit=1)[0].strip()
            if head and "(" not in head and not head.startswith(("using ", "static ")):
                names.append(re.findall(r"\w+", head)[-1])
            stmt = ""
        else:
            stmt += ch
    return names


def header_structs():
    out = []
    for path in sorted((ROOT / "include" / "xkeras").rglob("*.hpp")):
        text = path.read_text()
        for m in re.finditer(r"^struct (\w+(?:Options|_options)) \{\n(.*?)^\};", text, re.M | re.S):
            out.append((m.group(1), str(path.relative_to(ROOT / "include")), members(m.group(2))))
    return out


def doc_rows(doc):
    rows = []
    for line in doc.read_text().splitlines():
        m = re.match(r"\| `(\w+)` \| `([\w/.]+)` \| (.*) \|$", line)
        if m:
            rows.append((m.group(1), m.group(2), re.findall(r"`\.?(\w+)`", m.group(3))))
    return rows


def row(name, header, fields):
    return f"| `{name}` | `{header}` | " + ", ".join(f"`.{f}`" for f in fields) + " |"


def main():
    structs = header_structs()
    if "--print" in sys.argv:
        for s in sorted(structs):
            print(row(*s))
        return 0
    doc = ROOT / "docs" / "api" / "options.md"
    listed = {name: (header, fields) for name, header, fields in doc_rows(doc)}
    bad = 0
    for name, header, fields in structs:
        if listed.get(name) != (header, fields):
            print(f"{doc}: expected the row\n  {row(name, header, fields)}\ngot "
                  + (row(name, *listed[name]) if name in listed else "no row"))
            bad += 1
    for name in sorted(set(listed) - {s[0] for s in structs}):
        print(f"{doc}: lists `{name}`, which no header declares")
        bad += 1
    print(f"options_order: {len(structs)} structs, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
