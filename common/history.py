"""Differences between two versions of a row, for the history pages and the conflict page.

Versions come from django-simple-history: every save of an incident or remediation keeps the
previous state with who saved it and when.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import models


@dataclass
class FieldChange:
    label: str
    before: str
    after: str
    # For multi-line text: (marker, line) pairs with marker "+", "-" or " ".
    diff: list[tuple[str, str]] = field(default_factory=list)
    # On a conflict page: this editor changed it too, and their version is kept in the form.
    yours_kept: bool = False


@dataclass
class Version:
    number: int
    user: Any
    date: Any
    changes: list[FieldChange]
    created: bool


def display(instance: Any, name: str) -> str:
    """A field's value as a person reads it: choice labels, "—" for nothing."""
    if instance is None:
        return ""
    chooser = getattr(instance, f"get_{name}_display", None)
    if chooser is not None:
        return str(chooser())
    value = getattr(instance, name)
    if value is None or value == "":
        return "—"
    return str(value)


def field_changes(
    before: Any, after: Any, model: type[models.Model], names: list[str]
) -> list[FieldChange]:
    """The fields whose displayed value differs, with a line diff for multi-line text."""
    changes = []
    for name in names:
        old, new = display(before, name), display(after, name)
        if old == new:
            continue
        # `names` are the model's own fields (a reverse relation has no verbose_name).
        label = str(cast(models.Field, model._meta.get_field(name)).verbose_name)
        change = FieldChange(label=label[:1].upper() + label[1:], before=old, after=new)
        if "\n" in old or "\n" in new:
            change.diff = [
                (line[:1], line[2:])
                for line in difflib.ndiff(old.splitlines(), new.splitlines())
                if line[:1] in "+- "
            ]
        changes.append(change)
    return changes


def versions(
    instance: models.Model, names: list[str], related: tuple[str, ...] = ()
) -> list[Version]:
    """Every saved version of the row, newest first, each with what it changed.

    `related` names the foreign keys among `names`, loaded with the versions in one query.
    """
    history = instance.history  # type: ignore[attr-defined]  # simple-history adds it to the class
    records = list(
        history.select_related("history_user", *related).order_by("history_date", "history_id")
    )
    result = []
    previous = None
    for record in records:
        result.append(
            Version(
                number=record.version,
                user=record.history_user,
                date=record.history_date,
                changes=field_changes(previous, record, type(instance), names) if previous else [],
                created=previous is None,
            )
        )
        previous = record
    return list(reversed(result))
