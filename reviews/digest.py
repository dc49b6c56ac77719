"""The weekly digest (the coming agenda, by email and webhook) and overdue reminders.

Both are messages in the delivery log (common/notifications.py): the digest is key
`digest:<week>` once per recipient and channel, each reminder `overdue:<week>:<owner>:<id>`.

Who sees what (PRODUCT.md, "Who may see and change what"; issue 13). Each email is one
message to one address (never a shared To or Cc), built from the agenda as that recipient may
see it: the active user with that address, or — for an address of no user, or one several
users share — only what everyone may see. The webhook (a shared channel) gets the agenda as
everyone may see it: a restricted incident is never in it, nor in its counts. Recipients who
may see the same incidents share one agenda build.
The log's unique constraint keeps a retried task or a second beat from sending anything twice,
and it retries a failed delivery with backoff on its own, channel by channel.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from common import dates
from common.models import Notification
from common.notifications import Message, one_line, record
from incidents.models import Incident
from remediations.models import Remediation
from reviews import agenda
from reviews.weeks import Week

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)
LISTED = 10  # items per section in the digest; the page has the rest


def base_url() -> str:
    return str(settings.ONCE_BASE_URL).rstrip("/")


def agenda_url(week: Week) -> str:
    return base_url() + reverse("review_week", args=[week.label])


def digest_text(built: agenda.Agenda) -> str:
    week = built.week
    lines = [
        f"Weekly review {week.label} ({dates.day(week.monday)} – {dates.day(week.sunday)})",
        agenda_url(week),
        "",
    ]

    def section(title: str, part: agenda.Section, describe: Callable[[Any], str]) -> None:
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
        "Recurred after a fix", built.open_flags,
        lambda f: f"{f.category.path} in {f.incident.reference} after "
        + " and ".join(f"“{fix.title}”" for fix in f.remediations.all()),
    )  # fmt: skip
    owner = lambda r: r.owner.get_username() if r.owner else "unassigned"  # noqa: E731
    section(
        "Overdue remediations", built.overdue_remediations,
        lambda r: f"{r.title} ({owner(r)}, due {dates.day(r.due_date)})",
    )  # fmt: skip
    section(
        "Due this week", built.due_remediations,
        lambda r: f"{r.title} ({owner(r)}, due {dates.day(r.due_date)})",
    )  # fmt: skip
    section("Done this week", built.done_remediations, lambda r: f"{r.title} ({owner(r)})")
    section("Game days this week", built.game_days, describe_game_day)
    section("Failed verifications", built.failed_verifications, describe_failure)
    untested = built.awaiting_verification.total
    lines.append(f"Fixes awaiting verification: {untested}")
    if untested:
        lines.append(f"  the backlog of untested fixes: {base_url()}{reverse('game_day_backlog')}")
    return "\n".join(lines)


def describe_failure(scenario: Any) -> str:
    """A scenario that failed, and under it each fix it verifies with a follow-up link."""
    head = f"“{scenario.name}” failed in “{scenario.game_day.title}” ({scenario.category.path})"
    follow_up = base_url() + reverse("remediation_create")
    fixes = [
        f"\n      “{fix.title}” did not hold: open a follow-up {follow_up}?follow_up={fix.pk}"
        for fix in scenario.verifies.all()
    ]
    return head + "".join(fixes)


def describe_game_day(game_day: Any) -> str:
    """ "Break etcd (production, done): 2 held, 1 failed" — a game day and how it went."""
    counts = [
        f"{getattr(game_day, outcome)} {outcome}"
        for outcome in ("held", "failed", "aborted", "pending")
        if getattr(game_day, outcome)
    ]
    state = f"{game_day.get_environment_display()}, {game_day.get_status_display().lower()}"
    return f"{game_day.title} ({dates.moment(game_day.scheduled_at)}, {state}): " + (
        ", ".join(counts) or "no scenario"
    )


def digest_key(week: Week) -> str:
    return f"digest:{week.label}"


def recipients() -> list[str]:
    if settings.ONCE_DIGEST_RECIPIENTS:
        return list(settings.ONCE_DIGEST_RECIPIENTS)
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def viewer_of(address: str, users: dict[str, list[Any]]) -> Any:
    """Whose eyes an address reads the digest with: its one active user, else nobody's
    (an anonymous viewer sees only the incidents for everyone)."""
    found = users.get(address.lower(), [])
    return found[0] if len(found) == 1 else AnonymousUser()


def _users_by_address(addresses: list[str]) -> dict[str, list[Any]]:
    users: dict[str, list[Any]] = defaultdict(list)
    wanted = {a.lower() for a in addresses}
    for user in get_user_model().objects.filter(is_active=True).exclude(email=""):
        if user.email.lower() in wanted:
            users[user.email.lower()].append(user)
    return users


def send_digest(week: Week) -> dict[str, bool]:
    """Record the week's agenda for each recipient and channel not sent it yet; per channel,
    whether this call added any (the delivery log sends them, and retries)."""
    subject = f"[Once] Weekly review {week.label}"
    addresses = recipients()
    users = _users_by_address(addresses)
    # The agenda depends on the viewer only through the incidents hidden from them.
    texts: dict[frozenset[int], str] = {}
    found = []
    for address in addresses:
        viewer = viewer_of(address, users)
        hidden = frozenset(Incident.objects.hidden_from(viewer).values_list("pk", flat=True))
        if hidden not in texts:
            texts[hidden] = digest_text(agenda.build(week, viewer=viewer))
        found.append(Message(Notification.Channel.EMAIL, address, subject, texts[hidden]))
    if settings.ONCE_WEBHOOK_URL:
        built = agenda.build(week, viewer=AnonymousUser())  # a shared channel: everyone's view
        text = digest_text(built)
        payload = {
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
                    "game_days": built.game_days.total,
                    "failed_verifications": built.failed_verifications.total,
                    "awaiting_verification": built.awaiting_verification.total,
                },
            },
        }
        found.append(
            Message(Notification.Channel.WEBHOOK, settings.ONCE_WEBHOOK_URL, subject, text, payload)
        )
    added = record(digest_key(week), found)
    return {channel: any(n.channel == channel for n in added) for channel in ("email", "webhook")}


def reminded_this_week(week: Week, owner_id: int) -> set[int]:
    """The remediations whose owner was already reminded of them in `week`."""
    covered: set[int] = set()
    for payload in Notification.objects.filter(
        key__startswith=f"overdue:{week.label}:{owner_id}:", channel=Notification.Channel.EMAIL
    ).values_list("payload", flat=True):
        covered.update(payload.get("remediations", []))
    return covered


def remind_overdue(week: Week) -> int:
    """Email each owner about their overdue remediations not yet reminded this week; how many
    remediations this call added to a reminder.

    One email per owner per run, so a remediation that falls overdue mid-week is reminded that
    day (the task runs daily) and none twice in a week. Its key is
    `overdue:<week>:<owner id>:<smallest remediation id in it>` and its payload lists the
    remediations; a remediation is in at most one of an owner's reminders a week, so the key
    is unique and a second run (or worker) adds nothing.
    """
    today = timezone.localdate()
    overdue = (
        Remediation.objects.still_open()
        .filter(due_date__lt=today, owner__isnull=False)
        .exclude(owner__email="")
        .select_related("owner", "incident")
    )
    by_owner: dict[int, list[Remediation]] = defaultdict(list)
    for remediation in overdue.order_by("due_date", "pk").iterator():
        by_owner[cast(int, remediation.owner_id)].append(remediation)  # owner__isnull=False
    base = settings.ONCE_BASE_URL.rstrip("/")
    reminded = 0
    for owner_id, remediations in by_owner.items():
        with transaction.atomic():
            # One run at a time per owner decides what their reminder covers (two workers
            # would otherwise both read "not reminded yet").
            get_user_model().objects.select_for_update().filter(pk=owner_id).first()
            covered = reminded_this_week(week, owner_id)
            # A remediation of an incident hidden from its owner is not theirs to hear about.
            new = [
                r
                for r in remediations
                if r.pk not in covered and (r.incident is None or r.incident.is_visible_to(r.owner))
            ]
            if not new:
                continue
            lines = "\n".join(
                f"- {one_line(r.title)} (due {dates.day(r.due_date)}) {base}{r.get_absolute_url()}"
                for r in new
            )
            body = (
                "These remediations you own are past their due date:\n\n"
                f"{lines}\n\nMark them done, or change the due date, on their pages or in the "
                f"weekly review: {agenda_url(week)}"
            )
            subject = f"[Once] {len(new)} overdue remediation{'s' * (len(new) > 1)}"
            key = f"overdue:{week.label}:{owner_id}:{min(r.pk for r in new)}"
            payload = {"remediations": sorted(r.pk for r in new)}
            message = Message(
                Notification.Channel.EMAIL, cast("User", new[0].owner).email, subject, body, payload
            )
            if record(key, [message]):
                reminded += len(new)
    return reminded
