"""Telling people a failure mode came back: the owners of the named fixes by email (one
message each, however many of the flag's fixes they own), and the webhook.

PRODUCT.md: "The owners of the named fixes and the configured channels are notified once per
flag." Each raised flag records one message per owner (an email, key `flag:<id>`) and one for
`ONCE_WEBHOOK_URL`; the delivery log (`common/notifications.py`) sends each exactly once,
retries failures with backoff, and keeps a re-opened flag from being announced again.

Restricted incidents (PRODUCT.md, "Who may see and change what"). An owner is emailed only
when they may see the flag's incident, and each email names only the fixes its recipient may
see (a fix from a restricted incident shares that incident's visibility). The webhook is a
shared channel: a flag on a restricted incident is never posted there, and a flag on an
incident for everyone is posted naming only the fixes everyone may see.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone

from common import dates
from common.models import Notification
from common.notifications import Message, record
from remediations.models import RecurrenceFlag, Remediation

logger = logging.getLogger(__name__)


def flag_key(flag_id: int) -> str:
    return f"flag:{flag_id}"


def flag_url(flag: RecurrenceFlag) -> str:
    return settings.ONCE_BASE_URL.rstrip("/") + reverse("flag_detail", args=[flag.pk])


def _fixes(flag: RecurrenceFlag, viewers: list[Any] | None = None) -> list[Remediation]:
    """The flag's fixes, oldest first; with `viewers`, only those every one of them may see."""
    return sorted(
        (fix for fix in flag.remediations.all() if _visible(fix.incident, viewers)),
        key=lambda fix: (fix.done_at or fix.opened_at, fix.pk),
    )


def _visible(incident: Any, viewers: list[Any] | None) -> bool:
    """May each of `viewers` see `incident` (None: no incident; viewers None: the system)?"""
    if incident is None or viewers is None:
        return True
    return all(incident.is_visible_to(viewer) for viewer in viewers)


def _sees(flag: RecurrenceFlag, viewers: list[Any]) -> bool:
    """May each of `viewers` see the flag (its incident and every fix it names)?"""
    return all(RecurrenceFlag.objects.visible_to(v).filter(pk=flag.pk).exists() for v in viewers)


def _fix_titles(fixes: list[Remediation]) -> str:
    titles = [f"“{fix.title}” (done {dates.day(fix.done_at)})" for fix in fixes if fix.done_at]
    if len(titles) <= 1:
        return "".join(titles) or "its fix"
    return ", ".join(titles[:-1]) + " and " + titles[-1]


def message(flag: RecurrenceFlag, viewers: list[Any] | None = None) -> str:
    return (
        f"Recurrence: {flag.category.path} came back in {flag.incident.reference} "
        f"“{flag.incident.title}” after {_fix_titles(_fixes(flag, viewers))}. "
        f"Did the fix hold? Triage it: {flag_url(flag)}"
    )


def owner_addresses(flag: RecurrenceFlag) -> dict[str, list[Any]]:
    """Where to email the owners of the fixes the flag names, each address once, with the
    owners who read it: only owners who may see the flag's incident and that fix."""
    by_address: dict[str, list[Any]] = {}
    for fix in flag.remediations.all():
        owner = fix.owner
        if owner is None or not owner.email:
            continue
        if not (_visible(flag.incident, [owner]) and _visible(fix.incident, [owner])):
            continue
        readers = by_address.setdefault(owner.email, [])
        if owner not in readers:
            readers.append(owner)
    return dict(sorted(by_address.items()))


def _subject(flag: RecurrenceFlag, fixes: list[Remediation]) -> str:
    if not fixes:  # none the reader may see
        after = "after its fix"
    elif len(fixes) == 1:
        after = f"after “{fixes[0].title}”"
    else:
        after = f"after {len(fixes)} fixes"
    # Titles may hold line breaks; record() makes the subject one bounded line.
    return (
        f"[Once] {flag.category.path} recurred in {flag.incident.reference} "
        f"“{flag.incident.title}” {after}"
    )


def messages(flag: RecurrenceFlag) -> list[Message]:
    found = []
    for address, readers in owner_addresses(flag).items():
        if not _sees(flag, readers):  # an address several owners share; a fix hidden from one
            continue
        fixes = _fixes(flag, readers)
        found.append(
            Message(
                Notification.Channel.EMAIL,
                address,
                _subject(flag, fixes),
                message(flag, readers),
            )
        )
    if not found:
        logger.info("Flag %s: no owner of its fixes who may see it has an email address.", flag.pk)
    everyone = [AnonymousUser()]
    if settings.ONCE_WEBHOOK_URL and _sees(flag, everyone):
        fixes = _fixes(flag, everyone)
        subject, text = _subject(flag, fixes), message(flag, everyone)
        payload = {
            "flag": {
                "id": flag.pk,
                "url": flag_url(flag),
                "incident": flag.incident_id,
                "remediations": [fix.pk for fix in fixes],
                "category": flag.category.path,
            },
        }
        found.append(
            Message(Notification.Channel.WEBHOOK, settings.ONCE_WEBHOOK_URL, subject, text, payload)
        )
    return found


def worth_announcing(flag_ids: list[int]) -> list[int]:
    """The flags to announce: those of recent incidents (ONCE_NOTIFY_WITHIN_DAYS).

    Importing years of old postmortems raises their flags too, but nobody should be emailed
    today about a recurrence from 2019.
    """
    if not flag_ids:
        return []
    since = timezone.now() - datetime.timedelta(days=settings.ONCE_NOTIFY_WITHIN_DAYS)
    # A first reconciliation raises hundreds of thousands at once, of which few are recent:
    # ask for the recent ones in their id range, in one query, rather than for each id.
    recent = RecurrenceFlag.objects.filter(
        incident__started_at__gte=since, pk__gte=min(flag_ids), pk__lte=max(flag_ids)
    ).values_list("pk", flat=True)
    return sorted(set(recent) & set(flag_ids))


def announce(flag_ids: list[int]) -> int:
    """Record the messages of raised flags worth announcing; how many new deliveries.

    Idempotent: a flag announced before (on a run of a task that came twice, or before it was
    cleared and re-opened) adds nothing.
    """
    wanted = worth_announcing(flag_ids)
    if not wanted:
        return 0
    already = set(
        Notification.objects.filter(key__in=[flag_key(pk) for pk in wanted])
        .values_list("key", flat=True)
        .distinct()
    )
    added = 0
    flags = (
        RecurrenceFlag.objects.select_related("incident", "category")
        .prefetch_related(
            Prefetch("remediations", Remediation.objects.select_related("owner", "incident"))
        )
        .filter(pk__in=[pk for pk in wanted if flag_key(pk) not in already])
    )
    with transaction.atomic():
        for flag in flags.order_by("pk"):
            added += len(record(flag_key(flag.pk), messages(flag)))
    return added
