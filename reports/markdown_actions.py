"""Action items of a Markdown postmortem as remediations: a table (columns for the title,
kind, owner, due date, tracker, status…) or a list (`- [x] done`, `(owner: alice, due
2024-05-20)`, a link as the tracker). Used by reports/markdown_files.py."""

from __future__ import annotations

import re
from typing import Any

from incidents.records import MAX_TITLE
from reports import markdown_blocks as blocks
from reports.markdown_blocks import normalise_heading, synonyms

_ITEM_STATUSES = {
    "open": "open", "todo": "open", "to do": "open", "not started": "open", "new": "open",
    "planned": "open", "in progress": "in_progress", "in_progress": "in_progress",
    "started": "in_progress", "doing": "in_progress", "ongoing": "in_progress",
    "done": "done", "fixed": "done", "complete": "done", "completed": "done",
    "closed": "done", "resolved": "done", "finished": "done",
    "wont_do": "wont_do", "won't do": "wont_do", "wont do": "wont_do", "won't fix": "wont_do",
    "wontfix": "wont_do", "wont fix": "wont_do", "cancelled": "wont_do", "canceled": "wont_do",
}  # fmt: skip
_KINDS = {
    "prevent": "prevent", "prevention": "prevent", "preventive": "prevent",
    "mitigate": "mitigate", "mitigation": "mitigate", "repair": "mitigate",
    "detect": "detect", "detection": "detect", "monitoring": "detect", "alerting": "detect",
    "process": "process",
}  # fmt: skip
# Table header (normalised) → remediation field.
_COLUMNS = synonyms(
    title="action item|action items|action|item|title|task|what|corrective action|"
    "remediation|follow-up",
    kind="type|kind",
    owner="owner|assignee|who|responsible|assigned to|dri",
    due="due|due date|deadline|by when|target date|eta",
    tracker="bug|ticket|tracker|issue|link|jira|tracking|tracker url",
    status="status|state",
    opened_at="opened|opened at",
    done_at="done|done at|completed|closed",
    category="failure mode|category",
    description="notes|details|description",
)
_TASK = re.compile(r"^\[([ xX])\][ \t]+")
_LINK = re.compile(r"\[([^\]\n]*)\]\((https?://[^)\s]+)\)")
_URL = re.compile(r"https?://[^\s)|>]+")
_OWNER_IN_TEXT = re.compile(
    r"[ \t]*[(\[,;–—-]?[ \t]*\b(?:owner|assignee):[ \t]*@?([\w.@+-]+)[)\]]?", re.I
)
_DUE_IN_TEXT = re.compile(
    r"[ \t]*[(\[,;–—-]?[ \t]*\bdue(?: date)?:?[ \t]*(\d{4}-\d{2}-\d{2})[)\]]?", re.I
)


def read_action_items(
    content: list[str], warnings: list[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Remediations from an action-items section's lines (a table or a list), and the lines
    that are neither. Problems that don't stop the import are added to `warnings`."""
    found: list[dict[str, Any]] = []
    tables, rest = blocks.tables(content)
    leftover: list[str] = []
    for header, rows, source in tables:
        columns = _columns(header)
        if columns is None:
            leftover.extend(source)
            continue
        for row in rows:
            cells = {name: row[n] if n < len(row) else "" for name, n in columns.items()}
            if cells.get("title", "").strip():
                found.append(_remediation(warnings, cells))
    items, other = blocks.items(rest)
    leftover.extend(other)
    for item in items:
        first, status = item[0], ""
        task = _TASK.match(first)
        if task:
            status = "open" if task.group(1) == " " else "done"
            first = first[task.end() :]
        cells = {"title": first, "status": status, "description": "\n".join(item[1:]).strip()}
        owner = _OWNER_IN_TEXT.search(first)
        if owner:
            cells["owner"], first = owner.group(1), first.replace(owner.group(0), "")
        due = _DUE_IN_TEXT.search(first)
        if due:
            cells["due"], first = due.group(1), first.replace(due.group(0), "")
        cells["title"] = first
        if first.strip():
            found.append(_remediation(warnings, cells))
    # Two items of one title are told apart by `tell_alike_apart` (it needs the stored ones).
    return found, leftover


def _same(item: dict[str, Any], stored: dict[str, Any]) -> bool:
    """Whether an action item read from a file says what a stored remediation's export says."""
    return all((item.get(name) or None) == (value or None) for name, value in stored.items())


def tell_alike_apart(
    found: list[dict[str, Any]], stored: list[dict[str, Any]], warnings: list[str]
) -> list[dict[str, Any]]:
    """The action items with no title twice, as one record needs them.

    `stored` are the exported remediations (`export_record`) of the incident the file
    updates, in their order, which a download keeps. The first item of a title is matched to
    the first stored one of that title by the import; each further item that says exactly
    what the next stored one of that title says is left out (nothing to change, so importing
    an unchanged download adds nothing: issue 15); any other is renamed "title (2)" with a
    warning, as a new remediation.
    """
    alike: dict[str, list[dict[str, Any]]] = {}
    for remediation in stored:
        alike.setdefault(remediation["title"], []).append(remediation)
    kept: list[dict[str, Any]] = []
    titles: dict[str, int] = {}
    for item in found:
        base = item["title"]
        titles[base] = titles.get(base, 0) + 1
        pair = alike.get(base, [])
        paired = pair[titles[base] - 1] if titles[base] <= len(pair) else None
        if titles[base] > 1:
            if paired is not None and _same(item, paired):
                continue
            item["title"] = f"{base} ({titles[base]})"[:MAX_TITLE]
            warnings.append(f"action item {base!r} appears twice: renamed {item['title']!r}")
        kept.append(item)
    return kept


def _columns(header: list[str]) -> dict[str, int] | None:
    columns: dict[str, int] = {}
    for n, cell in enumerate(header):
        name = _COLUMNS.get(normalise_heading(cell))
        if name and name not in columns:
            columns[name] = n
    if "title" not in columns:
        if "description" in columns:
            columns["title"] = columns.pop("description")
        elif header:
            columns["title"] = 0
    return columns


def _remediation(warnings: list[str], cells: dict[str, str]) -> dict[str, Any]:
    title = cells["title"].strip()
    description = cells.get("description", "")
    tracker = cells.get("tracker", "").strip()
    tracker_url = None
    if re.fullmatch(r"https?://\S+", tracker):
        tracker_url = tracker
    # A link in the title is the tracker only where the table has no tracker column (lists,
    # bare tables); a title in a table that has one is kept as written.
    in_title = "tracker" not in cells
    for text in () if tracker_url else (tracker, title) if in_title else (tracker,):
        link = _LINK.search(text) or _URL.search(text)
        if link:
            tracker_url = link.group(2) if link.re is _LINK else link.group(0)
            break
    if tracker and not tracker_url:
        description = f"{description}\nTracker: {tracker}".strip("\n")
    if in_title:
        title = _LINK.sub(lambda m: m.group(1), title).strip(" \t-–—:")
    if len(title) > MAX_TITLE:
        description = f"{title}\n\n{description}".strip("\n")
        title = title[: MAX_TITLE - 1].rsplit(" ", 1)[0] + "…"
    item: dict[str, Any] = {
        "title": title,
        "description": description,
        "tracker_url": tracker_url,
    }
    kind = cells.get("kind", "").strip().lower()
    if kind:
        if kind in _KINDS:
            item["kind"] = _KINDS[kind]
        else:
            warnings.append(
                f"action item {title!r}: type {kind!r} is not a kind Once knows; left as prevent"
            )
    status = cells.get("status", "").strip().lower().replace("’", "'")
    if status:
        if status in _ITEM_STATUSES:
            item["status"] = _ITEM_STATUSES[status]
        else:
            warnings.append(f"action item {title!r}: status {status!r} is not known; left open")
    owner = cells.get("owner", "").strip().lstrip("@")
    if owner:
        item["owner"] = owner
    due = cells.get("due", "").strip()
    if due:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", due):
            item["due_date"] = due
        else:
            item["description"] = f"{item['description']}\nDue: {due}".strip("\n")
            warnings.append(
                f"action item {title!r}: due date {due!r} is not YYYY-MM-DD; "
                "kept in its description"
            )
    for name in ("opened_at", "done_at", "category"):
        if cells.get(name, "").strip():
            item[name] = cells[name].strip()
    return item
