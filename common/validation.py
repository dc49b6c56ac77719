"""The value rules every way in shares (PRODUCT.md, "One set of rules for every way in").

Each `clean_*` function takes a value as it arrived — a JSON value from the API or an import
line, or a value a form field already parsed (a `datetime`, a `date`) — and returns it in the
shape the domain stores, or records a message in an `Errors` and returns None. Callers collect
every message of a record in one pass, so a person fixes everything at once.

Paths name where a message belongs: `("title",)`, `("causes", 1, "kind")` (items from 0).
`Errors.as_lines()` words them for an import report (`causes[2].kind: …`, items from 1) and
`Errors.as_nested()` for the API (`{"causes": [{}, {"kind": ["…"]}]}`, DRF's shape).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

Path = tuple[str | int, ...]

# Times and dates Once stores: PRODUCT.md. Outside this range a value would break pages that
# compute with it (a year-9999 start in -14:00 is year 10000 in UTC), so none is accepted.
EARLIEST = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
LATEST = datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)
RANGE_WORDS = "between 1970-01-01 and 2100-01-01"

# A single-line field holds neither, so a title can't split a form field, an email header or
# a log line. U+2028, U+0085 and the like are text (the export escapes them: interchange.py).
LINE_BREAKS = "\n\r"
_LINE_BREAK = re.compile(f"[{re.escape(LINE_BREAKS)}]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class RecordInvalid(ValueError):
    """A record that can't be stored; `errors` says every reason, each at its path."""

    def __init__(self, errors: Errors) -> None:
        super().__init__("; ".join(errors.as_lines()))
        self.errors = errors


class Errors:
    """Messages collected while cleaning one record, each at the path of its value."""

    def __init__(self) -> None:
        self.items: list[tuple[Path, str]] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, path: Path, message: str) -> None:
        self.items.append((path, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise RecordInvalid(self)

    def as_lines(self) -> list[str]:
        """`["title: …", "causes[2].kind: …"]`, list items counted from 1 as people count."""
        return [
            f"{render_path(path)} {message}" if message[:1].islower() else
            f"{render_path(path)}: {message}"
            for path, message in self.items
        ]  # fmt: skip

    def as_nested(self) -> dict[str, Any]:
        """DRF's error shape: `{"field": ["…"], "causes": [{}, {"kind": ["…"]}]}`."""
        tree: dict[str, Any] = {}
        for path, message in self.items:
            _place(tree, list(path) or ["non_field_errors"], sentence(message))
        return tree

    def at(self, *prefix: str | int) -> list[tuple[Path, str]]:
        """The messages under a path prefix, with the prefix taken off their paths."""
        n = len(prefix)
        return [(path[n:], message) for path, message in self.items if path[:n] == prefix]


def _place(tree: Any, path: list[str | int], message: str) -> None:
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        while len(tree) <= head:
            tree.append({})
        node = tree[head]
    else:
        node = tree
    key = head if isinstance(head, str) else None
    if key is None:
        if not rest:  # an item of a list of values: its messages stand in its place
            if not isinstance(node, list):
                node = tree[head] = []
            node.append(message)
            return
        _place(node, rest, message)
        return
    if not rest:
        node.setdefault(key, []).append(message)
        return
    child = node.setdefault(key, [] if isinstance(rest[0], int) else {})
    _place(child, rest, message)


def sentence(message: str) -> str:
    """A message as it stands beside its field: "is required." → "This field is required."

    Messages about one value start with a verb ("is", "must", "has") so that an import
    report can put the field's name in front ("title is required.").
    """
    return f"This field {message}" if message[:1].islower() else message


def render_path(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "record"


def clean_text(
    value: Any,
    path: Path,
    errors: Errors,
    *,
    max_length: int,
    single_line: bool = False,
    required: bool = False,
    strip: bool = False,
) -> str:
    """A string: no NUL, no lone surrogate, at most `max_length` characters, no line break if
    `single_line`. Multi-line text has its line ends made "\\n" (a browser sends "\\r\\n"), so
    every way in stores the same text.

    None counts as "". Returns "" after recording a message.
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(path, f"must be text, not {_kind(value)}.")
        return ""
    if strip:
        value = value.strip()
    if "\x00" in value:
        errors.add(path, "must not contain the NUL character (\\u0000).")
        return ""
    surrogate = _SURROGATE.search(value)
    if surrogate:  # "\ud800" in JSON decodes to one; no database or encoder can store it
        errors.add(path, f"must not contain a lone surrogate (U+{ord(surrogate.group()):04X}).")
        return ""
    if not single_line and "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if single_line and _LINE_BREAK.search(value):
        errors.add(path, "must be a single line: remove the line break.")
        return ""
    if len(value) > max_length:
        errors.add(path, f"is {len(value):,} characters long; the limit is {max_length:,}.")
        return ""
    if required and not value.strip():
        errors.add(path, "is required.")
        return ""
    return value


def clean_moment(
    value: Any, path: Path, errors: Errors, *, required: bool = False
) -> datetime.datetime | None:
    """A time between 1970 and 2100, as an aware UTC datetime to the second.

    Takes an ISO 8601 date-time (with or without an offset; without one it is UTC), a date
    (midnight UTC), or a datetime a form already parsed.
    """
    if value is None or value == "":
        if required:
            errors.add(path, "is required.")
        return None
    moment: datetime.datetime | None  # declared apart: mypy narrows on later assignments only
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime.combine(value, datetime.time.min)
    elif isinstance(value, str):
        moment = _parse_moment(value.strip())
        if moment is None:
            errors.add(path, f"must be a date or date-time in ISO 8601, not {_show(value)}.")
            return None
    else:
        errors.add(path, f"must be a date or date-time string, not {_kind(value)}.")
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    try:
        if not EARLIEST <= moment <= LATEST:
            raise OverflowError
        # Kept to the second: what every form, export and page shows, so that a save from
        # any of them gives back the time it was given.
        return moment.astimezone(datetime.UTC).replace(microsecond=0)
    except OverflowError:
        errors.add(path, f"must be {RANGE_WORDS}.")
        return None


def _parse_moment(text: str) -> datetime.datetime | None:
    try:
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            if day is None:
                return None
            moment = datetime.datetime.combine(day, datetime.time.min)
    except (ValueError, OverflowError):  # year 0, month 13, offset +99:00…
        return None
    return moment


def clean_date(value: Any, path: Path, errors: Errors) -> datetime.date | None:
    """A calendar date (YYYY-MM-DD) between 1970-01-01 and 2100-01-01, or None."""
    if value is None or value == "":
        return None
    day: datetime.date | None
    if isinstance(value, datetime.datetime):
        day = value.date()
    elif isinstance(value, datetime.date):
        day = value
    elif isinstance(value, str):
        try:
            day = parse_date(value.strip())
        except ValueError:
            day = None
        if day is None:
            errors.add(path, f"must be a date (YYYY-MM-DD), not {_show(value)}.")
            return None
    else:
        errors.add(path, f"must be a date string, not {_kind(value)}.")
        return None
    if not EARLIEST.date() <= day <= LATEST.date():
        errors.add(path, f"must be {RANGE_WORDS}.")
        return None
    return day


def clean_choice(
    value: Any, path: Path, errors: Errors, *, allowed: Iterable[str], default: str
) -> str:
    """One of `allowed`; None or "" is the default."""
    if value is None or value == "":
        return default
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        errors.add(path, f"must be one of {', '.join(allowed)}, not {_show(value)}.")
        return default
    return value


def clean_list(value: Any, path: Path, errors: Errors, *, item: type, max_items: int) -> list[Any]:
    """A list of at most `max_items` items of one JSON type (str, dict or int); None is []."""
    if value is None:
        return []
    noun = {str: "texts", int: "ids"}.get(item, "objects")
    if not isinstance(value, list):
        errors.add(path, f"must be a list of {noun}, not {_kind(value)}.")
        return []
    if len(value) > max_items:
        errors.add(path, f"has {len(value):,} items; the limit is {max_items:,}.")
        return []
    for n, element in enumerate(value):
        if not isinstance(element, item) or (item is int and isinstance(element, bool)):
            expected = {str: "text", int: "a whole number"}.get(item, "an object")
            errors.add((*path, n), f"must be {expected}, not {_kind(element)}.")
            return []
    return value


def _kind(value: Any) -> str:
    return {
        dict: "an object", list: "a list", bool: "true or false", int: "a number",
        float: "a number", type(None): "null", str: "text",
    }.get(type(value), type(value).__name__)  # fmt: skip


def _show(value: Any) -> str:
    """A value quoted for a message, cut short and with control characters escaped."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"
