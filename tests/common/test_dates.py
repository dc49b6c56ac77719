"""Dates shown once, one way (issue 16, item 5): one moment reads the same on every page, in
every email and in history — "2026-11-20" for a day, "2026-11-20 10:05 UTC" for a time."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from common import dates
from common.models import Notification
from incidents.models import FailureCategory, Service
from remediations import notifications as flag_notifications
from reviews import agenda, digest
from reviews.weeks import Week
from tests.factories import RemediationFactory, make_flag
from tests.search.helpers import store

pytestmark = pytest.mark.django_db

DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$")
STAMP = re.compile(r'<time class="stamp" datetime="([^"]+)">([^<]*)</time>')
# Any other way of writing a date: "Mon 23 Nov", "23 Nov 2026", "November 2026", "11/23/2026".
MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
OTHER_FORMATS = re.compile(
    rf"\b\d{{1,2}} ({MONTHS})\b|\b({MONTHS})[a-z]* \d{{1,2}}\b|\b({MONTHS})[a-z]* \d{{4}}\b"
    r"|\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]* \d|\b\d{1,2}/\d{1,2}/\d{4}\b"
    r"|\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?!(:\d{2})? UTC)(?!:\d{2}(\.\d+)?(Z|[+-]\d))"
)


def test_a_day_and_a_moment_are_written_one_way() -> None:
    moment = datetime.datetime(2026, 11, 20, 10, 5, 33, tzinfo=datetime.UTC)
    assert dates.day(moment) == "2026-11-20"
    assert dates.day(moment.date()) == "2026-11-20"
    assert dates.moment(moment) == "2026-11-20 10:05 UTC"
    assert dates.month(moment) == "2026-11"
    assert dates.iso(moment) == "2026-11-20T10:05:33Z"
    assert dates.day(None) == dates.moment(None) == "—"
    # A time given with another offset is the same moment, shown in TIME_ZONE (UTC).
    east = moment.astimezone(datetime.timezone(datetime.timedelta(hours=14)))
    assert dates.moment(east) == "2026-11-20 10:05 UTC" and dates.day(east) == "2026-11-20"


def test_the_filters_wrap_the_text_in_one_unbreakable_time_element() -> None:
    from django.template import engines

    template = engines["django"].from_string("{{ a|day }}|{{ a|moment }}|{{ b|day }}|{{ c|day }}")
    moment = datetime.datetime(2026, 11, 20, 23, 59, tzinfo=datetime.UTC)
    html = template.render({"a": moment, "b": moment.date(), "c": None})
    assert html == (
        '<time class="stamp" datetime="2026-11-20T23:59:00Z">2026-11-20</time>|'
        '<time class="stamp" datetime="2026-11-20T23:59:00Z">2026-11-20 23:59 UTC</time>|'
        '<time class="stamp" datetime="2026-11-20">2026-11-20</time>|'
    )


@pytest.fixture
def world(alice: Any, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    """An incident started at a known moment (saved as an import saves it, indexed for
    search), its failure mode and service, a flag on a done fix, and an open remediation due
    on the incident's day."""
    started = (timezone.now() - datetime.timedelta(days=1)).replace(
        hour=10, minute=5, second=33, microsecond=0
    )
    at = dates.iso(started)
    incident = store(
        django_capture_on_commit_callbacks, "Disk filled on the ledger", started_at=at,
        categories=["Disk pressure"], services=["billing"],
        timeline=[{"at": at, "text": "Paged the on-call"}],
    )  # fmt: skip
    mode = FailureCategory.objects.get(name="Disk pressure")
    service = Service.objects.get(name="billing")
    fix = RemediationFactory(
        title="Rotate the ledger logs", category=mode, status="done", kind="prevent",
        opened_at=started - datetime.timedelta(days=60),
        done_at=started - datetime.timedelta(days=40), owner=alice,
    )  # fmt: skip
    flag = make_flag(incident, mode, fix)
    due = RemediationFactory(
        title="Alert on disk at 80 percent", category=mode, incident=incident,
        owner=alice, due_date=started.date(),
    )  # fmt: skip
    return {"started": started, "mode": mode, "service": service, "incident": incident,
            "fix": fix, "flag": flag, "due": due}  # fmt: skip


def stamps_of(html: str) -> list[tuple[str, str]]:
    """Every date the page shows as (its datetime attribute, its text), each checked."""
    found = STAMP.findall(html)
    for value, text in found:
        assert DAY.match(text) or MOMENT.match(text), text
        shown = datetime.datetime.fromisoformat(value) if "T" in value else None
        if shown is not None:
            assert text in (dates.day(shown), dates.moment(shown)), (value, text)
        else:
            assert text == value, (value, text)
    # No date or time outside a stamp, and none written another way.
    visible = re.sub(r"<[^>]+>", " ", STAMP.sub(" ", html))
    visible = re.sub(r'value="[^"]*"|datetime="[^"]*"', " ", visible)
    assert not OTHER_FORMATS.search(visible), OTHER_FORMATS.search(visible)
    return found


def test_the_same_moment_reads_the_same_on_every_page(
    alice_client: Client, world: dict[str, Any]
) -> None:
    started, incident = world["started"], world["incident"]
    day, moment = dates.day(started), dates.moment(started)
    week = Week.containing(started.date())
    pages = {
        # page: how it shows the incident's start (or the remediation due that day)
        reverse("incident_list"): moment,
        incident.get_absolute_url(): moment,
        world["mode"].get_absolute_url(): day,
        reverse("service_detail", args=[world["service"].pk]): day,
        reverse("remediation_list"): day,
        world["due"].get_absolute_url(): day,
        reverse("flag_list"): day,
        reverse("flag_detail", args=[world["flag"].pk]): moment,
        reverse("review_week", args=[week.label]): day,
        reverse("search") + "?q=ledger": day,
        reverse("incident_history", args=[incident.pk]): None,
        reverse("account_tokens"): None,
    }
    for url, expected in pages.items():
        response = alice_client.get(url)
        assert response.status_code == 200, url
        shown = [text for _, text in stamps_of(response.content.decode())]
        if expected is not None:
            assert expected in shown, (url, shown)


def test_history_writes_a_changed_time_as_the_pages_do(
    alice_client: Client, world: dict[str, Any]
) -> None:
    incident = world["incident"]
    before = dates.moment(incident.started_at)
    later = incident.started_at + datetime.timedelta(minutes=30)
    incident.started_at = later
    incident.version += 1
    incident.save()
    html = alice_client.get(reverse("incident_history", args=[incident.pk])).content.decode()
    stamps_of(html)
    assert f"<del>{before}</del> → <ins>{dates.moment(later)}</ins>" in html


def test_the_same_moment_reads_the_same_in_every_email(
    world: dict[str, Any], alice: Any, settings: Any
) -> None:
    settings.ONCE_DIGEST_RECIPIENTS = []
    started, fix = world["started"], world["fix"]
    week = Week.containing(started.date())
    texts = {
        "flag": " ".join(m.body for m in flag_notifications.messages(world["flag"])),
        "digest": digest.digest_text(agenda.build(week, viewer=alice)),
    }
    digest.remind_overdue(Week.current())
    texts["reminder"] = " ".join(
        Notification.objects.filter(key__startswith="overdue:").values_list("body", flat=True)
    )
    assert f"done {dates.day(fix.done_at)}" in texts["flag"]
    assert f"due {dates.day(started)}" in texts["digest"]
    assert f"({dates.day(week.monday)} – {dates.day(week.sunday)})" in texts["digest"]
    if world["due"].is_overdue:
        assert f"(due {dates.day(started)})" in texts["reminder"]
    for name, text in texts.items():
        assert not OTHER_FORMATS.search(text), (name, OTHER_FORMATS.search(text))


def test_an_overdue_due_date_is_marked_the_same_way_on_every_list(
    alice_client: Client, world: dict[str, Any]
) -> None:
    due = world["due"]
    assert due.is_overdue  # due yesterday, still open
    marked = f'{dates.day(due.due_date)}</time> <strong class="overdue-label">overdue</strong>'
    for url in (
        reverse("remediation_list"),
        reverse("service_detail", args=[world["service"].pk]),
        world["mode"].get_absolute_url(),
        world["incident"].get_absolute_url(),
        due.get_absolute_url(),
    ):
        html = alice_client.get(url).content.decode()
        assert marked in html, url
