"""GET /api/review/<YYYY>-W<WW>/ (PRODUCT.md): the agenda as data."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from reviews.weeks import Week

pytestmark = pytest.mark.django_db


def test_the_agenda_as_json(
    alice_client: Client, kb: dict[str, Any], week: Week, alice: Any
) -> None:
    alice_client.post(
        f"/review/{week.label}/meeting/", {"notes": "Short one.", "attendees": [alice.pk]}
    )
    body = alice_client.get(f"/api/review/{week.label}/").json()
    assert body["week"] == week.label
    assert (body["starts"], body["ends"]) == (str(week.monday), str(week.sunday))
    assert [i["title"] for i in body["new_incidents"]] == ["Checkout down", "Slow search"]
    assert [i["id"] for i in body["unreviewed_incidents"]] == [kb["unreviewed"].pk]
    assert body["open_flags"][0]["id"] == kb["flag"].pk
    assert "Defragment etcd nightly" in body["open_flags"][0]["title"]
    # Most overdue first.
    assert [r["title"] for r in body["overdue_remediations"]] == [
        "Write the runbook",
        "Alert on DNS latency",
    ]
    assert [r["title"] for r in body["due_remediations"]] == ["Upgrade CoreDNS"]
    assert [r["title"] for r in body["done_remediations"]] == ["Raise etcd quota"]
    dns = next(t for t in body["category_trends"] if t["category"] == "Networking > DNS")
    assert len(dns["counts"]) == 12 and dns["counts"][-1] == 1
    assert body["meeting"] == {
        "notes": "Short one.",
        "attendees": ["alice"],
        "reviewed_incidents": [],
    }
    assert body["totals"]["overdue_remediations"] == 2


def test_a_week_with_no_meeting_yet(alice_client: Client, week: Week) -> None:
    body = alice_client.get(f"/api/review/{week.next.label}/").json()
    assert body["meeting"] == {"notes": "", "attendees": [], "reviewed_incidents": []}
    assert body["decisions"] == []


def test_the_minutes_are_in_the_api(alice_client: Client, kb: dict[str, Any], week: Week) -> None:
    """What was decided on the page, in order, with who and when: the minutes as data."""
    incident, flag, done = kb["unreviewed"], kb["flag"], kb["done"]
    review = f"/review/{week.label}"
    alice_client.post(f"{review}/incidents/{incident.pk}/reviewed/", {"version": incident.version})
    alice_client.post(
        f"{review}/flags/{flag.pk}/",
        {f"flag-{flag.pk}-outcome": "fix_did_not_hold", f"flag-{flag.pk}-note": "Resize disks."},
    )
    alice_client.post(f"{review}/remediations/{done.pk}/reopen/", {"version": done.version})
    body = alice_client.get(f"/api/review/{week.label}/").json()
    assert body["meeting"]["reviewed_incidents"] == [incident.pk]
    decisions = body["decisions"]
    assert [(d["kind"], d["by"], d["outcome"]) for d in decisions] == [
        ("reviewed", "alice", ""), ("triaged", "alice", "fix_did_not_hold"),
        ("reopened", "alice", ""),
    ]  # fmt: skip
    reviewed, triaged, reopened = decisions
    assert (reviewed["incident"], reviewed["url"]) == (incident.pk, f"/incidents/{incident.pk}/")
    assert reviewed["subject"] == f"{incident.reference} DNS timeouts last week"
    assert (triaged["flag"], triaged["incident"]) == (flag.pk, flag.incident_id)
    assert triaged["detail"] == "The fix did not hold: Resize disks."
    assert triaged["next_steps"] == [
        {"label": "Open a follow-up of “Defragment etcd nightly”",
         "url": f"/remediations/new/?follow_up={kb['fix'].pk}&flag={flag.pk}"},
    ]  # fmt: skip
    assert (reopened["remediation"], reopened["detail"]) == (done.pk, "done → open")
    assert reviewed["at"] <= triaged["at"] <= reopened["at"]


def test_no_such_week(alice_client: Client) -> None:
    response = alice_client.get("/api/review/2026-W54/")
    assert response.status_code == 404
    assert response.json() == {"detail": "2026 has no week 54."}
    assert alice_client.get("/api/review/this-week/").status_code == 404


def test_the_api_needs_a_login(client: Client, week: Week) -> None:
    assert client.get(f"/api/review/{week.label}/").status_code == 401
