"""A service's page in a real browser: opened from an incident's service tag, and its design
notes edited in place by two people at once — the later save meets the conflict with its text
kept (issue 17)."""

from __future__ import annotations

from typing import Any

import pytest

from incidents.models import Incident, Service
from remediations.actions import save_report
from remediations.records import clean_report
from tests.e2e.test_write_report import log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_design_notes_edited_in_two_browsers_conflict_and_keep_the_later_text(
    browser: Any, page: Any, live_server: Any
) -> None:
    UserFactory(username="alice")
    UserFactory(username="bob")
    incident = Incident()
    record = {
        "title": "etcd lost quorum", "started_at": "2026-11-20T10:00:00Z",
        "services": ["etcd"], "categories": ["Control plane > etcd"],
    }  # fmt: skip
    save_report(incident, clean_report(record), by=None, expected_version=None)
    etcd = Service.objects.get(name="etcd")

    log_in(page, "alice", "password")
    bob = browser.new_context(base_url=live_server.url).new_page()  # a second browser
    log_in(bob, "bob", "password")

    # From the incident's service tag to the service page.
    page.goto(f"/incidents/{incident.pk}/")
    page.click("a.tag.service:has-text('etcd')")
    page.wait_for_url(f"**/services/{etcd.pk}/")
    assert "Control plane > etcd" in page.locator("#how-it-breaks").inner_text()
    bob.goto(f"/services/{etcd.pk}/")

    # Both open the editor in place (htmx swaps the section for the form).
    page.click("#design-notes >> text=Edit")
    bob.click("#design-notes >> text=Edit")
    page.locator("#design-notes textarea").wait_for()
    bob.locator("#design-notes textarea").wait_for()
    assert page.url.endswith(f"/services/{etcd.pk}/")  # in place: no navigation

    page.fill("#design-notes textarea", "etcd needs **predictable** disk latency.")
    page.click("#design-notes button.primary")
    page.locator("#design-notes strong:has-text('predictable')").wait_for()

    bob.fill("#design-notes textarea", "Keep the member count odd.")
    bob.click("#design-notes button.primary")
    bob.locator("text=Someone else saved these notes while you were editing").wait_for()
    assert "predictable" in bob.locator("#design-notes .their-notes").inner_text()
    assert bob.input_value("#design-notes textarea") == "Keep the member count odd."
    # He merges and saves again: it goes through.
    bob.fill("#design-notes textarea", "etcd needs predictable disk latency. Keep it odd.")
    bob.click("#design-notes button.primary")
    bob.locator("#design-notes >> text=Keep it odd.").wait_for()

    etcd.refresh_from_db()
    assert (etcd.design_notes, etcd.version) == (
        "etcd needs predictable disk latency. Keep it odd.", 3,
    )  # fmt: skip
    bob.context.close()
