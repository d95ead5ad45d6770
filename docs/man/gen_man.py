#!/usr/bin/env python3
"""Builds smb2fs(8) / mount.smb2fs(8) from smb2fs.8.in and the option
table of docs/options.md, so the man page and the table cannot drift.

usage: gen_man.py TEMPLATE OPTIONS_MD OUTPUT PROG VERSION
The template's @OPTIONS@ line becomes one .TP entry per table row,
grouped by status; @PROG@, @PROGUPPER@ and @VERSION@ are substituted.
Only the standard library: meson runs it at build time."""
import re
import sys

STATUS_TITLES = [
    ("implemented", "Options"),
    ("no effect", "Accepted, no effect"),
    ("refused", "Refused (exit status 2)"),
]


def split_row(line):
    """Cells of a markdown table row; '\\|' is a literal bar."""
    cells = re.split(r"(?<!\\)\|", line.strip())
    return [c.strip().replace("\\|", "|") for c in cells[1:-1]]


def option_rows(md):
    """(option cell, status, meaning) of the table under '## Options'."""
    lines = md.splitlines()
    try:
        i = lines.index("## Options")
    except ValueError:
        sys.exit("gen_man.py: no '## Options' section")
    while not lines[i].startswith("| Option | Status | Meaning |"):
        i += 1
    rows = []
    for line in lines[i + 2:]:
        if not line.startswith("|"):
            break
        cells = split_row(line)
        if len(cells) != 3:
            sys.exit("gen_man.py: bad table row: " + line)
        rows.append(tuple(cells))
    return rows


def roff(text):
    """Markdown inline text to roff: `code` and **bold** in bold, links as
    their text, backslashes and line-leading dots escaped."""
    text = text.replace("\\", "\\e")
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", text)
    text = text.replace("-", "\\-")
    # plain ASCII out: groff without preconv warns about anything else
    text = "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in text)
    if text.startswith(".") or text.startswith("'"):
        text = "\\&" + text
    return text


def options_section(rows):
    out = []
    for status, title in STATUS_TITLES:
        sel = [r for r in rows if r[1] == status]
        if not sel:
            continue
        out.append(".SS " + title)
        for opt, _, meaning in sel:
            out.append(".TP")
            out.append(roff(opt))
            out.append(roff(meaning))
    bad = [r[0] for r in rows if r[1] not in dict(STATUS_TITLES)]
    if bad:
        sys.exit("gen_man.py: unknown status in rows: " + ", ".join(bad))
    return "\n".join(out)


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    template, options_md, output, prog, version = sys.argv[1:]
    with open(template, encoding="utf-8") as f:
        page = f.read()
    with open(options_md, encoding="utf-8") as f:
        rows = option_rows(f.read())
    page = page.replace("@OPTIONS@", options_section(rows))
    page = page.replace("@PROGUPPER@", prog.upper()).replace("@PROG@", prog)
    page = page.replace("@VERSION@", version)
    with open(output, "w", encoding="utf-8") as f:
        f.write(page)


if __name__ == "__main__":
    main()
