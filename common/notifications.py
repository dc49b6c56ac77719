"""Recording and delivering notifications: the one way Once tells people something.

The apps build messages (`remediations/notifications.py` for recurrence flags,
`reviews/digest.py` for the weekly digest and overdue reminders) and `record` them; this module
delivers them, one `common.models.Notification` row per message, as healthchecks does
(CONVENTIONS.md, "Notifications"; PRODUCT.md: "notified once per flag").

Shapes. A message is (key, channel, recipient, subject, body, payload):
    key        what is announced, the same for every recipient: "flag:42", "digest:2026-W48",
               "overdue:2026-W48:<owner id>:<first remediation id>"
    channel    "email" (recipient: an address) or "webhook" (recipient: the URL)
    subject    one line, at most 200 characters (`one_line`): a newline in an incident title
               can't stop an email
    payload    for a webhook, the JSON POSTed, with "text" (Slack-compatible) = body
The unique constraint `unique_notification_per_recipient` on (key, channel, recipient) is the
claim: recording the same message twice — a retried task, two workers, a second beat — adds
nothing, so nothing goes out twice. Channels and recipients are separate rows, so a failing
webhook never holds back an email, nor one recipient another.

States:
    pending ──claim──▶ sending ──ok──▶ sent
       ▲                  │
       └──── failed attempt, attempts < MAX_ATTEMPTS (last_error kept, next_attempt_at set)
                          └── attempts = MAX_ATTEMPTS, or a `Permanent` error ──▶ failed
A claim is a conditional UPDATE (pending, or sending whose lease ran out, and due), so two
workers never send one row twice; the claim counts the attempt and holds for SENDING_LEASE, so
a worker that dies mid-send leaves a row the sweep picks up again once the lease lapses.

Backoff: after failed attempt n the next is FIRST_RETRY × 2^(n−1) later — 1, 2, 4, 8, 16, 32,
64, 128, 256 minutes — and the 10th failure gives up: about 8½ hours of trying in all.

Who tries: `record` queues `common.tasks.deliver_notification` for each new row after the
commit; a failed attempt is retried by that task (Celery countdown) and, whatever happens to
the broker or the worker, by `common.tasks.send_due_notifications`, which beat runs every
minute (config/settings.py) and which `python manage.py send_notifications` runs by hand.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from common.models import Notification
from common.transports import TRANSPORTS, Permanent, one_line

__all__ = ["Message", "deliver", "one_line", "record", "retry_now", "send_due"]

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
FIRST_RETRY = datetime.timedelta(minutes=1)
# Longer than any transport's timeout (30 s for SMTP, 10 s for a webhook), so a live worker is
# never overtaken by the sweep.
SENDING_LEASE = datetime.timedelta(minutes=10)
SWEEP_BATCH = 200
ERROR_CHARS = 2000

State = Notification.State


@dataclass(frozen=True)
class Message:
    """One message to one recipient on one channel, before it is recorded."""

    channel: str
    recipient: str
    subject: str
    body: str
    payload: dict[str, Any] = field(default_factory=dict)


def retry_delay(attempts: int) -> datetime.timedelta:
    """How long to wait after the `attempts`-th failed attempt: 1 min, 2, 4, … doubling."""
    return FIRST_RETRY * 2 ** (max(attempts, 1) - 1)


def record(key: str, messages: Iterable[Message]) -> list[Notification]:
    """Add each message not yet in the log under `key`; deliver the new ones after the commit.

    Returns the rows this call added (none when every message was recorded before).
    """
    added: list[Notification] = []
    for message in messages:
        if not message.recipient:
            continue
        try:
            with transaction.atomic():  # a savepoint: a duplicate must not spoil the caller's
                now = timezone.now()
                notification = Notification.objects.create(
                    key=key,
                    created_at=now,
                    next_attempt_at=now,  # due at once
                    channel=message.channel,
                    recipient=message.recipient,
                    subject=one_line(message.subject),
                    body=message.body,
                    payload=message.payload,
                )
        except IntegrityError:
            continue  # recorded before (or by another worker just now): never twice
        added.append(notification)
    if added:
        ids = [n.pk for n in added]
        transaction.on_commit(lambda: _queue(ids))
    return added


def _queue(ids: list[int]) -> None:
    from common.tasks import deliver_notification

    for pk in ids:
        try:
            deliver_notification.delay(pk)
        except Exception:  # the broker's errors are many (kombu, redis, OS); the row waits
            logger.warning(
                "Could not queue notification %s: the broker is unavailable. The periodic "
                "sweep will send it.",
                pk,
                exc_info=True,
            )


def _claim(pk: int, now: datetime.datetime) -> bool:
    """Take the row for one attempt if it is due; False when it is not, or another worker won."""
    return bool(
        Notification.objects.due(now)
        .filter(pk=pk)
        .update(
            state=State.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + SENDING_LEASE
        )
    )


def describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if not isinstance(error, Permanent | OSError):
        text = f"{type(error).__name__}: {text}"
    return text[:ERROR_CHARS]


def deliver(pk: int) -> Notification | None:
    """One attempt at one notification, if it is due; the row as it ends, or None if not due."""
    if not _claim(pk, timezone.now()):
        return None
    notification = Notification.objects.get(pk=pk)
    try:
        TRANSPORTS[notification.channel].send(notification)
    except Exception as error:  # any failure of a transport is recorded, never raised
        now = timezone.now()
        notification.last_error = describe(error)
        if isinstance(error, Permanent) or notification.attempts >= MAX_ATTEMPTS:
            notification.state, notification.next_attempt_at = State.FAILED, None
        else:
            notification.state = State.PENDING
            notification.next_attempt_at = now + retry_delay(notification.attempts)
        logger.warning(
            "Notification %s (%s to %s), attempt %s: %s. It is now %s.",
            pk, notification.channel, notification.recipient, notification.attempts,
            notification.last_error, notification.state,
        )  # fmt: skip
    else:
        notification.state, notification.next_attempt_at = State.SENT, None
        notification.sent_at = timezone.now()
    # Only while this attempt's claim stands: had the lease lapsed and another worker taken the
    # row, its outcome wins.
    Notification.objects.filter(pk=pk, state=State.SENDING, attempts=notification.attempts).update(
        state=notification.state,
        next_attempt_at=notification.next_attempt_at,
        last_error=notification.last_error,
        sent_at=notification.sent_at,
    )
    return notification


def send_due(limit: int = SWEEP_BATCH) -> dict[str, int]:
    """Attempt every due notification (up to `limit`, oldest first); counts by outcome."""
    now = timezone.now()
    due = list(
        Notification.objects.due(now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    counts = {State.SENT.value: 0, State.PENDING.value: 0, State.FAILED.value: 0}
    for pk in due:
        outcome = deliver(pk)
        if outcome is not None:
            counts[outcome.state] += 1
    return counts


def retry_now(notifications: Iterable[Notification]) -> int:
    """Make unsent notifications due at once (staff's "retry now"); how many were.

    A failed one gets one more attempt: should it fail again it is failed again, its attempts
    and last error showing both tries.
    """
    ids = [n.pk for n in notifications]
    updated = Notification.objects.filter(state__in=(State.PENDING, State.FAILED), pk__in=ids)
    due = list(updated.values_list("pk", flat=True))
    count = updated.update(state=State.PENDING, next_attempt_at=timezone.now())
    transaction.on_commit(lambda: _queue(due))
    return count
