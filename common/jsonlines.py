"""JSON Lines, as every import and export of Once reads and writes them (PRODUCT.md,
"Interchange format"; "One set of rules for every way in").

Lines end at "\\n" only (U+2028 inside a title is text, not a line end) and each is decoded on
its own, so one line of bad UTF-8 costs only that line; a UTF-8 byte-order mark and a "\\r"
before the "\\n" are ignored. Writing escapes the characters other readers take for line ends,
so export → import → export is identical whatever the text holds.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

# JSON nested deeper than this is refused before it is decoded: no record needs it, and
# Python's decoder would otherwise recurse until it fails.
MAX_DEPTH = 20


class InvalidRecord(ValueError):
    """A line that can't be stored; the message says why, in words a person understands."""


def split_lines(data: bytes) -> list[bytes]:
    """A file's lines, numbered from 1 by their position: without the BOM, "\\r" or "\\n"."""
    lines = data.removeprefix(codecs.BOM_UTF8).split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return [line.removesuffix(b"\r") for line in lines]


def decode_line(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """One line's bytes (without its \\n) as a JSON value; InvalidRecord saying why not."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidRecord(
                f"not UTF-8 (byte {raw[error.start]:#04x} at position {error.start + 1})"
            ) from None
    else:
        text = raw
    if json_depth(text) > max_depth:
        raise InvalidRecord(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidRecord(f"not JSON ({error.msg} at column {error.colno})") from None
    except ValueError as error:  # a number of more than 4,300 digits, and the like
        raise InvalidRecord(f"not JSON Once can read ({error})") from None
    except RecursionError:  # json_depth is a bound on brackets outside strings: belt and braces
        raise InvalidRecord(f"nested deeper than {max_depth} levels") from None


def json_depth(text: str) -> int:
    """The deepest bracket nesting outside JSON strings (an upper bound for valid JSON)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


# Characters that end a line for some readers (str.splitlines, editors, JavaScript) though not
# for JSON Lines: written as \u escapes, so a line of an export splits only at its newline.
_LINE_ENDINGS = {ord(c): f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"}


def encode_line(record: dict[str, Any]) -> str:
    """One record as a line of JSON Lines (without the "\\n"): UTF-8 text, one line whatever
    the text holds."""
    return json.dumps(record, ensure_ascii=False).translate(_LINE_ENDINGS)
