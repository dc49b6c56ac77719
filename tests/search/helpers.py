"""Storing incidents the way the product does (the interchange path), committed and indexed."""

from __future__ import annotations

from typing import Any

from incidents.models import Incident
from reports.interchange import apply_record, parse_record

_counter = iter(range(1, 10**6))


def store(capture: Any, title: str, **fields: Any) -> Incident:
    """Save one incident through apply_record; `capture` is django_capture_on_commit_callbacks.

    Tests run inside a transaction that never commits, so the after-commit work of a save
    (indexing for search) runs when the capture block ends, as it would on a real commit.
    """
    record = {
        "external_id": f"t-{next(_counter)}",
        "title": title,
        "started_at": fields.pop("started_at", "2024-01-10T10:00:00Z"),
        **fields,
    }
    with capture(execute=True):
        result = apply_record(parse_record(record))
    return result.incident
