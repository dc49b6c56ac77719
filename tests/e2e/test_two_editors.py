"""Two people edit one incident in two browsers: one a cause, the other the title. The later
save meets the conflict page, and saving from it keeps both changes (issue 10, item 3)."""

from __future__ import annotations

from typing import Any

import pytest

from incidents.models import Incident
from remediations.actions import save_report
from remediations.records import clean_report
from tests.e2e.test_write_report import log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_cause_and_a_title_edited_at_once_both_survive(
    browser: Any, page: Any, live_server: Any
) -> None:
    UserFactory(username="alice")
    UserFactory(username="bob")
    incident = Incident()
    save_report(
        incident,
        clean_report({
            "title": "DNS timeouts", "started_at": "2026-11-20T10:00:00Z",
            "causes": [{"kind": "trigger", "description": "A node pool was replaced"}],
        }),
        by=None, expected_version=None,
    )  # fmt: skip
    edit = f"/incidents/{incident.pk}/edit/"

    log_in(page, "alice", "password")
    bob = browser.new_context(base_url=live_server.url).new_page()  # a second browser
    log_in(bob, "bob", "password")

    page.goto(edit)
    bob.goto(edit)
    page.fill("#id_causes-0-description", "A node pool was replaced without its DNS cache")
    page.click("button.primary")
    page.wait_for_url(f"**/incidents/{incident.pk}/")

    bob.fill("#id_title", "DNS timeouts on new nodes")
    bob.click("button.primary")
    bob.locator("text=Someone else saved this while you were editing").wait_for()
    assert "without its DNS cache" in bob.locator(".conflict").inner_text()
    assert bob.input_value("#id_title") == "DNS timeouts on new nodes"  # what bob typed
    assert bob.input_value("#id_causes-0-description").endswith("without its DNS cache")
    bob.click("button.primary")
    bob.wait_for_url(f"**/incidents/{incident.pk}/")

    incident.refresh_from_db()
    assert incident.title == "DNS timeouts on new nodes"
    assert [c.description for c in incident.causes.all()] == [
        "A node pool was replaced without its DNS cache"
    ]
    bob.context.close()


def test_an_incident_with_the_most_timeline_entries_saves_from_the_browser(page: Any) -> None:
    from incidents.records import MAX_CAUSES, MAX_TIMELINE

    UserFactory(username="alice")
    incident = Incident()
    record = {
        "title": "A long night", "started_at": "2026-11-20T00:00:00Z",
        "causes": [{"description": f"cause {n}"} for n in range(MAX_CAUSES)],
        "timeline": [
            {"at": f"2026-11-20T{n // 60 % 24:02d}:{n % 60:02d}:00Z", "text": f"step {n}"}
            for n in range(MAX_TIMELINE)
        ],
    }  # fmt: skip
    save_report(incident, clean_report(record), by=None, expected_version=None)

    log_in(page, "alice", "password")
    page.goto(f"/incidents/{incident.pk}/edit/")
    page.fill("#id_title", "A long night, reviewed")
    page.click("button.primary")
    page.wait_for_url(f"**/incidents/{incident.pk}/")
    incident.refresh_from_db()
    assert incident.title == "A long night, reviewed" and incident.version == 2
    assert incident.timeline.count() == MAX_TIMELINE and incident.causes.count() == MAX_CAUSES
