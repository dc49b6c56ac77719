"""An incident's history page: its versions, with its remediations added, removed or changed.

Remediations keep their own versions (django-simple-history on Remediation), so their
changes are read from there: a change saved with a version of the incident (the incident
form, an import) shows in that version under "Remediations"; one saved on its own (the
remediation's page, the API) is an entry of its own between the incident's versions.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from common.diffs import Item, Segment
from common.history import FieldChange, Version, display
from incidents.conflicts import incident_versions
from incidents.models import Incident
from remediations.models import Remediation, withheld_versions

# A remediation saved this soon after a version, by the same person, was saved with it
# (save_report writes the incident, then its remediations, in one transaction).
SAME_SAVE = datetime.timedelta(seconds=5)
SHOWN = ("status", "owner", "kind", "due_date", "done_at", "category")  # besides the title


def history_of(incident: Incident, viewer: Any = None) -> list[Version]:
    """The incident's versions and its remediations' changes, newest first (Version list).

    `viewer` (None: the system) does not see the versions of a remediation withheld from them
    (one that came from a game-day scenario of an incident hidden from them)."""
    entries = incident_versions(incident, viewer)  # newest first
    events = _remediation_events(incident, withheld_versions(viewer))
    standalone: list[Version] = []
    for date, user, item in events:
        version = next((v for v in entries if v.date <= date), None)
        if version is not None and version.user == user and date - version.date <= SAME_SAVE:
            _remediations_of(version).items.append(item)  # type: ignore[union-attr]
            continue
        last = standalone[-1] if standalone else None
        if last is not None and last.user == user and date - last.date <= SAME_SAVE:
            _remediations_of(last).items.append(item)  # type: ignore[union-attr]
            continue
        entry = Version(
            number=version.number if version else 0, user=user, date=date, changes=[],
            created=False, title="Remediations changed",
        )  # fmt: skip
        _remediations_of(entry).items.append(item)  # type: ignore[union-attr]
        standalone.append(entry)
    return sorted(entries + standalone, key=lambda v: v.date, reverse=True)


def _remediations_of(version: Version) -> FieldChange:
    for change in version.changes:
        if change.label == "Remediations":
            return change
    change = FieldChange(label="Remediations", before="", after="", items=[])
    version.changes.append(change)
    return change


def _remediation_events(
    incident: Incident, withheld: Callable[[Any], bool] | None = None
) -> list[tuple[datetime.datetime, Any, Item]]:
    """(when, who, item) for every saved version of the incident's remediations, oldest first,
    but those `withheld` (remediations.models.withheld_versions)."""
    records = list(
        Remediation.history.filter(incident_id=incident.pk)
        .select_related("history_user", "owner", "category")
        .order_by("history_date", "history_id")
    )
    previous: dict[int, Any] = {}
    events = []
    for record in records:
        if withheld is not None and withheld(record):
            previous.pop(record.id, None)  # what follows is told as if it were new
            continue
        before = previous.get(record.id)
        previous[record.id] = record
        title = f"“{record.title}” ({display(record, 'status')})"
        item: Item | None
        if record.history_type == "-":
            item = Item("removed", title)
        elif before is None:
            item = Item("added", title)
        else:
            item = _changed(before, record)
        if item is None:
            continue  # only fields this page doesn't show changed
        events.append((record.history_date, record.history_user, item))
    return events


def _changed(before: Any, after: Any) -> Item | None:
    """A remediation's change as one line: its title, then each shown field, old → new."""
    segments: list[Segment] = [("same", f"“{after.title}”: ")]
    if before.title != after.title:
        segments += [("same", "title "), ("removed", before.title), ("added", after.title)]
    for name in SHOWN:
        old, new = display(before, name), display(after, name)
        if old != new:
            label = str(Remediation._meta.get_field(name).verbose_name)  # type: ignore[union-attr]
            if len(segments) > 1:
                segments.append(("same", "; "))
            segments += [("same", f"{label} "), ("removed", old), ("added", new)]
    if len(segments) == 1:
        return None  # only fields this page doesn't show (its description, a link)
    return Item("changed", "".join(text for _, text in segments), segments)
