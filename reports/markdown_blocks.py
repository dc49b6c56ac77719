"""The pieces of a Markdown file that postmortems are read by: headings, list items and
tables, found line by line (reports/markdown_files.py)."""

from __future__ import annotations

import re


def synonyms(**names: str) -> dict[str, str]:
    """{name: field} from field="name|other name|…"."""
    return {name: target for target, listed in names.items() for name in listed.split("|")}


HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
ITEM = re.compile(r"^ ?([-*+]|\d{1,9}[.)])[ \t]+")
ROW = re.compile(r"^\s*\|.*\|\s*$")
# A delimiter row: one dash a column is enough (GitHub's tables, `|-|-|`).
_SEPARATORROW = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def normalise_heading(text: str) -> str:
    """A heading as SECTIONS keys it: lower case, no emphasis, numbering, colon or "(s)"."""
    text = re.sub(r"[*_`]", "", text).strip().lower()
    text = re.sub(r"^\d+(\.\d+)*[.)]?\s+", "", text)
    text = text.rstrip(":").replace("(s)", "s").replace("’", "'")
    return re.sub(r"\s+", " ", text).strip()


def headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line, level, text) of each ATX heading outside fenced code.

    A fence that is never closed hides nothing: CommonMark runs it to the end of the file,
    but here it is one part of a postmortem left open (a report, a summary or a timeline
    entry that stops inside a code block), and the sections after it are still the file's
    (issue 15: re-importing such a download lost its timeline and causes).
    """
    found: list[tuple[int, int, str]] = []
    number = 0
    while number < len(lines):
        opening = FENCE.match(lines[number])
        if opening:
            closing = _closing_fence(lines, number, opening.group(1))
            if closing is not None:
                number = closing + 1
                continue
        heading = HEADING.match(lines[number])
        if heading:
            found.append((number, len(heading.group(1)), heading.group(2)))
        number += 1
    return found


def _closing_fence(lines: list[str], opened: int, fence: str) -> int | None:
    """The line that closes the fence `fence` opened on line `opened`, or None."""
    for number in range(opened + 1, len(lines)):
        closing = FENCE.match(lines[number])
        if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
            return number
    return None


def items(lines: list[str]) -> tuple[list[list[str]], list[str]]:
    """Top-level list items (each its lines, marker and continuation indent removed) and the
    lines that belong to none."""
    items: list[list[str]] = []
    other: list[str] = []
    current: list[str] | None = None
    width = 2
    for n, line in enumerate(lines):
        marker = ITEM.match(line)
        if marker:
            width = marker.end()
            current = [line[width:]]
            items.append(current)
        elif current is not None and line.strip() == "":
            following = next((x for x in lines[n + 1 :] if x.strip()), "")
            if following.startswith((" ", "\t")):
                current.append("")
            else:
                current = None
                other.append(line)
        elif current is not None and line.startswith((" ", "\t")):
            indent = len(line) - len(line.lstrip(" "))
            current.append(line[min(indent, width) :])
        elif current is not None and not ROW.match(line) and not HEADING.match(line):
            current.append(line)  # a lazy continuation line
        else:
            current = None
            other.append(line)
    return items, other


def split_row(line: str) -> list[str]:
    """The cells of a table row, split on unescaped pipes, unescaped (`write_postmortem`'s)."""
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    cells, cell, escaped = [], [], False
    for char in body:
        if escaped:
            cell.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            cells.append("".join(cell))
            cell = []
        else:
            cell.append(char)
    cells.append("".join(cell) + ("\\" if escaped else ""))
    return [_unescape_cell(c.strip()) for c in cells]


def _unescape_cell(cell: str) -> str:
    out, i = [], 0
    while i < len(cell):
        if cell[i] == "\\" and i + 1 < len(cell) and cell[i + 1] in "\\|<":
            out.append(cell[i + 1])
            i += 2
            continue
        br = re.match(r"<br\s*/?>", cell[i:], re.I)
        if br:
            out.append("\n")
            i += br.end()
            continue
        out.append(cell[i])
        i += 1
    return "".join(out)


def tables(
    lines: list[str],
) -> tuple[list[tuple[list[str], list[list[str]], list[str]]], list[str]]:
    """Tables (header cells, rows of cells, their source lines) and the other lines."""
    tables, other, n = [], [], 0
    while n < len(lines):
        if ROW.match(lines[n]) and n + 1 < len(lines) and _SEPARATORROW.match(lines[n + 1]):
            header = split_row(lines[n])
            end = n + 2
            while end < len(lines) and ROW.match(lines[end]):
                end += 1
            rows = [split_row(line) for line in lines[n + 2 : end]]
            tables.append((header, rows, lines[n:end]))
            n = end
        else:
            other.append(lines[n])
            n += 1
    return tables, other
