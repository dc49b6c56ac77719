"""Celery tasks that deliver notifications (see common/notifications.py for states and backoff).

Thin and idempotent (CONVENTIONS.md, "Tasks"): they take ids, and an attempt only happens when
the row is due and this worker claims it, so a task delivered twice sends once.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.exceptions import Retry
from django.db import DatabaseError
from django.utils import timezone

from common import notifications
from common.models import Notification

logger = logging.getLogger(__name__)


@shared_task(bind=True, autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def deliver_notification(self: Task[Any, Any], notification_id: int) -> str | None:
    """One attempt; after a failure that will be retried, this task comes back at the time
    the backoff says (the periodic sweep would get there too, should the broker lose it)."""
    outcome = notifications.deliver(notification_id)
    if outcome is None:
        return None
    if (
        outcome.state == Notification.State.PENDING
        and outcome.next_attempt_at is not None
        # In-process (no broker) a retry would run at once; the sweep keeps the schedule.
        and not self.request.is_eager
    ):
        countdown = max(0.0, (outcome.next_attempt_at - timezone.now()).total_seconds())
        try:
            raise self.retry(countdown=countdown, max_retries=None)
        except Retry:
            raise
        except Exception:
            logger.warning(
                "Could not schedule the retry of notification %s; the sweep will.",
                notification_id,
                exc_info=True,
            )
    return str(outcome.state)


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def send_due_notifications() -> dict[str, int]:
    """Every notification whose attempt is due: new ones the broker never carried, retries,
    and rows a crashed worker left in "sending" (on the beat schedule, every minute)."""
    return notifications.send_due()
