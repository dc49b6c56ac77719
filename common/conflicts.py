"""The page for a refused, stale save: what the other person changed since the editor's version.

The refused editor sees the other person's changes, field by field, with their own text kept
in the form to merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import QueryDict

from common.concurrency import VersionedModel
from common.history import FieldChange, field_changes


@dataclass
class Conflict:
    changed_by: Any  # the user who saved the newer version, or None if unknown
    changed_at: Any
    current_version: int
    changes: list[FieldChange]


def describe_conflict(
    current: VersionedModel, base_version: int | None, field_names: list[str]
) -> Conflict:
    """Compare the current row with its history record at `base_version`."""
    history = current.history  # type: ignore[attr-defined]  # simple-history adds it to the class
    latest = history.order_by("-history_date", "-history_id").first()
    base = (
        history.filter(version=base_version).order_by("-history_date").first()
        if base_version
        else None
    )
    if base is None:
        changes = [FieldChange(label="(earlier version not found)", before="", after="")]
    else:
        changes = field_changes(base, current, type(current), field_names)
    return Conflict(
        changed_by=getattr(latest, "history_user", None),
        changed_at=getattr(latest, "history_date", None),
        current_version=current.version,
        changes=changes,
    )


def rebase(data: QueryDict, current_version: int, prefix: str = "") -> QueryDict:
    """The submitted data, now based on the current version, so a second save goes through."""
    rebased = data.copy()
    rebased[f"{prefix}version"] = str(current_version)
    return rebased
