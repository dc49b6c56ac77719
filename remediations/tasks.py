"""Celery tasks of the recurrence engine: thin, taking ids, idempotent, retried on failure.

Late acknowledgement (settings) means a task whose worker dies is delivered again; running a
task twice gives the same links, flags and effectiveness, backed by unique constraints.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from celery import shared_task
from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone

from common.types import RetryOptions
from incidents.models import FailureCategory, Incident
from remediations import effectiveness, notifications, recurrence
from remediations.models import ReconciliationRun, Remediation

RETRY: RetryOptions = {
    "autoretry_for": (DatabaseError,),
    "retry_backoff": True,  # 1 s, 2 s, 4 s … with jitter
    "retry_backoff_max": 300,
    "max_retries": 8,
}

# An incremental run looks back this far before the last run started: a transaction open then
# commits rows whose updated_at is earlier than its commit. Saves take milliseconds; imports
# commit in chunks well within this.
OVERLAP = datetime.timedelta(minutes=5)


def _apply(
    incident_ids: list[int], remediation_ids: Sequence[int] = (), *, progress: bool = False
) -> dict[str, int]:
    # The fixes given are assessed with those whose flags changed, each once.
    changes = recurrence.evaluate(incident_ids, assess=remediation_ids, progress=progress)
    # Recorded in the delivery log, which sends them (and retries) on its own tasks.
    notifications.announce(changes.flags_raised)
    return {
        "incidents": len(incident_ids),
        "links_added": changes.links_added,
        "links_removed": changes.links_removed,
        "flags_raised": len(changes.flags_raised),
        "flags_cleared": changes.flags_cleared,
        "fixes_assessed": changes.fixes_assessed,
    }


@shared_task(**RETRY)
def evaluate_incidents(incident_ids: list[int]) -> dict[str, int]:
    return _apply(incident_ids)


@shared_task(**RETRY)
def evaluate_remediation(remediation_id: int) -> dict[str, int]:
    remediation = Remediation.objects.select_related("category").filter(pk=remediation_id).first()
    if remediation is None:
        return {}
    # Its own effectiveness follows its status and dates even when no flag changes.
    return _apply(recurrence.incidents_for_remediation(remediation), [remediation_id])


@shared_task(**RETRY)
def evaluate_remediations(remediation_ids: list[int]) -> dict[str, int]:
    """What `evaluate_remediation` does, for many at once (an import batch): one evaluation."""
    remediations = list(
        Remediation.objects.select_related("category").filter(pk__in=remediation_ids)
    )
    if not remediations:
        return {}
    return _apply(recurrence.incidents_for_remediations(remediations), [r.pk for r in remediations])


@shared_task(**RETRY)
def evaluate_category(category_id: int) -> dict[str, int]:
    category = FailureCategory.objects.filter(pk=category_id).first()
    if category is None:
        return {}
    return _apply(list(Incident.objects.in_category(category).values_list("id", flat=True)))


def changed_since(since: datetime.datetime) -> tuple[list[int], list[int]]:
    """The incidents and remediations a change since `since` can affect, in a few queries.

    Every write path stamps `updated_at`: an incident saved (its fields, categories, causes and
    timeline are saved together, as one version, by incidents.actions.save_incident or an
    import), a category renamed or moved (incidents.actions.save_category; the categories below
    it are found by path), a remediation saved (remediations.actions). Affected are the
    incidents saved, those under a category moved, and those a remediation saved covers now or
    was linked to or flagged for before. Derived writes (links, flags, effectiveness) stamp
    nothing, so a run does not feed the next.
    """
    incidents = set(Incident.objects.filter(updated_at__gte=since).values_list("id", flat=True))
    incidents |= set(
        recurrence.incidents_under(FailureCategory.objects.filter(updated_at__gte=since))
    )
    remediations = list(
        Remediation.objects.filter(updated_at__gte=since).select_related("category")
    )
    incidents |= set(recurrence.incidents_for_remediations(remediations))
    return sorted(incidents), [r.pk for r in remediations]


@shared_task(**RETRY)
def reconcile_recurrences(full: bool = False, progress: bool = False) -> dict[str, Any]:
    """Bring links, flags and effectiveness up to date whatever was missed.

    Incremental by default: only what changed since the last finished run started (less
    OVERLAP), plus the fixes whose holding time came. Full — the first run, once a day on the
    beat schedule, and on demand — re-applies the rules to every incident and fix.
    """
    started = timezone.now()
    last = (
        ReconciliationRun.objects.filter(finished_at__isnull=False).order_by("-started_at").first()
    )
    full = full or last is None
    if full:
        incident_ids = list(Incident.objects.values_list("id", flat=True))
        remediation_ids = list(
            Remediation.objects.filter(
                Q(status="done") | Q(effectiveness__isnull=False)
            ).values_list("id", flat=True)
        )
    else:
        assert last is not None
        since = last.started_at - OVERLAP
        incident_ids, remediation_ids = changed_since(since)
        remediation_ids += effectiveness.due_for_holding(since)
    remediation_ids = sorted(set(remediation_ids))
    result: dict[str, Any] = _apply(incident_ids, remediation_ids, progress=progress)
    result.update(full=full, remediations=len(remediation_ids))
    ReconciliationRun.objects.create(
        started_at=started, finished_at=timezone.now(), full=full,
        incidents=len(incident_ids), remediations=len(remediation_ids), summary=result,
    )  # fmt: skip
    # The log keeps a month of runs: enough to see how long they take, no more.
    ReconciliationRun.objects.filter(started_at__lt=started - datetime.timedelta(days=30)).delete()
    return result


@shared_task(**RETRY)
def notify_flag(flag_id: int) -> int:
    """Left for tasks queued before the delivery log, at the upgrade: records like _apply."""
    return notifications.announce([flag_id])
