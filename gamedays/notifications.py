"""Telling people a fix failed its test: a scenario that verifies fixes *failed* is announced
like a recurrence (PRODUCT.md; issue 12): the owners of those fixes by email, once each, and
the webhook. Recorded in the delivery log (common/notifications.py), key `scenario:<id>`, so
a save repeated or a task run twice tells nobody twice.

Restricted incidents (PRODUCT.md, "Who may see and change what"): a scenario that caused an
incident shares its visibility, and so does a fix that came from one. An owner is emailed only
about a scenario they may see, naming the fixes they may see; the webhook (a shared channel)
hears of a scenario only when everyone may see it and names only the fixes everyone may see —
when none is left, it is not told at all."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from common import dates
from common.models import Notification
from common.notifications import Message, record
from gamedays.models import Outcome, Scenario
from remediations.models import Remediation


def scenario_key(scenario_id: int) -> str:
    return f"scenario:{scenario_id}"


def _sees(viewer: Any, scenario: Scenario, fix: Remediation | None = None) -> bool:
    """May `viewer` see the scenario (every incident it caused) and, if given, the fix?"""
    incidents = list(scenario.incidents.all())
    if fix is not None and fix.incident is not None:
        incidents.append(fix.incident)
    return all(incident.is_visible_to(viewer) for incident in incidents)


def _texts(scenario: Scenario, fixes: list[Remediation]) -> tuple[str, str]:
    """The subject and text announcing that `fixes` did not hold."""
    url = settings.ONCE_BASE_URL.rstrip("/") + scenario.get_absolute_url()
    titles = " and ".join(f"“{fix.title}”" for fix in fixes)
    text = (
        f"Failed verification: on game day “{scenario.game_day.title}”, {scenario.name} "
        f"({scenario.category.path}) failed on {dates.day(scenario.ran_at)}; {titles} did not "
        f"hold. {url}"
    )
    subject = f"[Once] Game day: {scenario.category.path} failed, {titles} did not hold"
    return subject, text


def messages(scenario: Scenario) -> list[Message]:
    fixes = list(scenario.verifies.select_related("owner", "incident").order_by("pk"))
    url = settings.ONCE_BASE_URL.rstrip("/") + scenario.get_absolute_url()
    found = []
    for address in sorted({f.owner.email for f in fixes if f.owner and f.owner.email}):
        # Everyone who owns a fix at this address must be able to see what it names.
        readers = {f.owner for f in fixes if f.owner and f.owner.email == address}
        if not all(_sees(reader, scenario) for reader in readers):
            continue
        theirs = [f for f in fixes if all(_sees(reader, scenario, f) for reader in readers)]
        if not any(f.owner in readers for f in theirs):
            continue  # the fixes they own are hidden from them
        subject, text = _texts(scenario, theirs)
        found.append(Message(Notification.Channel.EMAIL, address, subject, text))
    everyone = AnonymousUser()
    shared = [f for f in fixes if _sees(everyone, scenario, f)]
    if settings.ONCE_WEBHOOK_URL and shared and _sees(everyone, scenario):
        fixes = shared
        subject, text = _texts(scenario, fixes)
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
