"""Telling people a failure mode came back: the remediation's owner by email, and the webhook.

Each channel is claimed (its `*_notified_at` set) before sending, so no flag is announced
twice on a channel, even with retries or two workers; if sending fails the claim is released
and the task retries with backoff.
"""

from __future__ import annotations

import datetime
import json
import logging
import urllib.request
from collections.abc import Callable

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from remediations.models import RecurrenceFlag

logger = logging.getLogger(__name__)


def flag_url(flag: RecurrenceFlag) -> str:
    return settings.ONCE_BASE_URL.rstrip("/") + reverse("flag_detail", args=[flag.pk])


def message(flag: RecurrenceFlag) -> str:
    remediation = flag.remediation
    done = f" was done on {remediation.done_at:%Y-%m-%d}" if remediation.done_at else " was done"
    return (
        f"Recurrence: {flag.category.path} came back in {flag.incident.reference} "
        f"“{flag.incident.title}” after “{remediation.title}”{done}. {flag_url(flag)}"
    )


def _once(flag_id: int, field: str, send: Callable[[RecurrenceFlag], None]) -> bool:
    """Send on one channel unless it was already claimed; True when this call sent it."""
    claimed = RecurrenceFlag.objects.filter(pk=flag_id, **{f"{field}__isnull": True}).update(
        **{field: timezone.now()}
    )
    if not claimed:
        return False
    flag = RecurrenceFlag.objects.select_related("incident", "remediation__owner", "category").get(
        pk=flag_id
    )
    try:
        send(flag)
    except Exception:
        RecurrenceFlag.objects.filter(pk=flag_id).update(**{field: None})
        raise
    return True


def _email_owner(flag: RecurrenceFlag) -> None:
    owner = flag.remediation.owner
    if owner is None or not owner.email:
        logger.info("Flag %s: the remediation has no owner with an email address.", flag.pk)
        return
    send_mail(
        subject=f"[Once] {flag.category.path} recurred after “{flag.remediation.title}”",
        message=message(flag),
        from_email=None,
        recipient_list=[owner.email],
    )


def _post_webhook(flag: RecurrenceFlag) -> None:
    url = settings.ONCE_WEBHOOK_URL
    if not url:
        return
    body = json.dumps(
        {
            "text": message(flag),  # Slack-compatible
            "flag": {
                "id": flag.pk,
                "url": flag_url(flag),
                "incident": flag.incident_id,
                "remediation": flag.remediation_id,
                "category": flag.category.path,
            },  # fmt: skip
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - the operator's configured URL
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


def worth_announcing(flag_ids: list[int]) -> list[int]:
    """The flags to announce: those of recent incidents (ONCE_NOTIFY_WITHIN_DAYS).

    Importing years of old postmortems raises their flags too, but nobody should be emailed
    today about a recurrence from 2019.
    """
    since = timezone.now() - datetime.timedelta(days=settings.ONCE_NOTIFY_WITHIN_DAYS)
    recent: list[int] = []
    for start in range(0, len(flag_ids), 5000):  # a first reconciliation raises many at once
        recent += RecurrenceFlag.objects.filter(
            pk__in=flag_ids[start : start + 5000], incident__started_at__gte=since
        ).values_list("pk", flat=True)
    return sorted(recent)


def notify(flag_id: int) -> None:
    """Announce a raised flag on every channel not yet told. Raises if a channel failed."""
    _once(flag_id, "owner_notified_at", _email_owner)
    _once(flag_id, "webhook_notified_at", _post_webhook)
