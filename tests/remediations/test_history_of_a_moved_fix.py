"""History is among the places a restricted incident is absent from (PRODUCT.md, "Who may see
and change what"): a fix moved from a restricted incident to a public one keeps the words it
had while it was hidden in its history; those versions are withheld from whoever may not see
that incident (listed by number and date, with no content and no author)."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from gamedays.models import GameDay, Scenario
from incidents.actions import get_or_create_category
from incidents.models import Incident
from remediations.actions import remediation_record_of, save_report
from remediations.conflicts import form_data
from remediations.records import clean_report
from tests.factories import IncidentFactory, RemediationFactory

pytestmark = pytest.mark.django_db

CANARY = "wombatcanary"  # a word nothing else in Once holds


@pytest.fixture
def hidden(alice: User, bob: User) -> Incident:
    """Restricted to Security (bob is in it, charlie is not), with one fix."""
    bob.groups.add(Group.objects.create(name="Security"))
    record = {
        "title": f"The {CANARY} incident",
        "started_at": timezone.now() - datetime.timedelta(days=2),
        "remediations": [
            {"title": "A fix", "kind": "prevent", "category": f"{CANARY.title()}fixcat"}
        ],
        "visibility": "restricted",
        "access_groups": ["Security"],
    }
    incident = Incident()
    save_report(incident, clean_report(record, by=alice), by=alice, expected_version=None)
    return incident


def test_a_fix_moved_out_of_a_restricted_incident_shows_no_hidden_title_in_its_history(
    hidden: Incident, alice_client: Client, bob_client: Client, charlie_client: Client
) -> None:
    public = Incident()
    record = clean_report({"title": "Public one", "started_at": timezone.now()})
    save_report(public, record, by=None, expected_version=None)
    fix = hidden.remediations.get()
    url = f"/api/remediations/{fix.pk}/"
    renamed = alice_client.patch(
        url, {"version": fix.version, "title": f"Rotate the {CANARY} key"},
        content_type="application/json",
    )  # fmt: skip
    assert renamed.status_code == 200, renamed.content
    # Moved, and filed under a failure mode of its own (the old one is the restricted
    # incident's name, which is another matter).
    moved = alice_client.patch(
        url, {"version": renamed.json()["version"], "incident": public.pk, "title": "Rotate keys",
              "category": "Secrets"},
        content_type="application/json",
    )  # fmt: skip
    assert moved.status_code == 200, moved.content
    history = charlie_client.get(f"/remediations/{fix.pk}/history/")
    assert history.status_code == 200
    page = history.content.decode()
    assert CANARY not in page.lower()
    assert page.count("An earlier version you may not see") == 2  # versions 1 and 2
    assert "Rotate keys" in page and "Secrets" in page  # what it is now, as it is now
    assert "alice" in page  # who moved it: the version charlie may see
    # Those who may see the restricted incident read every version.
    for client in (alice_client, bob_client):
        full = client.get(f"/remediations/{fix.pk}/history/").content.decode()
        assert f"Rotate the {CANARY} key" in full
        assert "An earlier version you may not see" not in full
    # The public incident's history starts where the fix arrived.
    incident_history = charlie_client.get(f"/incidents/{public.pk}/history/")
    assert incident_history.status_code == 200
    assert CANARY not in incident_history.content.decode().lower()


def test_an_edit_from_a_withheld_version_shows_no_hidden_words_on_the_conflict_page(
    hidden: Incident, alice_client: Client, charlie_client: Client
) -> None:
    """A stale edit compares with the version it started from: one withheld from charlie is
    "not found" for him, not a "before" that shows its words."""
    public = Incident()
    save_report(public, clean_report({"title": "Public one", "started_at": timezone.now()}),
                by=None, expected_version=None)  # fmt: skip
    fix = hidden.remediations.get()
    url = f"/api/remediations/{fix.pk}/"
    alice_client.patch(url, {"version": 1, "title": f"Rotate the {CANARY} key"},
                       content_type="application/json")  # fmt: skip
    moved = alice_client.patch(
        url,
        {"version": 2, "incident": public.pk, "title": "Rotate keys", "category": "Secrets"},
        content_type="application/json",
    )
    assert moved.json()["version"] == 3
    fix.refresh_from_db()
    data = form_data(remediation_record_of(fix), version=2)
    data["description"] = "Mine."
    page = charlie_client.post(f"/remediations/{fix.pk}/edit/", data)
    assert page.status_code == 409
    # (The category dropdown's names are another matter: the hidden title is what is tested.)
    assert f"Rotate the {CANARY} key" not in page.content.decode()
    assert "earlier version not found" in page.content.decode()
    # alice, who may see version 2, is shown what changed since.
    page = alice_client.post(f"/remediations/{fix.pk}/edit/", data)
    assert page.status_code == 409
    assert f"Rotate the {CANARY} key" in page.content.decode()


def test_a_public_incidents_history_leaves_out_a_fix_from_a_hidden_scenario(
    hidden: Incident, alice: User, alice_client: Client, charlie_client: Client
) -> None:
    """A fix that came from a game-day scenario of the restricted incident is hidden even
    when filed under a public incident: its versions are not in that incident's history."""
    public = IncidentFactory(title="Public one")
    game_day = GameDay.objects.create(title="Drill", scheduled_at=timezone.now())
    scenario = Scenario.objects.create(
        game_day=game_day, category=get_or_create_category("Secrets"), injection="Leak a key."
    )
    scenario.incidents.add(hidden)
    RemediationFactory(title=f"Rotate the {CANARY} key", incident=public, scenario=scenario)
    page = charlie_client.get(f"/incidents/{public.pk}/history/")
    assert page.status_code == 200
    assert CANARY not in page.content.decode().lower()
    assert CANARY in alice_client.get(f"/incidents/{public.pk}/history/").content.decode()
