"""Decisions made on the agenda: with htmx (a fragment back) and without JavaScript (a redirect),
each written into the meeting's minutes."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from incidents.models import Incident
from remediations import effectiveness
from remediations.models import Remediation
from reviews.models import ReviewDecision, ReviewMeeting
from reviews.weeks import Week

pytestmark = pytest.mark.django_db
HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}  # extra request headers for Client.post


def minutes(week: Week) -> list[tuple[str, str, str, str]]:
    """The week's decisions as (kind, subject, detail, by)."""
    return [
        (d.kind, d.subject, d.detail, d.by.username if d.by else "")
        for d in ReviewDecision.objects.filter(meeting__week_start=week.monday)
    ]


# --- Mark reviewed ---------------------------------------------------------------------------


def test_marking_reviewed_records_it_in_the_weeks_meeting(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    incident = kb["unreviewed"]
    url = f"/review/{week.label}/incidents/{incident.pk}/reviewed/"
    response = alice_client.post(url, {"version": incident.version}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="incident-{incident.pk}"' in html and "Reviewed just now" in html
    assert (
        'id="decisions" class="decisions" aria-labelledby="decisions-title" hx-swap-oob="true"'
        in html
    )
    incident.refresh_from_db()
    assert incident.status == "reviewed"
    meeting = ReviewMeeting.objects.get(week_start=week.monday)
    assert list(meeting.reviewed_incidents.all()) == [incident]
    assert minutes(week) == [
        ("reviewed", f"{incident.reference} DNS timeouts last week", "", "alice")
    ]
    page = alice_client.get(f"/review/{week.label}/").content.decode()
    assert "Every resolved incident from earlier weeks has been reviewed." in page


def test_marking_reviewed_without_javascript_comes_back_to_the_section(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    incident = kb["unreviewed"]
    response = alice_client.post(
        f"/review/{week.label}/incidents/{incident.pk}/reviewed/", {"version": incident.version}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/review/{week.label}/#unreviewed"
    page = alice_client.get(response["Location"]).content.decode()
    assert f"{incident.reference} is reviewed." in page


def test_an_incident_changed_meanwhile_is_not_overwritten(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    incident = kb["unreviewed"]
    stale = incident.version
    Incident.objects.filter(pk=incident.pk).update(version=stale + 1, title="Edited meanwhile")
    url = f"/review/{week.label}/incidents/{incident.pk}/reviewed/"
    for extra in (HTMX, {}):
        response = alice_client.post(url, {"version": stale}, **extra)
        assert response.status_code == 409
        assert "Someone changed this incident meanwhile" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "resolved" and minutes(week) == []


def test_an_incident_still_investigating_is_not_reviewed_without_its_resolved_time(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    incident = kb["new_sev1"]  # investigating, no resolved time
    page = alice_client.get(f"/review/{week.label}/").content.decode()
    assert "Still investigating: resolved at (UTC)" in page  # the row says why and asks
    assert f'id="resolved-{incident.pk}"' in page
    url = f"/review/{week.label}/incidents/{incident.pk}/reviewed/"
    for extra in (HTMX, {}):
        response = alice_client.post(url, {"version": incident.version}, **extra)
        assert response.status_code == 400
        assert (
            f"{incident.reference} is still investigating: say when it was resolved to mark it "
            "reviewed." in response.content.decode()
        )
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_at) == ("investigating", None)
    assert minutes(week) == []


def test_an_incident_still_investigating_is_reviewed_with_the_resolved_time_given(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    incident = kb["new_sev1"]
    resolved = incident.started_at.replace(second=0, microsecond=0) + datetime.timedelta(hours=3)
    response = alice_client.post(
        f"/review/{week.label}/incidents/{incident.pk}/reviewed/",
        {"version": incident.version, "resolved_at": resolved.strftime("%Y-%m-%dT%H:%M")},
        **HTMX,
    )
    assert response.status_code == 200 and "Reviewed just now" in response.content.decode()
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_at) == ("reviewed", resolved)
    [(kind, _, detail, _)] = minutes(week)
    assert (kind, detail) == ("reviewed", f"resolved at {resolved:%Y-%m-%d %H:%M} UTC")


def test_a_resolved_time_before_the_start_is_refused_by_the_incidents_own_rules(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    incident = kb["new_sev1"]
    too_early = (incident.started_at - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    url = f"/review/{week.label}/incidents/{incident.pk}/reviewed/"
    for extra in (HTMX, {}):
        response = alice_client.post(
            url, {"version": incident.version, "resolved_at": too_early}, **extra
        )
        html = response.content.decode()
        assert response.status_code == 400
        assert "An incident can&#x27;t be resolved before it started." in html
        assert f'value="{too_early}"' in html  # what was typed stays
    response = alice_client.post(url, {"version": incident.version, "resolved_at": "soon"})
    assert "Resolved (UTC): Enter a valid date/time." in response.content.decode()
    assert 'value="soon"' in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == "investigating"


# --- Remediations ----------------------------------------------------------------------------


def _decide(client: Client, week: Week, remediation: Remediation, **fields: Any) -> Any:
    prefix = f"remediation-{remediation.pk}"
    data = {
        "version": remediation.version, "status": remediation.status,
        "owner": remediation.owner.username if remediation.owner else "",
        "due_date": str(remediation.due_date or ""), **fields,
    }  # fmt: skip
    return client.post(
        f"/review/{week.label}/remediations/{remediation.pk}/",
        {f"{prefix}-{name}": value for name, value in data.items()},
        **HTMX,
    )


def test_reassigning_and_rescheduling_a_remediation_are_in_the_minutes(
    alice_client: Client, kb: dict[str, Any], week: Week, alice: Any
) -> None:
    remediation = kb["overdue"]
    old_due = remediation.due_date.isoformat()
    response = _decide(
        alice_client, week, remediation, status="in_progress", owner="alice", due_date="2030-01-31"
    )
    assert response.status_code == 200 and "Saved" in response.content.decode()
    remediation.refresh_from_db()
    assert (remediation.status, remediation.owner, str(remediation.due_date)) == (
        "in_progress", alice, "2030-01-31",
    )  # fmt: skip
    assert minutes(week) == [
        ("status_changed", "Alert on DNS latency", "open → in progress", "alice"),
        ("reassigned", "Alert on DNS latency", "bob → alice", "alice"),
        ("rescheduled", "Alert on DNS latency", f"due {old_due} → 2030-01-31", "alice"),
    ]
    assert "Alert on DNS latency" in response.content.decode().split('id="decisions"')[1]


def test_marking_a_remediation_done_from_the_agenda_sets_when_and_is_in_the_minutes(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    remediation = kb["due"]
    _decide(alice_client, week, remediation, status="done")
    remediation.refresh_from_db()
    assert remediation.status == "done" and remediation.done_at is not None
    assert minutes(week) == [("marked_done", "Upgrade CoreDNS", "open → done", "alice")]


def test_saving_a_row_unchanged_decides_nothing(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    remediation = kb["due"]
    assert _decide(alice_client, week, remediation).status_code == 200
    assert Remediation.objects.get(pk=remediation.pk).version == remediation.version
    assert minutes(week) == []


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
        assert response.status_code == 400
        assert "Enter a valid date." in page and 'value="next tuesday"' in page
    assert Remediation.objects.get(pk=remediation.pk).due_date == remediation.due_date


def test_an_unknown_owner_is_explained(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    remediation = kb["overdue"]
    response = _decide(alice_client, week, remediation, owner="mallory")
    assert "Nobody is called “mallory” in Once." in response.content.decode()
    assert Remediation.objects.get(pk=remediation.pk).owner.username == "bob"


def test_a_remediation_changed_meanwhile_is_not_overwritten(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    remediation = kb["overdue"]
    Remediation.objects.filter(pk=remediation.pk).update(version=remediation.version + 1)
    response = _decide(alice_client, week, remediation, owner="alice")
    assert response.status_code == 409
    assert "Someone changed this remediation meanwhile" in response.content.decode()
    assert Remediation.objects.get(pk=remediation.pk).owner.username == "bob"
    assert minutes(week) == []


# --- Reopening what was done this week -------------------------------------------------------


def test_a_fix_done_this_week_can_be_reopened(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    done = kb["done"]
    effectiveness.assess([done.pk])  # as the engine does after it was marked done
    done.refresh_from_db()
    assert done.effectiveness == "unverified"
    page = alice_client.get(f"/review/{week.label}/").content.decode()
    assert f'id="done-{done.pk}"' in page and f"/remediations/{done.pk}/reopen/" in page
    response = alice_client.post(
        f"/review/{week.label}/remediations/{done.pk}/reopen/", {"version": done.version}, **HTMX
    )
    assert response.status_code == 200
    assert "Open: reopened just now" in response.content.decode()
    done.refresh_from_db()
    assert (done.status, done.done_at, done.effectiveness) == ("open", None, None)
    assert minutes(week) == [("reopened", "Raise etcd quota", "done → open", "alice")]
    page = alice_client.get(f"/review/{week.label}/").content.decode()
    assert f'id="done-{done.pk}"' not in page  # no longer done this week
    assert "Reopened</span>" in page and "Raise etcd quota</a>: done → open" in page


def test_reopening_without_javascript_comes_back_to_done(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    done = kb["done"]
    response = alice_client.post(
        f"/review/{week.label}/remediations/{done.pk}/reopen/", {"version": done.version}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/review/{week.label}/#done"
    page = alice_client.get(response["Location"]).content.decode()
    assert "“Raise etcd quota” is open again." in page
    assert Remediation.objects.get(pk=done.pk).status == "open"


def test_reopening_a_fix_someone_changed_meanwhile_is_refused(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    done = kb["done"]
    Remediation.objects.filter(pk=done.pk).update(version=done.version + 1)
    url = f"/review/{week.label}/remediations/{done.pk}/reopen/"
    for extra in (HTMX, {}):
        response = alice_client.post(url, {"version": done.version}, **extra)
        assert response.status_code == 409
        assert "Someone changed this remediation meanwhile" in response.content.decode()
    assert Remediation.objects.get(pk=done.pk).status == "done"
    assert minutes(week) == []


# --- Meeting notes ---------------------------------------------------------------------------


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


def test_the_notes_have_a_live_preview(alice_client: Client, week: Week) -> None:
    page = alice_client.get(f"/review/{week.label}/").content.decode()
    assert 'hx-post="/preview/?field=notes"' in page and 'hx-include="#id_notes"' in page
    preview = alice_client.post("/preview/?field=notes", {"notes": "**Resize** the disks"})
    assert preview.content.decode().strip() == "<p><strong>Resize</strong> the disks</p>"


def test_notes_saved_after_a_decision_made_the_meeting_are_kept(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    """The page was opened before the week had a meeting; a decision made one meanwhile."""
    incident = kb["unreviewed"]
    alice_client.post(
        f"/review/{week.label}/incidents/{incident.pk}/reviewed/", {"version": incident.version}
    )
    response = alice_client.post(f"/review/{week.label}/meeting/", {"notes": "Short."})
    assert response.status_code == 302
    assert ReviewMeeting.objects.get(week_start=week.monday).notes == "Short."


def test_weeks_that_do_not_exist_are_not_found(alice_client: Client) -> None:
    assert alice_client.get("/review/2026-W60/").status_code == 404
    assert alice_client.get("/review/2026-W00/").status_code == 404
    assert alice_client.get("/review/2020-W53/").status_code == 200  # 2020 had 53 weeks


def test_the_page_links_the_weeks_around_it_and_its_sections(
    alice_client: Client, kb: dict[str, Any], week: Week
) -> None:
    page = alice_client.get("/review/").content.decode()
    assert f"Weekly review {week.label}" in page
    assert f'href="/review/{week.previous.label}/"' in page
    assert f'href="/review/{week.next.label}/"' in page
    jump = page.split('<nav class="jump')[1].split("</nav>")[0]
    assert 'href="#new">New <span class="count">2</span>' in jump
    assert 'href="#unreviewed">Unreviewed <span class="count">1</span>' in jump
    assert 'href="#flags">Recurred <span class="count">1</span>' in jump
    assert 'href="#overdue">Overdue <span class="count">2</span>' in jump
    assert 'href="#decisions">Decided <span id="decided-count" class="count">0</span>' in jump
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
    assert response.status_code == 409
    assert "Someone saved the notes while you were writing" in response.content.decode()
    assert "Bob&#x27;s notes" in response.content.decode()  # what bob typed is kept
    assert "Saved meanwhile by someone else" in response.content.decode()
    assert ReviewMeeting.objects.get().notes == "Alice again"
    merged = {"notes": "Alice again\n\nBob's notes", "version": "2"}  # the page now says 2
    assert 'name="version" value="2"' in response.content.decode()
    assert bob_client.post(url, merged).status_code == 302
    assert ReviewMeeting.objects.get().notes.endswith("Bob's notes")


@pytest.mark.django_db(transaction=True)  # each person's save commits in its own connection
def test_the_first_notes_of_a_week_saved_by_several_people_at_once(alice: Any) -> None:
    """Everyone opens the agenda of a week with no meeting yet and saves notes at the same
    moment: one person's are kept, the others are told (409) with what they typed; nobody
    gets a server error from the one-meeting-per-week constraint."""
    import threading

    from django.db import connection

    from tests.conftest import MODEL_BACKEND

    answers: list[tuple[int, str]] = []
    url = reverse("review_meeting", args=["2027-W10"])
    start = threading.Barrier(4)

    def save(n: int) -> None:
        client = Client(raise_request_exception=False)
        client.force_login(alice, backend=MODEL_BACKEND)
        start.wait()
        try:
            response = client.post(url, {"notes": f"Notes of person {n}"})
            answers.append((response.status_code, response.content.decode()))
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in answers) == [302, 409, 409, 409]
    for status, page in answers:
        if status == 409:
            assert "Someone saved the notes while you were writing" in page
    assert ReviewMeeting.objects.get().notes.startswith("Notes of person ")
