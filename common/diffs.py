"""Readable differences for the history pages and the conflict page (issue 15, item 4).

Text is compared line by line (difflib) and only the changed hunks are kept, with a little
context; inside a changed line the words that changed are marked. Lists (causes, timeline,
categories, services, remediations) are compared item by item: added, removed or changed.

Nothing here builds HTML: the templates render the segments (`common/_diff.html`), so every
piece of user text is escaped by the template engine.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

CONTEXT = 2  # unchanged lines shown around each change
PAIRED = 0.4  # how alike two lines must be (difflib ratio) to be shown as one changed line
MAX_WORDS = 3000  # longer lines are marked whole: word matching is quadratic at worst
MAX_PAIRS = 300  # lines compared word by word in one diff; past it, changed lines show whole

# A segment of a line: ("same" | "added" | "removed", text).
Segment = tuple[str, str]

_WORD = re.compile(r"\w+|\s+|[^\w\s]")


@dataclass
class Side:
    """One side of a diff row: a line of the old or the new text."""

    number: int
    kind: str  # "same", "added" (new side) or "removed" (old side)
    segments: list[Segment]


@dataclass
class Row:
    """A row of the side-by-side view; the unified view stacks `old` above `new`."""

    old: Side | None
    new: Side | None

    @property
    def same(self) -> bool:
        return self.old is not None and self.old.kind == "same"


@dataclass
class Hunk:
    """Changed lines with their context; `skipped` unchanged lines come before it."""

    rows: list[Row]
    skipped: int = 0

    @property
    def first_line(self) -> int:
        """The number of the hunk's first line in the new text (1-based)."""
        for row in self.rows:
            if row.new is not None:
                return row.new.number
        return self.rows[0].old.number if self.rows and self.rows[0].old else 1


@dataclass
class TextDiff:
    """Only the changed hunks of two texts; `skipped_after`: unchanged lines after the last."""

    hunks: list[Hunk] = field(default_factory=list)
    skipped_after: int = 0


@dataclass
class Item:
    """An added, removed or changed item of a list (a cause, a timeline entry, a service…)."""

    kind: str  # "added", "removed" or "changed"
    text: str
    segments: list[Segment] = field(default_factory=list)  # for "changed": word-level marks


def words(old: str, new: str) -> tuple[list[Segment], list[Segment]]:
    """Word-level marks of two versions of a line: (old segments, new segments).

    Unchanged runs are "same"; in the old line the words taken out are "removed", in the new
    line the words put in are "added". Runs of one kind are merged.
    """
    a, b = _WORD.findall(old), _WORD.findall(new)
    if len(a) + len(b) > MAX_WORDS:
        return [("removed", old)] if old else [], [("added", new)] if new else []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    left: list[Segment] = []
    right: list[Segment] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            _push(left, "same", "".join(a[i1:i2]))
            _push(right, "same", "".join(b[j1:j2]))
        else:
            _push(left, "removed", "".join(a[i1:i2]))
            _push(right, "added", "".join(b[j1:j2]))
    return left, right


def inline(old: str, new: str) -> list[Segment]:
    """One line with both versions' words: removed words then added words at each change."""
    left, right = words(old, new)
    a, b = _WORD.findall(old), _WORD.findall(new)
    if len(a) + len(b) > MAX_WORDS:
        return left + [("same", " ")] + right
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    result: list[Segment] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            _push(result, "same", "".join(a[i1:i2]))
            continue
        _push(result, "removed", "".join(a[i1:i2]))
        _push(result, "added", "".join(b[j1:j2]))
    return result


def _push(segments: list[Segment], kind: str, text: str) -> None:
    if not text:
        return
    if segments and segments[-1][0] == kind:
        segments[-1] = (kind, segments[-1][1] + text)
    else:
        segments.append((kind, text))


def text_diff(old: str, new: str, context: int = CONTEXT) -> TextDiff:
    """The hunks that differ between two texts, with `context` unchanged lines around each.

    A line changed in place is one row, word-marked on both sides; lines only removed or only
    added have one side. Line numbers are 1-based.
    """
    a, b = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    result = TextDiff()
    position = 0  # in `a`: where the previous hunk ended
    budget = [MAX_PAIRS]  # a report rewritten whole must not take seconds to show
    for group in matcher.get_grouped_opcodes(context):
        hunk = Hunk(rows=[], skipped=group[0][1] - position)
        for tag, i1, i2, j1, j2 in group:
            hunk.rows += _rows(tag, a, b, i1, i2, j1, j2, budget)
        position = group[-1][2]
        result.hunks.append(hunk)
    if result.hunks:
        result.skipped_after = len(a) - position
    return result


def _rows(
    tag: str, a: list[str], b: list[str], i1: int, i2: int, j1: int, j2: int, budget: list[int]
) -> list[Row]:
    if tag == "equal":
        return [
            Row(Side(i + 1, "same", [("same", a[i])]), Side(j + 1, "same", [("same", b[j])]))
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
        ]
    rows = []
    removed = list(range(i1, i2))
    added = list(range(j1, j2))
    # A replaced block: lines that are still alike are one changed line; others stand alone.
    while removed and added:
        i, j = removed[0], added[0]
        budget[0] -= 1
        if budget[0] >= 0 and _alike(a[i], b[j]):
            left, right = words(a[i], b[j])
            rows.append(Row(Side(i + 1, "removed", left), Side(j + 1, "added", right)))
            removed.pop(0)
            added.pop(0)
        elif len(removed) >= len(added):
            rows.append(Row(Side(i + 1, "removed", [("same", a[i])]), None))
            removed.pop(0)
        else:
            rows.append(Row(None, Side(j + 1, "added", [("same", b[j])])))
            added.pop(0)
    # A line only removed or only added is marked by its row, not word by word.
    rows += [Row(Side(i + 1, "removed", [("same", a[i])]), None) for i in removed]
    rows += [Row(None, Side(j + 1, "added", [("same", b[j])])) for j in added]
    return rows


def _alike(old: str, new: str) -> bool:
    """Whether two lines are alike enough to show as one changed line (cheap checks first)."""
    a, b = _WORD.findall(old), _WORD.findall(new)
    if len(a) + len(b) > MAX_WORDS:
        return False  # a huge line is shown removed and added whole
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return (
        matcher.real_quick_ratio() >= PAIRED
        and matcher.quick_ratio() >= PAIRED
        and matcher.ratio() >= PAIRED
    )


def item_changes(old: list[str], new: list[str], *, ordered: bool = True) -> list[Item]:
    """What changed between two lists of items as people read them (one line each).

    Ordered lists (causes, timeline) are matched in order, and an item replaced by one much
    like it is "changed", its words marked; sets (categories, services) are only "added" or
    "removed". Unchanged items are left out.
    """
    if not ordered:
        gone = [("removed", text) for text in old if text not in new]
        came = [("added", text) for text in new if text not in old]
        return [Item(kind, text) for kind, text in gone + came]
    items: list[Item] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    budget = [MAX_PAIRS]
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for row in _rows(tag, old, new, i1, i2, j1, j2, budget):
            if row.old and row.new:
                before, after = old[row.old.number - 1], new[row.new.number - 1]
                items.append(Item("changed", after, inline(before, after)))
            elif row.old:
                items.append(Item("removed", old[row.old.number - 1]))
            elif row.new:
                items.append(Item("added", new[row.new.number - 1]))
    return items
