"""The recurrence engine's subscriptions to changes (common/changes.py): a task per change.

A save never fails, and never waits long, because the broker is away: the event is logged and
the periodic reconciliation (`reconcile_recurrences`, on the beat schedule) applies it later.
"""

from __future__ import annotations

from common import changes
from common.changes import enqueue


def incidents_changed(incident_ids: list[int]) -> None:
    from remediations.tasks import evaluate_incidents

    if incident_ids:
        enqueue(evaluate_incidents, sorted(incident_ids))


def remediation_changed(remediation_id: int) -> None:
    from remediations.tasks import evaluate_remediation

    enqueue(evaluate_remediation, remediation_id)


def remediations_with_incidents(remediation_ids: list[int]) -> None:
    from remediations.tasks import evaluate_remediations

    if remediation_ids:
        enqueue(evaluate_remediations, sorted(remediation_ids))


def category_moved(category_id: int) -> None:
    from remediations.tasks import evaluate_category

    enqueue(evaluate_category, category_id)


def subscribe() -> None:
    changes.subscribe(changes.INCIDENTS, incidents_changed)
    changes.subscribe(changes.REMEDIATION, remediation_changed)
    changes.subscribe(changes.REMEDIATIONS_WITH_INCIDENTS, remediations_with_incidents)
    changes.subscribe(changes.CATEGORY, category_moved)
