"""An incident's history in a real browser: short, and side by side on a wide screen only."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from incidents.actions import record_of, save_incident
from incidents.models import Incident
from tests.e2e.test_write_report import log_in
from tests.factories import IncidentFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BODY = "\n\n".join(
    f"## Section {n}\n\nWhat happened in part {n}: the volume was slow and the leader moved."
    for n in range(15)
)


def three_versions(user: Any) -> Incident:
    """An incident with a long report: created, then four lines added (and a timeline), then
    one word changed and a timeline entry deleted."""
    incident = IncidentFactory(title="etcd leader elections every few minutes", body=BODY)
    record = record_of(incident)
    lines = record["body"].splitlines()
    record["body"] = "\n".join(lines[:20] + ["one", "two", "three", "four"] + lines[20:])
    start = incident.started_at
    record["timeline"] = [
        {"at": start, "text": "Latency rises"},
        {"at": start + datetime.timedelta(minutes=5), "text": "Paged"},
    ]
    save_incident(incident, record, by=user, expected_version=1)
    incident = Incident.objects.get(pk=incident.pk)
    record = record_of(incident)
    record["body"] = record["body"].replace("part 9: the volume", "part 9: the disk")
    record["timeline"] = record["timeline"][1:]
    save_incident(incident, record, by=user, expected_version=2)
    return incident


def test_the_history_of_three_versions_is_short_and_has_a_side_by_side_view(page: Any) -> None:
    user = UserFactory(username="alice")
    incident = three_versions(user)
    log_in(page, "alice", "password")
    page.goto(f"/incidents/{incident.pk}/history/")
    page.get_by_role("heading", name="Version 3").wait_for()

    # Only the hunks: the whole report (45 lines) is never shown again.
    height = page.evaluate("document.body.scrollHeight")
    assert height < 1500, height
    assert page.locator("text=Section 0").count() == 0
    assert page.locator(".diff-item-removed", has_text="Latency rises").is_visible()

    # Unified: the changed line's old version sits above its new one.
    old = page.locator("td.diff-old.diff-removed", has_text="part 9")
    new = page.locator("td.diff-new.diff-added", has_text="part 9")
    assert old.locator("del").inner_text() == "volume" and new.locator("ins").inner_text() == "disk"
    before, after = old.bounding_box(), new.bounding_box()
    assert after["y"] >= before["y"] + before["height"] - 1

    # Side by side: the two columns share a row.
    page.get_by_label("Side by side").check()
    before, after = old.bounding_box(), new.bounding_box()
    assert abs(after["y"] - before["y"]) < 2 and after["x"] >= before["x"] + before["width"] - 1

    # On a phone the switch is gone and the diff is unified again.
    page.set_viewport_size({"width": 390, "height": 800})
    assert not page.get_by_label("Side by side").is_visible()
    before, after = old.bounding_box(), new.bounding_box()
    assert after["y"] >= before["y"] + before["height"] - 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
