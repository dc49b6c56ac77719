"""One way to name a person (issue 16, item 4): the remediation form, the review page's rows
and the incident form's remediation rows (new and existing) take an owner the same way — a username, case aside, suggested from one list — and refuse
an unknown one with the same message, keeping what was typed; staff get a way to add them."""

from __future__ import annotations

import datetime
import json
from typing import Any, cast

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from gamedays.models import GameDay
from remediations.models import Remediation
from reviews.weeks import Week
from tests.factories import IncidentFactory, RemediationFactory, UserFactory
from tests.gamedays.test_pages import _form as game_day_form
from tests.incidents.test_editing_remediations_from_the_form import form_data
from tests.incidents.test_import_export import GOOD, run_import
from tests.incidents.test_incident_form import incident_post

pytestmark = pytest.mark.django_db


def overdue_fix(**fields: Any) -> Remediation:
    """A fix the review's agenda lists (overdue), so its row can answer there."""
    return RemediationFactory(due_date=timezone.localdate() - datetime.timedelta(days=3), **fields)


MESSAGE = "Nobody is called “mallory” in Once. Check the spelling; staff can add people."


def _form(client: Client, fix: Remediation, owner: str) -> Any:
    data = {
        "version": fix.version, "title": fix.title, "kind": fix.kind, "status": fix.status,
        "owner": owner, "due_date": fix.due_date.isoformat(), "category": "", "tracker_url": "",
        "opened_at": fix.opened_at.strftime("%Y-%m-%dT%H:%M"), "description": "",
    }  # fmt: skip
    return client.post(f"/remediations/{fix.pk}/edit/", data)


def _review_row(client: Client, fix: Remediation, owner: str) -> Any:
    prefix = f"remediation-{fix.pk}"
    data = {f"{prefix}-version": fix.version, f"{prefix}-status": fix.status,
            f"{prefix}-owner": owner, f"{prefix}-due_date": fix.due_date.isoformat()}  # fmt: skip
    return client.post(f"/review/{Week.current().label}/remediations/{fix.pk}/", data)


def _incident_row(client: Client, fix: Remediation, owner: str) -> Any:
    """The fix's row on its incident's edit form."""
    if fix.incident is None:
        fix.incident = IncidentFactory()
        fix.save()
    data = form_data(client, fix.incident)
    data["existing-0-owner"] = owner
    return client.post(f"/incidents/{fix.incident.pk}/edit/", data)


def _new_incident_row(client: Client, fix: Remediation, owner: str) -> Any:
    """A new remediation typed on the New-incident form (`fix` gives its title; on success
    it is that fix which the test then reads back)."""
    response = client.post("/incidents/new/", incident_post(**{"remediations-0-owner": owner}))
    created = Remediation.objects.filter(title="Move etcd to io2").first()
    if created is not None:  # saved: the test reads the owner through `fix`
        fix.owner = created.owner
        fix.save()
        created.delete()
    return response


WAYS = [_form, _review_row, _incident_row, _new_incident_row]
WAY_IDS = ["remediation form", "review row", "incident form row", "new incident row"]


@pytest.mark.parametrize("way", WAYS, ids=WAY_IDS)
def test_an_unknown_name_gets_the_same_message_and_is_kept(
    way: Any, alice_client: Client, alice: User
) -> None:
    fix = overdue_fix(owner=alice)
    response = way(alice_client, fix, "mallory")
    page = response.content.decode()
    assert response.status_code == 400
    assert MESSAGE in page and 'value="mallory"' in page
    assert "Not in Once yet?" not in page  # alice is not staff: no way to add people offered
    assert Remediation.objects.get(pk=fix.pk).owner == alice


@pytest.mark.parametrize("way", WAYS, ids=WAY_IDS)
def test_a_name_in_other_letters_finds_the_person_and_an_inactive_one_is_unknown(
    way: Any, alice_client: Client
) -> None:
    UserFactory(username="Bob.Jones")
    UserFactory(username="gone", is_active=False)
    fix = overdue_fix()
    assert way(alice_client, fix, "bob.jones").status_code in (200, 302)
    fix.refresh_from_db()
    assert fix.owner is not None and fix.owner.username == "Bob.Jones"
    refused = way(alice_client, fix, "gone").content.decode()
    assert "Nobody is called “gone” in Once." in refused


@pytest.mark.parametrize("way", WAYS, ids=WAY_IDS)
def test_staff_get_a_way_to_add_the_person(way: Any, alice_client: Client, alice: User) -> None:
    alice.is_staff = True
    alice.save()
    page = way(alice_client, overdue_fix(), "mallory").content.decode()
    assert MESSAGE in page and 'href="/admin/auth/user/add/"' in page


def test_both_pages_suggest_the_same_people(alice_client: Client, alice: User) -> None:
    UserFactory(username="zed", is_active=False)
    fix = RemediationFactory(owner=alice)
    form = alice_client.get(f"/remediations/{fix.pk}/edit/").content.decode()
    assert 'list="people"' in form and '<option value="alice">' in form
    assert '<option value="zed">' not in form
    assert 'value="alice"' in form  # the current owner, by name
    incident = alice_client.get("/incidents/new/").content.decode()
    assert incident.count('list="people"') >= 1 and '<option value="alice">' in incident
    assert '<option value="zed">' not in incident


def test_the_api_and_the_importer_word_an_unknown_owner_as_the_forms_do_and_find_names_case_aside(
    alice: User, tmp_path: Any
) -> None:
    UserFactory(username="Bob.Jones")
    api = APIClient()
    api.force_authenticate(alice)
    said = api.post("/api/remediations/", {"title": "x", "owner": "mallory"}, format="json")
    assert said.json()["warnings"] == [
        "Nobody is called “mallory” in Once: the remediation “x” is left unassigned."
    ]
    found = api.post("/api/remediations/", {"title": "y", "owner": "bob.jones"}, format="json")
    assert found.json()["owner"] == "Bob.Jones" and found.json()["warnings"] == []

    (fix,) = cast(list[dict[str, Any]], GOOD["remediations"])
    line = {**GOOD, "remediations": [{**fix, "owner": "mallory"}]}
    _, err, _ = run_import(tmp_path, [json.dumps(line)])
    assert "Nobody is called “mallory” in Once: the remediation “io2 volumes” is left " in err
    line = {**GOOD, "remediations": [{**fix, "owner": "BOB.JONES"}]}
    run_import(tmp_path, [json.dumps(line)])
    assert Remediation.objects.get(title="io2 volumes").owner.username == "Bob.Jones"


@pytest.mark.parametrize("who", ["facilitator", "participants"])
def test_the_game_day_form_names_people_the_same_way(
    who: str, alice_client: Client, alice: User
) -> None:
    typed: Any = "mallory" if who == "facilitator" else ["alice", "mallory"]
    response = alice_client.post("/game-days/new/", game_day_form(**{who: typed}))
    page = response.content.decode()
    assert response.status_code == 400 and not GameDay.objects.exists()
    assert MESSAGE in page and 'value="mallory"' in page and 'list="people"' in page
    assert "Not in Once yet?" not in page
    alice.is_staff = True
    alice.save()
    page = alice_client.post("/game-days/new/", game_day_form(**{who: typed})).content.decode()
    assert 'href="/admin/auth/user/add/"' in page
    UserFactory(username="Mallory")
    assert alice_client.post("/game-days/new/", game_day_form(**{who: typed})).status_code == 302
    game_day = GameDay.objects.get()
    named = [game_day.facilitator] if who == "facilitator" else game_day.participants.all()
    assert "Mallory" in [u.username for u in named]


@pytest.mark.parametrize("way", WAYS, ids=WAY_IDS)
def test_a_name_breaking_the_text_rules_is_refused_in_the_apis_words_not_a_server_error(
    way: Any, alice_client: Client, alice: User
) -> None:
    """A NUL or a name past 150 characters: the words the API and the importers use."""
    fix = overdue_fix(owner=alice)
    api = APIClient()
    api.force_authenticate(alice)
    for name, words in [
        ("mal\x00lory", "must not contain the NUL character"),
        ("m" * 300, "is 300 characters long; the limit is 150."),
    ]:
        response = way(alice_client, fix, name)
        assert response.status_code == 400
        assert words in response.content.decode()
        assert Remediation.objects.get(pk=fix.pk).owner == alice
        said = api.post("/api/remediations/", {"title": "x", "owner": name}, format="json")
        assert said.status_code == 400 and words in said.content.decode()


@pytest.mark.parametrize("way", [_form, _review_row, _incident_row], ids=WAY_IDS[:3])
def test_a_fix_owned_by_someone_who_left_can_still_be_saved(way: Any, alice_client: Client) -> None:
    gone = UserFactory(username="Gone", is_active=False)
    fix = overdue_fix(owner=gone)
    response = way(alice_client, fix, "gone")
    assert response.status_code in (200, 302), response.content.decode()[:2000]
    assert Remediation.objects.get(pk=fix.pk).owner == gone
    # Naming them anew elsewhere is refused: they can't own new work.
    other = overdue_fix()
    assert "Nobody is called “gone” in Once." in way(alice_client, other, "gone").content.decode()


def test_a_game_day_naming_someone_who_left_can_still_be_saved(alice_client: Client) -> None:
    UserFactory(username="gone", is_active=False)
    first = alice_client.post("/game-days/new/", game_day_form(facilitator="alice"))
    assert first.status_code == 302
    game_day = GameDay.objects.get()
    game_day.participants.add(User.objects.get(username="gone"))
    data = game_day_form(facilitator="alice", participants=["gone"], version=game_day.version)
    response = alice_client.post(f"/game-days/{game_day.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert [u.username for u in GameDay.objects.get().participants.all()] == ["gone"]
