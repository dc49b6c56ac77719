"""The weekly digest (the coming agenda, by email and webhook) and overdue reminders.

Both are claimed in the database before sending (DigestDelivery, OverdueReminder), so a
retried task or a second beat never sends twice; a failed send releases its claim and the
task retries.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections import defaultdict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from remediations.models import Remediation
from reviews import agenda
from reviews.models import DigestDelivery, OverdueReminder
from reviews.weeks import Week

logger = logging.getLogger(__name__)
LISTED = 10  # items per section in the digest; the page has the rest


def agenda_url(week: Week) -> str:
    return settings.ONCE_BASE_URL.rstrip("/") + reverse("review_week", args=[week.label])


def digest_text(built: agenda.Agenda) -> str:
    week = built.week
    lines = [
        f"Weekly review {week.label} ({week.monday:%a %d %b} – {week.sunday:%a %d %b %Y})",
        agenda_url(week),
        "",
    ]

    def section(title: str, part: agenda.Section, describe) -> None:  # type: ignore[no-untyped-def]
        lines.append(f"{title}: {part.total}")
        lines.extend(f"  - {describe(row)}" for row in part.rows[:LISTED])
        if part.total > LISTED:
            lines.append(f"  … and {part.total - LISTED} more")

    section("New incidents", built.new_incidents, lambda i: f"{i.severity} {i.reference} {i.title}")
    section(
        "Resolved, not yet reviewed", built.unreviewed_incidents,
        lambda i: f"{i.reference} {i.title}",
    )  # fmt: skip
    section(
        "Recurred after remediation", built.open_flags,
        lambda f: f"{f.category.path} in {f.incident.reference} after “{f.remediation.title}”",
    )  # fmt: skip
    owner = lambda r: r.owner.get_username() if r.owner else "unassigned"  # noqa: E731
    section(
        "Overdue remediations", built.overdue_remediations,
        lambda r: f"{r.title} ({owner(r)}, due {r.due_date:%Y-%m-%d})",
    )  # fmt: skip
    section(
        "Due this week", built.due_remediations,
        lambda r: f"{r.title} ({owner(r)}, due {r.due_date:%Y-%m-%d})",
    )  # fmt: skip
    section("Done this week", built.done_remediations, lambda r: f"{r.title} ({owner(r)})")
    return "\n".join(lines)


def _claim_digest(week: Week, channel: str) -> bool:
    try:
        with transaction.atomic():
            DigestDelivery.objects.create(week_start=week.monday, channel=channel)
    except IntegrityError:
        return False
    return True


def _release_digest(week: Week, channel: str) -> None:
    DigestDelivery.objects.filter(week_start=week.monday, channel=channel).delete()


def recipients() -> list[str]:
    if settings.ONCE_DIGEST_RECIPIENTS:
        return list(settings.ONCE_DIGEST_RECIPIENTS)
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def send_digest(week: Week) -> dict[str, bool]:
    """Send the week's agenda on each channel that has not had it yet."""
    built = agenda.build(week)
    text = digest_text(built)
    sent = {"email": False, "webhook": False}
    to = recipients()
    if to and _claim_digest(week, DigestDelivery.Channel.EMAIL):
        try:
            send_mail(f"[Once] Weekly review {week.label}", text, None, to)
        except Exception:
            _release_digest(week, DigestDelivery.Channel.EMAIL)
            raise
        sent["email"] = True
    if settings.ONCE_WEBHOOK_URL and _claim_digest(week, DigestDelivery.Channel.WEBHOOK):
        try:
            _post(
                {
                    "text": text,  # Slack-compatible
                    "review": {
                        "week": week.label,
                        "url": agenda_url(week),
                        "totals": {
                            "new_incidents": built.new_incidents.total,
                            "unreviewed_incidents": built.unreviewed_incidents.total,
                            "open_flags": built.open_flags.total,
                            "overdue_remediations": built.overdue_remediations.total,
                            "due_remediations": built.due_remediations.total,
                            "done_remediations": built.done_remediations.total,
                        },
                    },
                }
            )
        except Exception:
            _release_digest(week, DigestDelivery.Channel.WEBHOOK)
            raise
        sent["webhook"] = True
    return sent


def _post(payload: dict[str, object]) -> None:
    request = urllib.request.Request(  # noqa: S310 - the operator's configured URL
        settings.ONCE_WEBHOOK_URL,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


def remind_overdue(week: Week) -> int:
    """Email each owner about their overdue remediations not yet reminded this week."""
    today = timezone.localdate()
    overdue = (
        Remediation.objects.still_open()
        .filter(due_date__lt=today, owner__isnull=False)
        .exclude(owner__email="")
        .select_related("owner")
    )
    already = set(
        OverdueReminder.objects.filter(week_start=week.monday).values_list(
            "remediation_id", flat=True
        )
    )
    by_owner: dict[str, list[Remediation]] = defaultdict(list)
    for remediation in overdue.order_by("due_date", "pk").iterator():
        if remediation.pk in already:
            continue
        try:
            with transaction.atomic():
                OverdueReminder.objects.create(remediation=remediation, week_start=week.monday)
        except IntegrityError:
            continue  # another run claimed it
        by_owner[remediation.owner.email].append(remediation)
    reminded = 0
    for email, remediations in by_owner.items():
        base = settings.ONCE_BASE_URL.rstrip("/")
        body = "\n".join(
            f"- {r.title} (due {r.due_date:%Y-%m-%d}) {base}{r.get_absolute_url()}"
            for r in remediations
        )
        try:
            send_mail(
                f"[Once] {len(remediations)} overdue remediation{'s' * (len(remediations) > 1)}",
                "These remediations you own are past their due date:\n\n"
                f"{body}\n\nMark them done, or change the due date, on their pages or in the "
                f"weekly review: {agenda_url(week)}",
                None,
                [email],
            )
        except Exception:
            OverdueReminder.objects.filter(
                week_start=week.monday, remediation__in=remediations
            ).delete()
            raise
        reminded += len(remediations)
    return reminded
