#!/usr/bin/env python3
"""Replaces generated sections of docs/bench.md.

  write-doc.py DOC RESULTS_DIR SECTION...

Each SECTION's text (RESULTS_DIR/SECTION) goes between the lines `<!-- bench:SECTION:begin -->`
and `<!-- bench:SECTION:end -->` of DOC; everything outside the markers is left as it is. A
section without its markers is an error (the doc says where results go, not this script).
"""

import sys


def replace(doc, section, text):
    begin, end = f"<!-- bench:{section}:begin -->", f"<!-- bench:{section}:end -->"
    if begin not in doc or end not in doc:
        raise SystemExit(f"write-doc: no {begin} ... {end} in the document")
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{text.strip()}\n{end}{tail}"


def main():
    path, results, sections = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(path) as handle:
        doc = handle.read()
    for section in sections:
        with open(f"{results}/{section}") as handle:
            doc = replace(doc, section, handle.read())
    with open(path, "w") as handle:
        handle.write(doc)


if __name__ == "__main__":
    main()
