"""Triage of a recurrence flag and the effectiveness of the fixes it names (PRODUCT.md,
"Triage" and "Effectiveness of a done fix"): the rules as tables, then every way in."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from incidents.actions import get_or_create_category
from remediations import effectiveness
from remediations.actions import FlagAlreadyResolved, TriageRefused, triage_flag
from remediations.models import Effectiveness, FlagState, RecurrenceFlag, Remediation
from remediations.recurrence import evaluate
from remediations.tasks import reconcile_recurrences
from tests.api_helpers import api_client_for
from tests.factories import IncidentFactory, RemediationFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def days(n: float) -> datetime.datetime:
    return NOW + datetime.timedelta(days=n)


def _recurrence(*fixes: tuple[str, int], started: int = -2) -> tuple[RecurrenceFlag, list[Any]]:
    """An incident of Networking > DNS after fixes (title, done days ago) on it: its flag."""
    dns = get_or_create_category("Networking > DNS")
    made = [
        RemediationFactory(
            title=title,
            category=dns,
            kind="prevent",
            status="done",
            opened_at=days(done - 30),
            done_at=days(done),
        )  # fmt: skip
        for title, done in fixes
    ]
    incident = IncidentFactory(started_at=days(started), categories=[dns])
    evaluate([incident.pk])
    effectiveness.assess([fix.pk for fix in made])
    return RecurrenceFlag.objects.get(incident=incident), made


# outcome, note | state, effectiveness of the named fixes, or the message refusing it
TRIAGE = [
    ("fix did not hold, no note needed", "fix_did_not_hold", "", "acknowledged", "regressed"),
    ("fix did not hold, with a note", "fix_did_not_hold", "quota ran out", "acknowledged", "regressed"),
    ("partly expected, with a note", "partial", "expected for batch jobs", "acknowledged", "unverified"),
    ("partly expected without a note", "partial", "  ", None, "Say in a note what was expected of it."),
    ("not a recurrence, with a note", "not_a_recurrence", "a different bug", "dismissed", "unverified"),
    ("not a recurrence without a note", "not_a_recurrence", "", None, "Say in a note why this is not a recurrence."),
    ("an unknown outcome", "acknowledged", "x", None, "must be one of fix_did_not_hold, partial, not_a_recurrence"),
    ("no outcome", "", "x", None, "is required: one of fix_did_not_hold"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "note", "state", "expected"), [c[1:] for c in TRIAGE], ids=[c[0] for c in TRIAGE]
)
def test_triage_outcomes(
    outcome: str, note: str, state: str | None, expected: str, alice: Any
) -> None:
    flag, fixes = _recurrence(("Node-local DNS cache", -40), ("Cache external names", -20))
    # Done under ONCE_HOLDING_DAYS ago with a recurrence awaiting triage: unverified.
    assert {f.effectiveness for f in Remediation.objects.all()} == {Effectiveness.UNVERIFIED}
    if state is None:
        with pytest.raises(TriageRefused, match=expected):
            triage_flag(flag, outcome=outcome, by=alice, note=note)
        flag.refresh_from_db()
        assert flag.state == FlagState.OPEN and flag.outcome is None
        return
    triage_flag(flag, outcome=outcome, by=alice, note=note)
    flag.refresh_from_db()
    assert (flag.state, flag.outcome, flag.resolved_by) == (state, outcome, alice)
    assert flag.note == note.strip()
    assert {f.effectiveness for f in Remediation.objects.all()} == {expected}


def test_a_regressed_fix_names_the_recurrence_as_its_evidence(alice: Any) -> None:
    flag, [fix] = _recurrence(("Node-local DNS cache", -40))
    triage_flag(flag, outcome="fix_did_not_hold", by=alice)
    fix.refresh_from_db()
    started = flag.incident.started_at
    assert fix.effectiveness == Effectiveness.REGRESSED
    assert fix.regressed_at == started and fix.effectiveness_since == started
    assert fix.effectiveness_evidence == (
        f"{flag.incident.reference} recurred on {started:%Y-%m-%d}: the fix did not hold."
    )


def test_of_two_people_triaging_one_flag_the_first_wins_and_the_second_is_told(
    alice: Any, bob: Any
) -> None:
    flag, _ = _recurrence(("Node-local DNS cache", -40))
    stale_copy = RecurrenceFlag.objects.get(pk=flag.pk)
    triage_flag(flag, outcome="partial", by=alice, note="expected")
    with pytest.raises(
        FlagAlreadyResolved, match="already triaged: acknowledged \\(partly expected\\)"
    ):
        triage_flag(stale_copy, outcome="not_a_recurrence", by=bob, note="no")
    flag.refresh_from_db()
    assert (flag.outcome, flag.resolved_by, flag.note) == ("partial", alice, "expected")


# done (days ago), evidence | effectiveness
JUDGED = [
    ("done yesterday, nothing since", 1, [], None, "unverified"),
    ("done 100 days ago, nothing since", 100, [], None, "holding"),
    ("done 100 days ago, a recurrence awaiting triage", 100, [], 7, "unverified"),
    ("regressed 10 days ago", 100, [(10, "regressed")], None, "regressed"),
    ("verified, then regressed: the latest wins", 100, [(50, "verified"), (10, "regressed")], None, "regressed"),
    ("regressed, then verified: the latest wins", 100, [(50, "regressed"), (10, "verified")], None, "verified"),
    ("evidence from before it was done does not count", 100, [(150, "regressed")], None, "holding"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("done", "evidence", "awaiting", "expected"),
    [c[1:] for c in JUDGED],
    ids=[c[0] for c in JUDGED],
)
def test_effectiveness_rule(
    done: int, evidence: list[tuple[int, str]], awaiting: int | None, expected: str
) -> None:
    found = [effectiveness.Evidence(days(-ago), verdict, "why") for ago, verdict in evidence]
    verdict, *_ = effectiveness.judge(days(-done), found, awaiting, NOW)
    assert verdict == expected


def test_a_fix_turns_holding_by_the_clock_alone(clock: Any, settings: Any) -> None:
    settings.ONCE_HOLDING_DAYS = 90
    dns = get_or_create_category("Networking > DNS")
    fix = RemediationFactory(
        category=dns, status="done", opened_at=clock.now - datetime.timedelta(days=30),
        done_at=clock.now - datetime.timedelta(days=1),
    )  # fmt: skip
    reconcile_recurrences.run()
    fix.refresh_from_db()
    assert fix.effectiveness == Effectiveness.UNVERIFIED
    saved_version = fix.version

    clock.advance(days=90)
    result = reconcile_recurrences.run()  # incremental: nothing was saved since
    fix.refresh_from_db()
    assert result["full"] is False and result["incidents"] == 0
    assert fix.effectiveness == Effectiveness.HOLDING
    assert fix.version == saved_version  # derived, not an edit: no new version


def test_reopening_a_fix_leaves_it_without_effectiveness(
    alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    flag, [fix] = _recurrence(("Node-local DNS cache", -40))
    fix.refresh_from_db()
    api = api_client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):  # the engine runs after the commit
        response = api.patch(
            f"/api/remediations/{fix.pk}/", {"status": "in_progress", "version": fix.version},
            format="json",
        )  # fmt: skip
    assert response.status_code == 200, response.content
    body = api.get(f"/api/remediations/{fix.pk}/").json()
    assert body["effectiveness"] is None
    flag.refresh_from_db()
    assert flag.state == FlagState.CLEARED and "no longer done" in flag.reason


# --- The API ----------------------------------------------------------------------------------


def test_the_flag_api_names_the_fixes_and_the_outcome(alice: Any) -> None:
    flag, fixes = _recurrence(("Node-local DNS cache", -40), ("Cache external names", -20))
    api = api_client_for(alice)
    body = api.get(f"/api/flags/{flag.pk}/").json()
    assert body["remediations"] == sorted(f.pk for f in fixes)
    assert (body["state"], body["outcome"], body["category_path"]) == (
        "open",
        None,
        "Networking > DNS",
    )
    naming = api.get(f"/api/flags/?remediation={fixes[1].pk}").json()
    assert [f["id"] for f in naming["results"]] == [flag.pk]


def test_acknowledging_through_the_api(alice: Any) -> None:
    flag, [fix] = _recurrence(("Node-local DNS cache", -40))
    api = api_client_for(alice)
    url = f"/api/flags/{flag.pk}/acknowledge/"

    missing = api.post(url, {"note": "x"}, format="json")
    assert missing.status_code == 400 and "outcome" in missing.json()
    partial = api.post(url, {"outcome": "partial"}, format="json")
    assert partial.status_code == 400
    assert partial.json()["note"] == ["Say in a note what was expected of it."]
    wrong = api.post(url, {"outcome": "not_a_recurrence", "note": "x"}, format="json")
    assert wrong.status_code == 400 and "dismiss" in wrong.json()["outcome"][0]

    done = api.post(url, {"outcome": "fix_did_not_hold"}, format="json")
    assert done.status_code == 200, done.content
    assert (done.json()["state"], done.json()["outcome"]) == ("acknowledged", "fix_did_not_hold")
    assert api.get(f"/api/remediations/{fix.pk}/").json()["effectiveness"] == "regressed"

    again = api.post(f"/api/flags/{flag.pk}/dismiss/", {"note": "no"}, format="json")
    assert again.status_code == 409 and "already triaged" in again.json()["detail"]


def test_dismissing_through_the_api_needs_a_note(alice: Any) -> None:
    flag, _ = _recurrence(("Node-local DNS cache", -40))
    api = api_client_for(alice)
    url = f"/api/flags/{flag.pk}/dismiss/"
    assert api.post(url, {}, format="json").status_code == 400
    assert api.post(url, {"note": "\x00"}, format="json").status_code == 400
    response = api.post(url, {"note": "A different failure."}, format="json")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["outcome"]) == (
        "dismissed",
        "not_a_recurrence",
    )


# --- The pages --------------------------------------------------------------------------------


def test_the_flag_page_triages_and_offers_a_follow_up(alice_client: Any, alice: Any) -> None:
    flag, [fix] = _recurrence(("Node-local DNS cache", -40))
    fix.owner = alice
    fix.save()
    page = alice_client.get(f"/flags/{flag.pk}/")
    assert b"Fix did not hold" in page.content and b"Node-local DNS cache" in page.content

    refused = alice_client.post(f"/flags/{flag.pk}/", {"outcome": "partial", "note": ""})
    assert refused.status_code == 400
    assert "Say in a note what was expected of it." in refused.content.decode()

    kept = alice_client.post(f"/flags/{flag.pk}/", {"outcome": "bogus", "note": "my words"})
    assert kept.status_code == 400 and b"my words" in kept.content  # nothing typed is lost

    saved = alice_client.post(f"/flags/{flag.pk}/", {"outcome": "fix_did_not_hold"}, follow=True)
    assert saved.status_code == 200
    follow_up = f"/remediations/new/?follow_up={fix.pk}&amp;flag={flag.pk}"
    assert follow_up in saved.content.decode()

    form = alice_client.get(f"/remediations/new/?follow_up={fix.pk}&flag={flag.pk}")
    text = form.content.decode()
    assert 'value="Follow-up: Node-local DNS cache"' in text
    assert "which did not hold in " + flag.incident.reference in text

    created = alice_client.post(
        f"/remediations/new/?follow_up={fix.pk}&flag={flag.pk}",
        {
            "title": "Follow-up: Node-local DNS cache", "kind": "prevent", "status": "open",
            "owner": alice.username, "category": fix.category_id, "description": "Cache external names.",
            "opened_at": "", "due_date": "", "tracker_url": "",
        },
    )  # fmt: skip
    assert created.status_code == 302, created.content.decode()[:2000]
    new = Remediation.objects.get(title="Follow-up: Node-local DNS cache")
    assert (new.follow_up_of, new.incident, new.owner, new.kind) == (
        fix,
        flag.incident,
        alice,
        "prevent",
    )


def test_not_a_recurrence_offers_to_reclassify(alice_client: Any) -> None:
    flag, _ = _recurrence(("Node-local DNS cache", -40))
    page = alice_client.post(
        f"/flags/{flag.pk}/", {"outcome": "not_a_recurrence", "note": "Different bug."}, follow=True
    )
    assert f"/incidents/{flag.incident_id}/edit/#categories" in page.content.decode()


def test_the_incident_page_triages_in_place_and_comes_back(alice_client: Any) -> None:
    flag, _ = _recurrence(("Node-local DNS cache", -40))
    incident_url = flag.incident.get_absolute_url()
    page = alice_client.get(incident_url)
    assert f'action="/flags/{flag.pk}/"' in page.content.decode()
    back = alice_client.post(
        f"/flags/{flag.pk}/", {"outcome": "partial", "note": "Expected.", "next": incident_url}
    )
    assert back.status_code == 302 and back["Location"] == incident_url
    elsewhere = alice_client.post(
        f"/flags/{flag.pk}/", {"outcome": "partial", "note": "x", "next": "https://evil.example/"}
    )
    assert elsewhere.status_code == 409  # already triaged; and never redirected off-site


@pytest.mark.parametrize("where", ["incident", "category"])
def test_triaged_from_the_incident_or_category_page_the_next_step_is_one_click_away(
    alice_client: Any, where: str
) -> None:
    """ "The fix did not hold" offers a follow-up of each fix, "not a recurrence" to reclassify
    the incident (PRODUCT.md, "Triage"), on the page the person triaged from, too."""
    flag, [fix] = _recurrence(("Node-local DNS cache", -40))
    page = (
        flag.incident.get_absolute_url() if where == "incident" else "/categories/networking-dns/"
    )
    back = alice_client.post(
        f"/flags/{flag.pk}/", {"outcome": "fix_did_not_hold", "next": page}, follow=True
    )
    assert back.redirect_chain[-1][0] == page
    text = back.content.decode()
    assert f'href="/remediations/new/?follow_up={fix.pk}&amp;flag={flag.pk}"' in text
    assert "Open a follow-up" in text

    other, _ = _recurrence(("Node-local DNS cache", -40))
    page = (
        other.incident.get_absolute_url() if where == "incident" else "/categories/networking-dns/"
    )
    back = alice_client.post(
        f"/flags/{other.pk}/",
        {"outcome": "not_a_recurrence", "note": "A different bug.", "next": page},
        follow=True,
    )
    assert f'href="/incidents/{other.incident_id}/edit/#categories"' in back.content.decode()
