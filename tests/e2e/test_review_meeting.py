"""A weekly review meeting in a real browser: decisions on the page, all kept after a reload."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest

from incidents.actions import get_or_create_category
from incidents.models import Incident
from remediations.models import RecurrenceFlag
from reviews.models import ReviewMeeting
from reviews.weeks import Week
from tests.factories import IncidentFactory, RemediationFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _meeting_material() -> dict[str, Any]:
    week = Week.current()
    before = week.starts_at - datetime.timedelta(days=3)
    etcd = get_or_create_category("Control plane > etcd")
    fix = RemediationFactory(title="Defragment etcd nightly", category=etcd, status="done",
                             opened_at=before - datetime.timedelta(days=60),
                             done_at=before - datetime.timedelta(days=30))  # fmt: skip
    unreviewed = IncidentFactory(
        title="etcd slow last week", started_at=before, status="resolved", categories=[etcd]
    )
    flag = RecurrenceFlag.objects.create(incident=unreviewed, category=etcd)
    flag.remediations.add(fix)
    return {"week": week, "incident": unreviewed, "flag": flag}


def log_in(page: Any, path: str) -> None:
    page.goto(path)
    page.fill("#id_username", "alice")
    page.fill("#id_password", "password")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(path) + "$"))


def test_running_the_weekly_review(page: Any) -> None:
    UserFactory(username="alice")
    UserFactory(username="bob")
    material = _meeting_material()
    incident, flag = material["incident"], material["flag"]
    log_in(page, "/review/")
    page.get_by_text("Weekly review").first.wait_for()
    marker = page.evaluate("() => (window.__sameDocument = 'yes')")  # lost on any full reload

    # Mark the incident reviewed: the row changes in place.
    row = page.locator(f"#incident-{incident.pk}")
    row.get_by_role("button", name="Mark reviewed").click()
    page.locator(f"#incident-{incident.pk}").get_by_text("Reviewed just now").wait_for()

    # Acknowledge the recurrence with a note.
    flag_row = page.locator(f"#flag-{flag.pk}")
    flag_row.get_by_label("Note").fill("Defragmenting is not enough: resize the disks.")
    flag_row.get_by_role("button", name="Acknowledge").click()
    page.locator(f"#flag-{flag.pk}").get_by_text(
        "Acknowledged: Defragmenting is not enough"
    ).wait_for()

    # Meeting notes and who came.
    page.fill("#id_notes", "## Decisions\n\n- Resize etcd disks (bob)")
    page.get_by_label("alice").check()
    page.get_by_label("bob").check()
    page.get_by_role("button", name="Save notes").click()
    page.locator("#meeting").get_by_text("Saved").wait_for()
    assert page.evaluate("() => window.__sameDocument") == marker  # no full reload so far

    page.reload()
    assert page.locator(f"#incident-{incident.pk}").count() == 0  # reviewed: off the agenda
    assert page.locator(f"#flag-{flag.pk}").count() == 0  # acknowledged: no longer open
    assert page.locator("#meeting h2:has-text('Decisions')").count() == 1
    assert "Attended: alice, bob" in page.locator("#meeting").inner_text()
    assert page.locator("#id_notes").input_value().startswith("## Decisions")

    assert Incident.objects.get(pk=incident.pk).status == "reviewed"
    assert RecurrenceFlag.objects.get(pk=flag.pk).state == "acknowledged"
    meeting = ReviewMeeting.objects.get(week_start=material["week"].monday)
    assert list(meeting.reviewed_incidents.values_list("pk", flat=True)) == [incident.pk]


def test_the_review_works_without_javascript(browser: Any, live_server: Any, settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    UserFactory(username="alice")
    material = _meeting_material()
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, "/review/")
        page.locator(f"#incident-{material['incident'].pk}").get_by_role(
            "button", name="Mark reviewed"
        ).click()
        page.wait_for_load_state()
        assert f"{material['incident'].reference} is reviewed." in page.content()
        assert Incident.objects.get(pk=material["incident"].pk).status == "reviewed"
    finally:
        context.close()


def test_the_presenting_layout_is_big_and_bare(page: Any) -> None:
    UserFactory(username="alice")
    _meeting_material()
    log_in(page, "/review/")
    page.get_by_role("link", name="Present").click()
    page.wait_for_url(re.compile(r"present=1"))
    assert not page.locator(".site-header").is_visible()
    size = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 20
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="Mark reviewed").first.is_visible()
