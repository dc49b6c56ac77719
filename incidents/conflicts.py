"""Two people editing one incident: what the other changed, and a merge that loses neither.

An incident's version covers the whole record — its fields and its parts (categories,
services, causes, timeline) — and each history record keeps the parts of its version
(`Incident.history…parts`). So when a save is refused as stale, the conflict page can tell,
field by field and part by part, what the other person changed since the version this editor
started from, and build the form again from a three-way merge: what this editor changed is
kept as typed, and everything they left alone takes the other person's newer value. Saving
from that page loses nobody's work (issue 10, item 3).
"""

from __future__ import annotations

import datetime
import difflib
from dataclasses import dataclass
from typing import Any

from common import dates
from common.conflicts import Conflict
from common.diffs import item_changes
from common.history import FieldChange, Version, moment, versions
from incidents.actions import parts_of, record_of
from incidents.models import CauseKind, Incident, IncidentStatus, Severity, Visibility
from incidents.records import PART_FIELDS

FIELDS = (
    "title", "summary", "severity", "status", "started_at", "detected_at", "resolved_at", "body",
    "visibility",
)  # fmt: skip
LABELS = {
    "title": "Title", "summary": "Summary", "severity": "Severity", "status": "Status",
    "started_at": "Started", "detected_at": "Detected", "resolved_at": "Resolved",
    "body": "Report", "categories": "Failure modes", "services": "Services",
    "causes": "Causes", "timeline": "Timeline", "visibility": "Who sees it",
    "access_groups": "Access groups",
}  # fmt: skip
_CHOICES = {
    "severity": dict(Severity.choices),
    "status": dict(IncidentStatus.choices),
    "visibility": dict(Visibility.choices),
}
_KINDS = dict(CauseKind.choices)


@dataclass
class Merge:
    record: dict[str, Any]  # what the conflict page's form holds
    conflict: Conflict  # what the other person changed


def _items(key: str, value: Any) -> list[str]:
    """A list part as a person reads it, one string per item (as the incident page shows it)."""
    if key == "causes":
        return [
            f"{_KINDS.get(c['kind'], c['kind'])}: {c['description']}"
            + (f" [{c['category']}]" if c["category"] else "")
            for c in value
        ]
    if key == "timeline":
        return [f"{_timeline_time(t['at'])} {t['text']}" for t in value]
    return [str(item) for item in value or []]


def _timeline_time(at: str) -> str:
    """A timeline entry's time as the incident page shows it (common/dates.py)."""
    moment = datetime.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return dates.moment(moment)


def _text(key: str, value: Any) -> str:
    """A field or part as a person reads it, one line per item for lists."""
    if key in ("services", "access_groups"):
        return ", ".join(value or []) or "—"
    if key in PART_FIELDS:
        return "\n".join(_items(key, value)) or "—"
    if key in _CHOICES:
        return str(_CHOICES[key].get(value, value))
    if hasattr(value, "strftime"):
        return moment(value)
    return "—" if value in (None, "") else str(value)


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """A record's fields and parts in one plain shape, so equal records compare equal."""
    return {**{name: record.get(name) for name in FIELDS}, **parts_of(record)}


def _historical(record: Any) -> dict[str, Any] | None:
    """A history record as comparable(), or None when its parts were not kept."""
    if record is None or record.parts is None:
        return None
    return {**{name: getattr(record, name) for name in FIELDS}, **record.parts}


def change(key: str, before: Any, after: Any, *, yours_kept: bool = False) -> FieldChange:
    """How a field or part changed: lists item by item, text by hunks (common/diffs.py)."""
    result = FieldChange(
        label=LABELS[key], before=_text(key, before), after=_text(key, after),
        yours_kept=yours_kept,
    )  # fmt: skip
    if key in PART_FIELDS:
        ordered = key in ("causes", "timeline")
        result.items = item_changes(_items(key, before), _items(key, after), ordered=ordered)
    return result


def merge_edit(current: Incident, base_version: int, mine: dict[str, Any]) -> Merge:
    """Merge a refused edit (`mine`, a cleaned record based on `base_version`) with `current`.

    For each field and part: unchanged by this editor → the current value; changed → this
    editor's value, marked when the other person changed it too. When the base version's parts
    are unknown (saved before parts were kept), this editor's parts are kept.
    """
    history = current.history
    base_row = history.filter(version=base_version).order_by("-history_id").first()
    latest = history.order_by("-history_id").first()
    theirs_record = record_of(current)
    theirs, ours = comparable(theirs_record), comparable(mine)
    base = _historical(base_row)
    if base is None and base_row is not None:
        base = {**{n: getattr(base_row, n) for n in FIELDS}}  # fields only
    merged = dict(mine)
    changes: list[FieldChange] = []
    for key in (*FIELDS, *PART_FIELDS):
        if base is None or key not in base:
            continue  # unknown base: keep what this editor has
        clash = ours[key] != base[key]
        if ours[key] == base[key]:
            merged[key] = theirs_record[key]
        elif key in PART_FIELDS and theirs[key] != base[key]:
            merged[key] = _from_parts(key, merge_items(base[key], ours[key], theirs[key]))
        elif key in TEXTS and theirs[key] != base[key]:
            merged[key], clean = merge_text(base[key], ours[key], theirs[key])
            clash = not clean
        if theirs[key] != base[key]:
            changes.append(change(key, base[key], theirs[key], yours_kept=clash))
    if base is None:
        changes.append(FieldChange(label="(earlier version not found)", before="", after=""))
    conflict = Conflict(
        changed_by=getattr(latest, "history_user", None),
        changed_at=getattr(latest, "history_date", None),
        current_version=current.version,
        changes=changes,
    )
    return Merge(record=merged, conflict=conflict)


TEXTS = ("summary", "body")  # multi-line text, merged line by line


def merge_text(base: str, mine: str, theirs: str) -> tuple[str, bool]:
    """A three-way merge of two edits of one text, line by line: `(merged, clean)`.

    When the two people changed different lines, both changes are applied (clean). When they
    changed the same lines, this editor's text is kept whole and `clean` is False: the page
    shows the other person's change beside it to merge by hand.
    """
    if mine == theirs or theirs == base:
        return mine, True
    if mine == base:
        return theirs, True
    lines = base.splitlines(keepends=True)
    edits = []
    for who, text in (("mine", mine), ("theirs", theirs)):
        other = text.splitlines(keepends=True)
        matcher = difflib.SequenceMatcher(None, lines, other, autojunk=False)
        edits += [
            (i1, i2, tuple(other[j1:j2]), who)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes()
            if tag != "equal"
        ]
    edits = sorted(set(edits), key=lambda e: (e[0], e[1], e[3]))
    for a, b in zip(edits, edits[1:], strict=False):
        same_change = a[:3] == b[:3]
        overlaps = b[0] < a[1] or (a[0] == b[0] and (a[0] == a[1] or b[0] == b[1]))
        if a[3] != b[3] and overlaps and not same_change:
            return mine, False
    out: list[str] = []
    position = 0
    seen: set[tuple[int, int, tuple[str, ...]]] = set()
    for i1, i2, replacement, _ in edits:
        if (i1, i2, replacement) in seen:
            continue  # both made the very same change
        seen.add((i1, i2, replacement))
        out += lines[position:i1]
        out += replacement
        position = i2
    out += lines[position:]
    return "".join(out), True


def merge_items(base: list[Any], mine: list[Any], theirs: list[Any]) -> list[Any]:
    """A three-way merge of two edits of one list, item by item.

    Items this editor kept are dropped where the other person removed or changed them; the
    other person's new or changed items are added. So two people changing different causes
    or timeline entries both keep their change, and when both changed the same item, both
    versions stay for a person to choose.
    """
    removed_by_them = list(base)
    for item in theirs:
        if item in removed_by_them:
            removed_by_them.remove(item)
    added_by_them = list(theirs)
    for item in base:
        if item in added_by_them:
            added_by_them.remove(item)
    result = []
    for item in mine:
        if item in removed_by_them and item in base:
            removed_by_them.remove(item)
            continue
        result.append(item)
    return result + [item for item in added_by_them if item not in result]


def _from_parts(key: str, items: list[Any]) -> list[Any]:
    """Items in parts_of's shape back in a record's (timeline times as datetimes)."""
    if key != "timeline":
        return items
    entries = [
        {"at": datetime.datetime.fromisoformat(t["at"].replace("Z", "+00:00")), "text": t["text"]}
        for t in items
    ]
    return sorted(entries, key=lambda t: t["at"])


def incident_versions(incident: Incident, viewer: Any = None) -> list[Version]:
    """Every version of the incident, newest first, with its field and part changes.

    `viewer` (None: the system) reads an original hidden from them as "an incident you can't
    see", never by its reference (PRODUCT.md, "Who may see and change what")."""
    result = versions(incident, list(FIELDS))
    history = incident.history
    parts = dict(history.values_list("history_id", "parts"))
    ids = list(history.order_by("history_date", "history_id").values_list("history_id", flat=True))
    by_number = list(reversed(result))
    for n in range(1, min(len(ids), len(by_number))):
        before, after = parts.get(ids[n - 1]), parts.get(ids[n])
        if before is None or after is None:
            continue
        for key in PART_FIELDS:
            # Versions kept before access groups existed have none: read them as [].
            old, new = before.get(key, []), after.get(key, [])
            if old != new:
                by_number[n].changes.append(change(key, old, new))
    _duplicate_changes(incident, by_number, viewer)
    return result


def _duplicate_changes(incident: Incident, by_number: list[Version], viewer: Any) -> None:
    """ "Duplicate of: — → INC-7" on the versions that marked or un-marked the incident."""
    marks = list(
        incident.history.order_by("history_date", "history_id").values_list(
            "duplicate_of_id", flat=True
        )
    )
    named = {pk for pk in marks if pk}
    visible = Incident.objects.visible_to(viewer).filter(pk__in=named)
    seen = set(visible.values_list("pk", flat=True)) if named else set()

    def shown(pk: int | None) -> str:
        if not pk:
            return "—"
        return f"INC-{pk}" if pk in seen else "an incident you can't see"

    for n in range(1, min(len(marks), len(by_number))):
        if marks[n] != marks[n - 1]:
            old, new = shown(marks[n - 1]), shown(marks[n])
            by_number[n].changes.append(FieldChange(label="Duplicate of", before=old, after=new))
