"""An incident as a Markdown postmortem, the file `/incidents/<id>.md` downloads (PRODUCT.md,
"Writing, duplicates and importing Markdown"). `reports.markdown_files.read_postmortem`
reads it back into the same record: the tests hold the two together."""

from __future__ import annotations

from typing import Any

import yaml

from reports.markdown_files import CATEGORY_LINE, NONE_MARK

_CAUSE_LABEL = {"trigger": "Trigger", "root_cause": "Root cause",
                "contributing": "Contributing factor"}  # fmt: skip
_COLUMNS = ("Action item", "Kind", "Status", "Owner", "Due", "Opened", "Done", "Failure mode",
            "Tracker", "Notes")  # fmt: skip


def _escape_cell(text: str | None) -> str:
    """A table cell: backslash, pipe and `<` escaped, line breaks as `<br>`."""
    text = (text or "").replace("\\", "\\\\").replace("|", "\\|").replace("<", "\\<")
    return text.replace("\n", "<br>")


def _when(stamp: str) -> str:
    """ "2019-03-02T14:05:00Z" as "2019-03-02 14:05 UTC" (seconds only when not zero)."""
    day, clock = stamp.rstrip("Z").split("T")
    return f"{day} {clock[:5] if clock.endswith(':00') else clock} UTC"


def _indented(text: str) -> str:
    """The lines after the first indented by two spaces (a list item's continuation)."""
    first, *rest = text.split("\n")
    return "\n".join([first, *[("  " + line) if line else "" for line in rest]])


def write_postmortem(record: dict[str, Any], *, reference: int | None = None) -> str:
    """An exported record (`reports.interchange.export_record`) as a Markdown postmortem.

    Front matter holds the fields; then `# title`, the report as written, and the structured
    sections last (Summary, Timeline, Causes, Action items), each written even when empty so
    that a heading of the same name inside the report stays in the report on import.
    `reference` is the incident's id: written as `reference: INC-<id>` when the record has no
    external_id, so that `import_markdown` finds the incident again (issue 15).
    """
    meta: dict[str, Any] = {"title": record["title"]}
    if record["external_id"]:
        meta["external_id"] = record["external_id"]
    elif reference is not None:
        meta["reference"] = f"INC-{reference}"
    for name in ("severity", "status", "started_at", "detected_at", "resolved_at"):
        if record[name]:
            meta[name] = record[name]
    for name in ("services", "categories"):
        meta[name] = record[name]
    if record["source_url"]:
        meta["source_url"] = record["source_url"]
    meta["visibility"] = record["visibility"]
    if record["access_groups"]:
        meta["access_groups"] = record["access_groups"]
    if record.get("duplicate_of"):  # written only when the downloader sees the original
        meta["duplicate_of"] = record["duplicate_of"]
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=10_000)
    parts = [f"---\n{front}---", f"# {record['title']}"]
    if record["body"]:
        parts.append(record["body"])
    parts.append("## Summary\n\n" + (record["summary"] or NONE_MARK))
    timeline = [f"- {_when(t['at'])} — {_indented(t['text'])}" for t in record["timeline"]]
    parts.append("## Timeline\n\n" + ("\n".join(timeline) or NONE_MARK))
    causes = []
    for cause in record["causes"]:
        text = f"- {_CAUSE_LABEL[cause['kind']]}: {_indented(cause['description'])}"
        if cause["category"]:
            text += f"\n  Failure mode: {cause['category']}"
        elif CATEGORY_LINE.match(cause["description"].rsplit("\n", 1)[-1].strip()):
            text += "\n  Failure mode: -"  # none: the description's last line is not one
        causes.append(text)
    parts.append("## Causes\n\n" + ("\n".join(causes) or NONE_MARK))
    rows = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    for r in record["remediations"]:
        cells = (r["title"], r["kind"], r["status"], r["owner"], r["due_date"], r["opened_at"],
                 r["done_at"], r["category"], r["tracker_url"], r["description"])  # fmt: skip
        rows.append("| " + " | ".join(_escape_cell(c) for c in cells) + " |")
    parts.append("## Action items\n\n" + ("\n".join(rows) if record["remediations"] else NONE_MARK))
    return "\n\n".join(parts) + "\n"
