"""Decisions made on the agenda: with htmx (a fragment back) and without JavaScript (a redirect)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from incidents.models import Incident
from remediations.models import RecurrenceFlag, Remediation
from reviews.models import ReviewMeeting
from reviews.weeks import Week

pytestmark = pytest.mark.django_db
HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}  # extra request headers for Client.post


def test_marking_reviewed_records_it_in_the_weeks_meeting(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    incident = kb["unreviewed"]
    url = f"/review/{week.label}/incidents/{incident.pk}/reviewed/"
    response = alice_client.post(url, {"version": incident.version}, **HTMX)
    assert response.status_code == 200
    assert f'id="incident-{incident.pk}"' in response.content.decode()
    assert "Reviewed just now" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "reviewed"
    meeting = ReviewMeeting.objects.get(week_start=week.monday)
    assert list(meeting.reviewed_incidents.all()) == [incident]
    page = alice_client.get(f"/review/{week.label}/").content.decode()
    assert "Every resolved incident from earlier weeks has been reviewed." in page


def test_marking_reviewed_without_javascript_comes_back_to_the_row(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    incident = kb["unreviewed"]
    response = alice_client.post(
        f"/review/{week.label}/incidents/{incident.pk}/reviewed/", {"version": incident.version}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/review/{week.label}/#incident-{incident.pk}"
    assert alice_client.get(response["Location"]).status_code == 200


def test_an_incident_changed_meanwhile_is_not_overwritten(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    incident = kb["unreviewed"]
    stale = incident.version
    Incident.objects.filter(pk=incident.pk).update(version=stale + 1, title="Edited meanwhile")
    response = alice_client.post(
        f"/review/{week.label}/incidents/{incident.pk}/reviewed/", {"version": stale}, **HTMX
    )
    assert "Someone changed this incident meanwhile" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_acknowledging_a_flag_keeps_the_note(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    flag = kb["flag"]
    response = alice_client.post(
        f"/review/{week.label}/flags/{flag.pk}/",
        {
            f"flag-{flag.pk}-decision": "acknowledged",
            f"flag-{flag.pk}-note": "Defrag is not enough; sizing next.",
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert "Acknowledged: Defrag is not enough; sizing next." in response.content.decode()
    flag.refresh_from_db()
    assert (flag.state, flag.note) == ("acknowledged", "Defrag is not enough; sizing next.")


def test_dismissing_without_a_note_explains_and_keeps_the_page(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    flag = kb["flag"]
    response = alice_client.post(
        f"/review/{week.label}/flags/{flag.pk}/",
        {f"flag-{flag.pk}-decision": "dismissed", f"flag-{flag.pk}-note": ""},
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert RecurrenceFlag.objects.get(pk=flag.pk).state == "open"


def test_reassigning_and_rescheduling_a_remediation(
    alice_client: Client, kb: dict[str, Any], week: Week, alice: Any
) -> None:
    remediation = kb["overdue"]
    prefix = f"remediation-{remediation.pk}"
    response = alice_client.post(
        f"/review/{week.label}/remediations/{remediation.pk}/",
        {f"{prefix}-version": remediation.version, f"{prefix}-status": "in_progress",
         f"{prefix}-owner": "alice", f"{prefix}-due_date": "2030-01-31"},
        **HTMX,
    )  # fmt: skip
    assert response.status_code == 200 and "Saved" in response.content.decode()
    remediation.refresh_from_db()
    assert (remediation.status, remediation.owner, str(remediation.due_date)) == (
        "in_progress", alice, "2030-01-31",
    )  # fmt: skip


def test_marking_a_remediation_done_from_the_agenda_sets_when(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    remediation = kb["due"]
    prefix = f"remediation-{remediation.pk}"
    alice_client.post(
        f"/review/{week.label}/remediations/{remediation.pk}/",
        {f"{prefix}-version": remediation.version, f"{prefix}-status": "done",
         f"{prefix}-owner": "alice", f"{prefix}-due_date": str(remediation.due_date)},
    )  # fmt: skip
    remediation.refresh_from_db()
    assert remediation.status == "done" and remediation.done_at is not None


def test_a_bad_due_date_is_explained_and_what_was_typed_stays(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    remediation = kb["overdue"]
    prefix = f"remediation-{remediation.pk}"
    data = {f"{prefix}-version": remediation.version, f"{prefix}-status": "open",
            f"{prefix}-owner": "", f"{prefix}-due_date": "next tuesday"}  # fmt: skip
    for extra in ({}, HTMX):
        response = alice_client.post(
            f"/review/{week.label}/remediations/{remediation.pk}/", data, **extra
        )
        page = response.content.decode()
        assert "Enter a valid date." in page and 'value="next tuesday"' in page
    assert Remediation.objects.get(pk=remediation.pk).due_date == remediation.due_date


def test_an_unknown_owner_is_explained(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    remediation = kb["overdue"]
    prefix = f"remediation-{remediation.pk}"
    response = alice_client.post(
        f"/review/{week.label}/remediations/{remediation.pk}/",
        {f"{prefix}-version": remediation.version, f"{prefix}-status": "open",
         f"{prefix}-owner": "mallory", f"{prefix}-due_date": ""},
        **HTMX,
    )  # fmt: skip
    assert "Nobody is called “mallory” here." in response.content.decode()
    assert Remediation.objects.get(pk=remediation.pk).owner.username == "bob"


def test_meeting_notes_and_attendees_are_kept_per_week(
    alice_client: Client, kb: dict[str, Any], week: Week, alice: Any, bob: Any
) -> None:
    response = alice_client.post(
        f"/review/{week.label}/meeting/",
        {
            "notes": "## Decisions\n\n- Size etcd disks\n<script>x</script>",
            "attendees": [alice.pk, bob.pk],
        },
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h2>Decisions</h2>" in html and "<li>Size etcd disks" in html
    assert "<script>x" not in html and "&lt;script&gt;x" in html  # shown as text
    assert "Attended: alice, bob" in html
    assert (
        "Size etcd disks"
        not in alice_client.get(f"/review/{week.previous.label}/").content.decode()
    )
    assert "Size etcd disks" in alice_client.get(f"/review/{week.label}/").content.decode()


def test_weeks_that_do_not_exist_are_not_found(alice_client: Client) -> None:
    assert alice_client.get("/review/2026-W60/").status_code == 404
    assert alice_client.get("/review/2026-W00/").status_code == 404
    assert alice_client.get("/review/2020-W53/").status_code == 200  # 2020 had 53 weeks


def test_the_page_links_the_weeks_around_it(alice_client: Client, week: Week) -> None:
    page = alice_client.get("/review/").content.decode()
    assert f"Weekly review {week.label}" in page
    assert f'href="/review/{week.previous.label}/"' in page
    assert f'href="/review/{week.next.label}/"' in page
    present = alice_client.get("/review/?present=1").content.decode()
    assert 'class="review presenting"' in present


def test_two_people_saving_meeting_notes_do_not_overwrite_each_other(
    alice_client: Client, bob_client: Client
) -> None:
    url = reverse("review_meeting", args=["2026-W10"])
    assert alice_client.post(url, {"notes": "Alice's first notes"}).status_code == 302
    page = bob_client.get(reverse("review_week", args=["2026-W10"])).content.decode()
    assert 'name="version" value="1"' in page
    assert alice_client.post(url, {"notes": "Alice again", "version": "1"}).status_code == 302
    response = bob_client.post(url, {"notes": "Bob's notes", "version": "1"})
    assert response.status_code == 400
    assert "Someone saved the notes while you were writing" in response.content.decode()
    assert "Bob&#x27;s notes" in response.content.decode()  # what bob typed is kept
    assert ReviewMeeting.objects.get().notes == "Alice again"
    merged = {"notes": "Alice again\n\nBob's notes", "version": "2"}  # the page now says 2
    assert 'name="version" value="2"' in response.content.decode()
    assert bob_client.post(url, merged).status_code == 302
    assert ReviewMeeting.objects.get().notes.endswith("Bob's notes")
