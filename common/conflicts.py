"""What changed between the version an editor started from and the one saved meanwhile.

Used by the edit pages when a save is refused as stale: the refused editor sees the other
person's changes, field by field, with their own text kept in the form to merge.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.http import QueryDict


@dataclass
class FieldChange:
    label: str
    before: str
    after: str
    # For multi-line text: (marker, line) pairs with marker in "+", "-", " ".
    diff: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Conflict:
    changed_by: Any  # the user who saved the newer version, or None if unknown
    changed_at: Any
    current_version: int
    changes: list[FieldChange]


def _display(instance: Any, name: str) -> str:
    value = getattr(instance, name)
    display = getattr(instance, f"get_{name}_display", None)
    if display is not None:
        return str(display())
    if value is None or value == "":
        return "—"
    return str(value)


def describe_conflict(
    current: models.Model, base_version: int | None, field_names: list[str]
) -> Conflict:
    """Compare the current row with its history record at `base_version`."""
    history = current.history  # type: ignore[attr-defined]
    latest = history.order_by("-history_date", "-history_id").first()
    base = (
        history.filter(version=base_version).order_by("-history_date").first()
        if base_version
        else None
    )
    changes: list[FieldChange] = []
    for name in field_names:
        label = str(current._meta.get_field(name).verbose_name).capitalize()
        after = _display(current, name)
        before = _display(base, name) if base is not None else "(unknown)"
        if before == after:
            continue
        change = FieldChange(label=label, before=before, after=after)
        if "\n" in before or "\n" in after:
            for line in difflib.ndiff(before.splitlines(), after.splitlines()):
                if line[:1] in "+- ":
                    change.diff.append((line[:1], line[2:]))
        changes.append(change)
    return Conflict(
        changed_by=getattr(latest, "history_user", None),
        changed_at=getattr(latest, "history_date", None),
        current_version=current.version,  # type: ignore[attr-defined]
        changes=changes,
    )


def rebase(data: QueryDict, current_version: int, prefix: str = "") -> QueryDict:
    """The submitted data, now based on the current version, so a second save goes through."""
    rebased = data.copy()
    rebased[f"{prefix}version"] = str(current_version)
    return rebased
