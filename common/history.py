"""Differences between two versions of a row, for the history pages and the conflict page.

Versions come from django-simple-history: every save of an incident or remediation keeps the
previous state with who saved it and when.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from django.db import models

from common import dates
from common.diffs import Item, Segment, TextDiff, inline, text_diff

LONG = 80  # one-line values longer than this (both together) get word-level marks


@dataclass
class FieldChange:
    """A field or part that changed, shown as `common/_changes.html` renders it.

    Lists (causes, timeline, …) carry `items`; multi-line text gets `text` (changed hunks
    only); a long one-line value gets `words`; a short one shows before → after.
    """

    label: str
    before: str
    after: str
    # On a conflict page: this editor changed it too, and their version is kept in the form.
    yours_kept: bool = False
    items: list[Item] | None = None

    @cached_property
    def text(self) -> TextDiff | None:
        if self.items is not None or ("\n" not in self.before and "\n" not in self.after):
            return None
        return text_diff(self.before, self.after)

    @cached_property
    def words(self) -> list[Segment] | None:
        if self.items is not None or self.text is not None:
            return None
        if len(self.before) + len(self.after) <= LONG:
            return None
        return inline(self.before, self.after)


def moment(value: datetime.datetime) -> str:
    """A time as every page shows it: "2026-11-20 10:00 UTC" (common/dates.py)."""
    return dates.moment(value)


@dataclass
class Version:
    number: int
    user: Any
    date: Any
    changes: list[FieldChange]
    created: bool
    title: str = ""  # an entry that is not a version of its own ("Remediations changed")
    # Saved while the row belonged to something hidden from the reader: no content, no author.
    withheld: bool = False


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
    if isinstance(value, datetime.datetime):
        return moment(value)
    return str(value)


def field_changes(
    before: Any, after: Any, model: type[models.Model], names: list[str]
) -> list[FieldChange]:
    """The fields whose displayed value differs (FieldChange shows how)."""
    changes = []
    for name in names:
        old, new = display(before, name), display(after, name)
        if old == new:
            continue
        # `names` are the model's own fields (a reverse relation has no verbose_name).
        label = str(cast(models.Field, model._meta.get_field(name)).verbose_name)
        changes.append(FieldChange(label=label[:1].upper() + label[1:], before=old, after=new))
    return changes


def versions(
    instance: models.Model,
    names: list[str],
    related: tuple[str, ...] = (),
    withheld: Callable[[Any], bool] | None = None,
) -> list[Version]:
    """Every saved version of the row, newest first, each with what it changed.

    `related` names the foreign keys among `names`, loaded with the versions in one query.
    `withheld(record)` says which saved versions the reader may not see (the row then
    belonged to a restricted incident hidden from them, PRODUCT.md "Who may see and change
    what"): those are listed by number and date only, and the next version shows its values
    with nothing before them, so no word of a withheld version reaches the page.
    """
    history = instance.history  # type: ignore[attr-defined]  # simple-history adds it to the class
    records = list(
        history.select_related("history_user", *related).order_by("history_date", "history_id")
    )
    result = []
    previous = None
    hiding = False  # the previous version was withheld
    for record in records:
        if withheld is not None and withheld(record):
            result.append(
                Version(record.version, None, record.history_date, [], False, withheld=True)
            )
            previous, hiding = None, True
            continue
        if hiding:  # what it was before is not the reader's to see: what it is now
            changes = [
                change
                for change in field_changes(None, record, type(instance), names)
                if change.after != "—"
            ]
        else:
            changes = field_changes(previous, record, type(instance), names) if previous else []
        result.append(
            Version(
                number=record.version,
                user=record.history_user,
                date=record.history_date,
                changes=changes,
                created=previous is None and not hiding,
            )
        )
        previous, hiding = record, False
    return list(reversed(result))
