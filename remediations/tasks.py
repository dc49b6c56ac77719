"""Celery tasks of the recurrence engine: thin, taking ids, idempotent, retried on failure.

Late acknowledgement (settings) means a task whose worker dies is delivered again; running a
task twice gives the same links and flags, backed by unique constraints.
"""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from common.types import RetryOptions
from incidents.models import FailureCategory, Incident
from remediations import notifications, recurrence
from remediations.models import Remediation

RETRY: RetryOptions = {
    "autoretry_for": (DatabaseError,),
    "retry_backoff": True,  # 1 s, 2 s, 4 s … with jitter
    "retry_backoff_max": 300,
    "max_retries": 8,
}


def _apply(incident_ids: list[int]) -> dict[str, int]:
    changes = recurrence.evaluate(incident_ids)
    # Recorded in the delivery log, which sends them (and retries) on its own tasks.
    notifications.announce(changes.flags_raised)
    return {
        "incidents": len(incident_ids),
        "links_added": changes.links_added,
        "links_removed": changes.links_removed,
        "flags_raised": len(changes.flags_raised),
        "flags_cleared": changes.flags_cleared,
    }


@shared_task(**RETRY)
def evaluate_incidents(incident_ids: list[int]) -> dict[str, int]:
    return _apply(incident_ids)


@shared_task(**RETRY)
def evaluate_remediation(remediation_id: int) -> dict[str, int]:
    remediation = Remediation.objects.select_related("category").filter(pk=remediation_id).first()
    if remediation is None:
        return {}
    return _apply(recurrence.incidents_for_remediation(remediation))


@shared_task(**RETRY)
def evaluate_category(category_id: int) -> dict[str, int]:
    category = FailureCategory.objects.filter(pk=category_id).first()
    if category is None:
        return {}
    return _apply(list(Incident.objects.in_category(category).values_list("id", flat=True)))


@shared_task(**RETRY)
def reconcile_recurrences() -> dict[str, int]:
    """Every incident, every rule: brings links and flags up to date whatever was missed."""
    return _apply(list(Incident.objects.values_list("id", flat=True)))


@shared_task(**RETRY)
def notify_flag(flag_id: int) -> int:
    """Left for tasks queued before the delivery log, at the upgrade: records like _apply."""
    return notifications.announce([flag_id])
