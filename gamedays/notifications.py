"""Telling people a fix failed its test: a scenario that verifies fixes *failed* is announced
like a recurrence (PRODUCT.md; issue 12): the owners of those fixes by email, once each, and
the webhook. Recorded in the delivery log (common/notifications.py), key `scenario:<id>`, so
a save repeated or a task run twice tells nobody twice."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.models import Notification
from common.notifications import Message, record
from gamedays.models import Outcome, Scenario


def scenario_key(scenario_id: int) -> str:
    return f"scenario:{scenario_id}"


def messages(scenario: Scenario) -> list[Message]:
    fixes = list(scenario.verifies.select_related("owner").order_by("pk"))
    url = settings.ONCE_BASE_URL.rstrip("/") + scenario.get_absolute_url()
    titles = " and ".join(f"“{fix.title}”" for fix in fixes)
    text = (
        f"Failed verification: on game day “{scenario.game_day.title}”, {scenario.name} "
        f"({scenario.category.path}) failed on {scenario.ran_at:%Y-%m-%d}; {titles} did not "
        f"hold. {url}"
    )
    subject = f"[Once] Game day: {scenario.category.path} failed, {titles} did not hold"
    found = [
        Message(Notification.Channel.EMAIL, address, subject, text)
        for address in sorted({f.owner.email for f in fixes if f.owner and f.owner.email})
    ]
    if settings.ONCE_WEBHOOK_URL:
        payload = {
            "scenario": {
                "id": scenario.pk, "url": url, "game_day": scenario.game_day_id,
                "category": scenario.category.path, "outcome": scenario.outcome,
                "remediations": [fix.pk for fix in fixes],
            }
        }  # fmt: skip
        found.append(
            Message(Notification.Channel.WEBHOOK, settings.ONCE_WEBHOOK_URL, subject, text, payload)
        )
    return found


def announce_failed(scenario_ids: list[int]) -> int:
    """Record the messages of scenarios that failed recently and verify fixes; how many new
    deliveries. Idempotent."""
    since = timezone.now() - datetime.timedelta(days=settings.ONCE_NOTIFY_WITHIN_DAYS)
    scenarios = (
        Scenario.objects.filter(
            pk__in=scenario_ids, outcome=Outcome.FAILED, ran_at__gte=since, verifies__isnull=False
        )
        .distinct()
        .select_related("game_day", "category")
    )
    added = 0
    with transaction.atomic():
        for scenario in scenarios.order_by("pk"):
            added += len(record(scenario_key(scenario.pk), messages(scenario)))
    return added
