"""Celery beat tasks of the weekly review (schedules in config/settings.py).

They record messages in the delivery log (common/notifications.py), which sends them.
"""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from common.types import RetryOptions
from reviews import digest
from reviews.weeks import Week

# Only the recording can fail here; sending (and its retries) is the delivery log's work.
RETRY: RetryOptions = {
    "autoretry_for": (DatabaseError,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 10,
}


@shared_task(**RETRY)
def send_weekly_digest() -> dict[str, bool]:
    """The agenda of the week the meeting is in (the digest goes out at its start)."""
    return digest.send_digest(Week.current())


@shared_task(**RETRY)
def remind_overdue_owners() -> int:
    return digest.remind_overdue(Week.current())
