"""Have we seen this before? (issue 15, item 5) in a real browser: typing a title shows a
similar past incident beside the form, and a duplicate's address leads to its original."""

from __future__ import annotations

import re
from typing import Any

import pytest

from incidents.actions import mark_duplicate
from incidents.models import Incident
from reports.interchange import apply_record, parse_record
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def stored(title: str, **fields: Any) -> Incident:
    """An incident saved the way imports save it: committed, so search has indexed it."""
    record = {"title": title, "started_at": "2024-03-01T10:00:00Z", **fields}
    return apply_record(parse_record(record)).incident


def log_in(page: Any, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "password")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/incidents/$"))


def test_typing_a_title_shows_a_similar_past_incident_with_why(page: Any) -> None:
    UserFactory(username="alice")
    past = stored(
        "Kafka consumers stalled after a broker upgrade",
        summary="Consumer lag grew for two hours after the brokers were upgraded.",
        categories=["Messaging > Consumer lag"],
    )
    stored("Invoices sent twice", summary="A retry in the billing job sent invoices again.")
    log_in(page, "alice")
    page.goto("/incidents/new/")
    panel = page.locator("#similar-incidents")
    panel.get_by_text("similar past incidents show here").wait_for()
    page.locator("#id_title").press_sequentially("kafka consumers stalled", delay=20)
    suggestion = panel.locator(".similar", has_text=past.title)
    suggestion.wait_for()
    assert "Invoices sent twice" not in panel.inner_text()
    assert "Same words" in suggestion.inner_text()
    assert suggestion.locator("mark", has_text="kafka").count() == 1
    link = suggestion.get_by_role("link", name=re.compile("Kafka consumers stalled"))
    assert link.get_attribute("target") == "_blank"  # the form is not lost
    # The title typed is still there: the panel updates beside the form, not over it.
    assert page.input_value("#id_title") == "kafka consumers stalled"


def test_editing_offers_to_mark_as_duplicate_and_the_duplicates_url_redirects(page: Any) -> None:
    alice = UserFactory(username="alice")
    original = stored("Kafka consumers stalled after a broker upgrade")
    copy = stored("Kafka consumers stalled again", summary="Same broker upgrade.")
    log_in(page, "alice")
    page.goto(f"/incidents/{copy.pk}/edit/")
    mark_link = page.locator("#similar-incidents .mark-duplicate").first
    mark_link.wait_for()
    assert mark_link.get_attribute("href") == f"/incidents/{copy.pk}/duplicate/?of={original.pk}"
    copy.refresh_from_db()
    mark_duplicate(copy, original.pk, by=alice, expected_version=copy.version)

    page.goto(f"/incidents/{copy.pk}/")
    page.wait_for_url(f"**/incidents/{original.pk}/")
    assert page.locator("h1").inner_text().endswith(original.title)
    page.locator("#duplicates").get_by_text(copy.title).wait_for()
