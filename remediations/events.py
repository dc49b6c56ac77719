"""Announcing changes to the recurrence engine: a task per change, after the commit.

A save never fails, and never waits long, because the broker is away: the event is logged and
the periodic reconciliation (`reconcile_recurrences`, on the beat schedule) applies it later.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task: Any, *args: Any) -> None:
    """Send `task(*args)` once the current transaction commits (at once outside one)."""

    def send() -> None:
        try:
            task.delay(*args)
        except Exception:  # the broker's errors are many (kombu, redis, OS); none may fail a save
            logger.warning(
                "Could not queue %s%r: the broker is unavailable. The next reconciliation "
                "will apply it.",
                task.name,
                args,
                exc_info=True,
            )

    transaction.on_commit(send)


def incidents_changed(incident_ids: list[int]) -> None:
    from remediations.tasks import evaluate_incidents

    if incident_ids:
        enqueue(evaluate_incidents, sorted(incident_ids))


def remediation_changed(remediation_id: int) -> None:
    from remediations.tasks import evaluate_remediation

    enqueue(evaluate_remediation, remediation_id)


def category_moved(category_id: int) -> None:
    from remediations.tasks import evaluate_category

    enqueue(evaluate_category, category_id)
