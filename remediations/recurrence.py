"""The recurrence rules of PRODUCT.md: link incidents to open remediations, flag recurrences.

For an incident I classified into category K (directly, or through one of its causes), and a
remediation R whose category is K or above it (R *covers* K):

- R is linked to I when R was opened before I started and R was still open then: it is open
  or in progress, or it was done only after I started. Links are derived: one that stops
  holding is removed.
- R raises a flag for (I, R) when R was done before I started. Flags are never deleted: one
  whose condition stops holding is *cleared* with the reason, and *re-opened* when it holds
  again. Acknowledged and dismissed flags keep their state while the condition holds.

`evaluate(incident_ids)` brings links and flags of those incidents in line with the rules.
It works in chunks with a fixed number of queries per chunk, so one incident costs the same
whatever the history, and the periodic reconciliation is the same code over every incident.
"""

from __future__ import annotations

import bisect
import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from incidents.models import PATH_SEPARATOR, Cause, FailureCategory, Incident
from remediations.models import (
    OPEN_STATUSES,
    FlagState,
    RecurrenceFlag,
    RecurrenceLink,
    Remediation,
    RemediationStatus,
)

CHUNK = 2000


@dataclass
class Changes:
    """What one evaluation changed: counts for logs, and the flags to notify about."""

    links_added: int = 0
    links_removed: int = 0
    flags_raised: list[int] = field(default_factory=list)  # new or re-opened: notify
    flags_cleared: int = 0

    def __iadd__(self, other: Changes) -> Changes:
        self.links_added += other.links_added
        self.links_removed += other.links_removed
        self.flags_raised += other.flags_raised
        self.flags_cleared += other.flags_cleared
        return self


def ancestor_paths(path: str) -> list[str]:
    """'A > B > C' → ['A', 'A > B', 'A > B > C']: the categories whose remediations cover it."""
    parts = path.split(PATH_SEPARATOR)
    return [PATH_SEPARATOR.join(parts[: n + 1]) for n in range(len(parts))]


class _Remediations:
    """Covering remediations by category path, sorted by date for quick "before I started"."""

    def __init__(self, paths: set[str]) -> None:
        self.open_by_path: dict[str, list[tuple]] = defaultdict(list)  # (opened_at, id, done_at)
        self.done_by_path: dict[str, list[tuple]] = defaultdict(list)  # (done_at, id)
        rows = Remediation.objects.filter(category__path__in=paths).values_list(
            "id", "status", "opened_at", "done_at", "category__path"
        )
        for pk, status, opened_at, done_at, path in rows:
            if status in OPEN_STATUSES or status == RemediationStatus.DONE:
                self.open_by_path[path].append((opened_at, pk, done_at))
            if status == RemediationStatus.DONE:
                self.done_by_path[path].append((done_at, pk))
        for rows_ in (*self.open_by_path.values(), *self.done_by_path.values()):
            rows_.sort()

    def linked(self, path: str, started_at: datetime.datetime) -> Iterable[int]:
        """Remediations on `path` opened before `started_at` and still open at that moment."""
        rows = self.open_by_path.get(path, [])
        for _opened_at, pk, done_at in rows[: bisect.bisect_left(rows, (started_at,))]:
            if done_at is None or done_at >= started_at:
                yield pk

    def done_before(self, path: str, started_at: datetime.datetime) -> Iterable[int]:
        rows = self.done_by_path.get(path, [])
        return (pk for _, pk in rows[: bisect.bisect_left(rows, (started_at,))])


def incidents_for_remediation(remediation: Remediation) -> list[int]:
    """Incidents a change to this remediation can affect: those it covers now, and those it
    was linked to or flagged for before (their links and flags may have to go)."""
    ids = set(
        RecurrenceLink.objects.filter(remediation=remediation).values_list("incident_id", flat=True)
    )
    ids |= set(
        RecurrenceFlag.objects.filter(remediation=remediation).values_list("incident_id", flat=True)
    )
    if remediation.category is not None:
        ids |= set(Incident.objects.in_category(remediation.category).values_list("id", flat=True))
    return sorted(ids)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def evaluate(incident_ids: Iterable[int]) -> Changes:
    """Bring the links and flags of these incidents in line with the rules. Idempotent."""
    changes = Changes()
    ids = sorted(set(incident_ids))
    if not ids:
        return changes
    paths = dict(FailureCategory.objects.values_list("id", "path"))
    for chunk in _chunks(ids):
        changes += _evaluate_chunk(chunk, paths)
    return changes


@transaction.atomic
def _evaluate_chunk(ids: list[int], paths: dict[int, str]) -> Changes:
    started = dict(Incident.objects.filter(id__in=ids).values_list("id", "started_at"))
    categories: dict[int, set[int]] = defaultdict(set)
    direct = Incident.categories.through.objects.filter(incident_id__in=ids)
    for incident_id, category_id in direct.values_list("incident_id", "failurecategory_id"):
        categories[incident_id].add(category_id)
    via_causes = Cause.objects.filter(incident_id__in=ids, category__isnull=False)
    for incident_id, category_id in via_causes.values_list("incident_id", "category_id"):
        categories[incident_id].add(category_id)

    covering = {a for cats in categories.values() for c in cats for a in ancestor_paths(paths[c])}
    remediations = _Remediations(covering)

    wanted_links: set[tuple[int, int]] = set()
    wanted_flags: dict[tuple[int, int], int] = {}  # (incident, remediation) → category
    for incident_id, started_at in started.items():
        # Most specific categories first, so a flag names the narrowest failure mode.
        for category_id in sorted(categories[incident_id], key=lambda c: -len(paths[c])):
            for path in ancestor_paths(paths[category_id]):
                for pk in remediations.linked(path, started_at):
                    wanted_links.add((incident_id, pk))
                for pk in remediations.done_before(path, started_at):
                    wanted_flags.setdefault((incident_id, pk), category_id)

    changes = Changes()
    existing_links = {
        (incident_id, remediation_id): pk
        for pk, incident_id, remediation_id in RecurrenceLink.objects.filter(
            incident_id__in=ids
        ).values_list("id", "incident_id", "remediation_id")
    }
    stale_ids = [pk for key, pk in existing_links.items() if key not in wanted_links]
    if stale_ids:
        RecurrenceLink.objects.filter(id__in=stale_ids).delete()
        changes.links_removed = len(stale_ids)
    new_links = wanted_links - existing_links.keys()
    RecurrenceLink.objects.bulk_create(
        [RecurrenceLink(incident_id=i, remediation_id=r) for i, r in new_links],
        ignore_conflicts=True,  # a concurrent evaluation may have added it: same result
    )
    changes.links_added = len(new_links)

    now = timezone.now()
    existing_flags = {
        (flag.incident_id, flag.remediation_id): flag
        for flag in RecurrenceFlag.objects.filter(incident_id__in=ids)
    }
    to_update = []
    for key, flag in existing_flags.items():
        holds = key in wanted_flags
        if holds and flag.state == FlagState.CLEARED:
            flag.state, flag.resolved_at = FlagState.OPEN, None
            flag.category_id = wanted_flags[key]
            flag.reason = f"Re-opened on {now:%Y-%m-%d %H:%M} UTC: the recurrence holds again."
            to_update.append(flag)
            changes.flags_raised.append(flag.pk)
        elif not holds and flag.state != FlagState.CLEARED:
            flag.state, flag.resolved_at = FlagState.CLEARED, now
            flag.reason = _why_cleared(key, started, categories, paths)
            to_update.append(flag)
            changes.flags_cleared += 1
    RecurrenceFlag.objects.bulk_update(
        to_update, ["state", "resolved_at", "reason", "category"], batch_size=500
    )
    new_flags = [
        RecurrenceFlag(incident_id=i, remediation_id=r, category_id=c, raised_at=now)
        for (i, r), c in wanted_flags.items()
        if (i, r) not in existing_flags
    ]
    if new_flags:
        RecurrenceFlag.objects.bulk_create(new_flags, ignore_conflicts=True)
        # ignore_conflicts leaves ids unset: read back the ones that are now there and new.
        keys = {(f.incident_id, f.remediation_id) for f in new_flags}
        raised = RecurrenceFlag.objects.filter(
            incident_id__in={i for i, _ in keys}, raised_at=now, state=FlagState.OPEN
        ).values_list("id", "incident_id", "remediation_id")
        changes.flags_raised += [pk for pk, i, r in raised if (i, r) in keys]
    return changes


def _why_cleared(
    key: tuple[int, int],
    started: dict[int, datetime.datetime],
    categories: dict[int, set[int]],
    paths: dict[int, str],
) -> str:
    incident_id, remediation_id = key
    remediation = Remediation.objects.select_related("category").filter(pk=remediation_id).first()
    when = f"Cleared on {timezone.now():%Y-%m-%d %H:%M} UTC"
    if remediation is None or remediation.category is None:
        return f"{when}: the remediation no longer addresses a failure category."
    incident_paths = [paths[c] for c in categories.get(incident_id, ())]
    prefix = remediation.category.path
    if not any(p == prefix or p.startswith(prefix + PATH_SEPARATOR) for p in incident_paths):
        return f"{when}: INC-{incident_id} is no longer classified under {prefix}."
    if remediation.status != RemediationStatus.DONE:
        status = remediation.get_status_display().lower()
        return f"{when}: the remediation is no longer done (now {status})."
    return f"{when}: INC-{incident_id} now started before the remediation was done."
