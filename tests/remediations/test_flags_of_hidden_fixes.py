"""A fix from a restricted incident shares its visibility (PRODUCT.md, "Who may see and change
what"). When a public incident recurs in the fix's failure mode, charlie (outside the group)
must neither learn of that fix nor change it by triaging the public incident's flag.

The rule (RecurrenceFlag.objects.visible_to): a flag naming a fix hidden from a person is
hidden from them whole — absent from every list and count, its URL 404 — because its one
outcome judges every fix it names."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from incidents.models import Incident
from remediations.actions import save_report, triage_flag
from remediations.models import RecurrenceFlag, Remediation
from remediations.records import clean_report
from reviews.agenda import build
from reviews.weeks import Week
from tests.hidden_fix import HiddenIncident

pytestmark = pytest.mark.django_db


@pytest.fixture
def hidden(hidden_incident: HiddenIncident) -> Incident:
    """Restricted to Security (bob is in it, charlie is not), with one fix."""
    return hidden_incident("Storage > Leaks")


def _done(fix: Remediation) -> None:
    now = timezone.now()
    Remediation.objects.filter(pk=fix.pk).update(
        status="done",
        opened_at=now - datetime.timedelta(days=2),
        done_at=now - datetime.timedelta(days=1),
    )


def _recur(by: User, capture: Callable[..., Any], category: str = "Storage > Leaks") -> Incident:
    record = {"title": "It happened again", "started_at": timezone.now(), "categories": [category]}
    incident = Incident()
    with capture(execute=True):
        save_report(incident, clean_report(record, by=by), by=by, expected_version=None)
    return incident


@pytest.fixture
def recurrence(
    hidden: Incident, charlie: User, django_capture_on_commit_callbacks: Callable[..., Any]
) -> RecurrenceFlag:
    """The hidden incident's fix is done; then charlie's public incident recurs in its mode."""
    fix = hidden.remediations.get()
    _done(fix)
    _recur(charlie, django_capture_on_commit_callbacks)
    flag = RecurrenceFlag.objects.get()
    assert list(flag.fixes.values_list("remediation_id", flat=True)) == [fix.pk]
    return flag


def test_acknowledging_a_flag_does_not_name_a_fix_from_a_restricted_incident(
    recurrence: RecurrenceFlag, hidden: Incident, charlie_client: Client, bob_client: Client
) -> None:
    fix = hidden.remediations.get()
    answer = charlie_client.post(
        f"/api/flags/{recurrence.pk}/acknowledge/",
        {"outcome": "partial", "note": "Seen it."},
        content_type="application/json",
    )
    assert answer.status_code == 404  # as for a flag that does not exist
    assert str(fix.pk) not in answer.content.decode().replace(str(recurrence.pk), "")
    recurrence.refresh_from_db()
    assert recurrence.state == "open"
    # bob, who may see the fix, triages it and is told which fix it names.
    answer = bob_client.post(
        f"/api/flags/{recurrence.pk}/acknowledge/",
        {"outcome": "partial", "note": "Seen it."},
        content_type="application/json",
    )
    assert answer.status_code == 200
    assert answer.json()["remediations"] == [fix.pk]


def test_an_outsiders_triage_does_not_mark_a_hidden_fix_as_regressed(
    recurrence: RecurrenceFlag, hidden: Incident, charlie: User, charlie_client: Client
) -> None:
    charlie_client.post(
        f"/api/flags/{recurrence.pk}/acknowledge/",
        {"outcome": "fix_did_not_hold", "note": "Did not hold."},
        content_type="application/json",
    )
    page = charlie_client.post(
        f"/flags/{recurrence.pk}/", {"outcome": "fix_did_not_hold", "note": "Did not hold."}
    )
    assert page.status_code == 404
    week = Week.current()
    decision = charlie_client.post(
        f"/review/{week.label}/flags/{recurrence.pk}/",
        {f"flag-{recurrence.pk}-outcome": "fix_did_not_hold"},
    )
    assert decision.status_code == 404
    # The action itself refuses, whoever calls it on charlie's behalf.
    with pytest.raises(Exception, match="No recurrence flag"):
        triage_flag(recurrence, outcome="fix_did_not_hold", by=charlie)
    assert hidden.remediations.get().effectiveness != "regressed"
    recurrence.refresh_from_db()
    assert recurrence.state == "open"


def test_no_open_flag_an_outsider_sees_exists_only_because_of_a_hidden_fix(
    recurrence: RecurrenceFlag, charlie: User, charlie_client: Client, bob_client: Client
) -> None:
    # The flag says "a fix did not hold" and names none: its count betrays the hidden fix.
    flags = charlie_client.get("/api/flags/?state=open").json()
    assert flags["count"] == 0, flags["results"]
    assert bob_client.get("/api/flags/?state=open").json()["count"] == 1
    assert charlie_client.get(f"/api/flags/{recurrence.pk}/").status_code == 404
    assert charlie_client.get(f"/flags/{recurrence.pk}/").status_code == 404
    assert f"/flags/{recurrence.pk}/" not in charlie_client.get("/flags/").content.decode()
    assert f"/flags/{recurrence.pk}/" in bob_client.get("/flags/").content.decode()
    # The public incident, in its page and the API, names no flag for charlie.
    incident = recurrence.incident
    assert charlie_client.get(f"/api/incidents/{incident.pk}/").json()["open_flags"] == []
    assert bob_client.get(f"/api/incidents/{incident.pk}/").json()["open_flags"] == [recurrence.pk]
    page = charlie_client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "recurred after" not in page
    assert "recurred after" in bob_client.get(f"/incidents/{incident.pk}/").content.decode()
    # The failure mode is not "recurred after fix" for charlie: pages, tree and API.
    category = recurrence.category
    api = {c["path"]: c for c in charlie_client.get("/api/categories/").json()["results"]}
    assert api["Storage > Leaks"]["flagged"] is False
    bobs = {c["path"]: c for c in bob_client.get("/api/categories/").json()["results"]}
    assert bobs["Storage > Leaks"]["flagged"] is True
    for url in (category.get_absolute_url(), "/categories/", "/categories/?sort=recurred"):
        assert "recurred after fix</span>" not in charlie_client.get(url).content.decode(), url
        assert "recurred after fix</span>" in bob_client.get(url).content.decode(), url
    # Nor on the review agenda (its page, its API and what it is built from).
    assert build(Week.current(), viewer=charlie).open_flags.total == 0
    assert build(Week.current(), viewer=None).open_flags.total == 1
    agenda = charlie_client.get(f"/api/review/{Week.current().label}/").json()
    assert agenda["open_flags"] == [] and agenda["totals"]["open_flags"] == 0, agenda


def test_a_flag_naming_a_visible_and_a_hidden_fix_is_hidden_whole(
    recurrence: RecurrenceFlag,
    alice: User,
    charlie_client: Client,
    bob_client: Client,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    """One outcome judges every fix a flag names: charlie may judge none of them."""
    public = Incident()
    record = {
        "title": "A public one",
        "started_at": timezone.now() - datetime.timedelta(days=3),
        "categories": ["Storage > Leaks"],
        "remediations": [
            {"title": "A public fix", "kind": "prevent", "category": "Storage > Leaks"}
        ],
    }
    with django_capture_on_commit_callbacks(execute=True):
        save_report(public, clean_report(record, by=alice), by=alice, expected_version=None)
    _done(public.remediations.get())
    again = _recur(alice, django_capture_on_commit_callbacks)
    flag = RecurrenceFlag.objects.get(incident=again)
    assert flag.fixes.count() == 2
    assert charlie_client.get(f"/api/flags/{flag.pk}/").status_code == 404
    assert len(bob_client.get(f"/api/flags/{flag.pk}/").json()["remediations"]) == 2
