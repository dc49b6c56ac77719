"""The public incident corpus (../shared/corpus/public-incidents.jsonl) as interchange records.

The corpus is not ours: it is read from beside the repository at run time and never copied
into it. Its fields map onto the interchange format like this:

    id → external_id      title, summary → title, summary      details → body (Markdown)
    categories → categories (each a top-level failure mode)       url → source_url
    date ("2019", "2019-06", "2019-06-14" or null) → started_at (first day; 2000-01-01 if none)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _shared() -> Path:
    """The `shared` folder beside the repository (or beside a folder holding a worktree of it)."""
    repository = Path(__file__).resolve().parents[1]
    for folder in repository.parents:
        if (folder / "shared").is_dir():
            return folder / "shared"
    return repository.parent / "shared"


SHARED = _shared()
CORPUS = SHARED / "corpus" / "public-incidents.jsonl"
UNKNOWN_DATE = "2000-01-01"


def corpus_records(path: Path = CORPUS) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _started(date: str | None) -> str:
    if not date:
        return UNKNOWN_DATE
    parts = date.split("-") + ["01", "01"]
    return "-".join(parts[:3])


def to_interchange(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "external_id": record["id"],
        "title": record["title"][:200],
        "summary": record["summary"],
        "body": record.get("details") or "",
        "started_at": _started(record.get("date")),
        "categories": [c.replace(">", "-").strip() for c in record["categories"] if c.strip()],
        "source_url": record.get("url") or "",
    }


def interchange_lines(path: Path = CORPUS) -> Iterator[str]:
    for record in corpus_records(path):
        yield json.dumps(to_interchange(record))
