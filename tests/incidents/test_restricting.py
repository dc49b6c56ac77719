"""Restricting an incident to access groups, on every way in (PRODUCT.md, "Who may see and
change what"; issue 13, item 2): the form, the API and the interchange format take
`visibility` and `access_groups` through the one validator, a change is a new version in
history, and a restricted incident answers 404 to everyone it is hidden from."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from incidents.models import Incident, Visibility
from tests.api_helpers import api_client_for
from tests.factories import IncidentFactory
from tests.incidents.test_import_export import run_import
from tests.incidents.test_incident_form import incident_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def security(bob: User) -> Group:
    group = Group.objects.create(name="Security")
    bob.groups.add(group)
    Group.objects.create(name="Operations")
    return group


def _create(user: User, **fields: Any) -> Any:
    body = {"title": "Leaked deploy key", "started_at": "2026-03-02T14:05:00Z", **fields}
    return api_client_for(user).post("/api/incidents/", body, format="json")


def test_the_api_restricts_an_incident_to_groups_by_name(
    alice: User, security: Group, charlie: User
) -> None:
    response = _create(alice, visibility="restricted", access_groups=["Security"])
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["visibility"], created["access_groups"]) == ("restricted", ["Security"])
    path = f"/api/incidents/{created['id']}/"
    assert api_client_for(charlie).get(path).status_code == 404
    assert api_client_for(charlie).get("/api/incidents/").json()["count"] == 0
    assert api_client_for(alice).get(path).json()["access_groups"] == ["Security"]


def test_a_new_incident_is_for_everyone(alice: User) -> None:
    created = _create(alice).json()
    assert (created["visibility"], created["access_groups"]) == ("everyone", [])


def test_an_unknown_group_is_refused_by_name(alice: User, security: Group) -> None:
    response = _create(alice, visibility="restricted", access_groups=["Security", "Secuirty"])
    assert response.status_code == 400
    assert response.json() == {
        "access_groups": [{}, ["This field names a group that doesn't exist: “Secuirty”."]]
    }
    assert not Incident.objects.exists()


def test_nobody_restricts_an_incident_away_from_themselves(
    alice: User, bob: User, security: Group
) -> None:
    created = _create(alice, visibility="restricted", access_groups=["Security"]).json()
    path = f"/api/incidents/{created['id']}/"
    # bob sees it through Security; moving it to Operations would hide it from him.
    response = api_client_for(bob).patch(
        path, {"version": created["version"], "access_groups": ["Operations"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["access_groups"] == [
        "You would no longer see this incident: restrict it to a group you are in."
    ]
    # alice, its author, still sees it whatever its groups.
    response = api_client_for(alice).patch(
        path, {"version": created["version"], "access_groups": ["Operations"]}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert api_client_for(bob).get(path).status_code == 404


def test_a_visibility_change_is_a_new_version_in_history(
    alice: User, alice_client: Client, security: Group
) -> None:
    created = _create(alice).json()
    response = api_client_for(alice).patch(
        f"/api/incidents/{created['id']}/",
        {"version": created["version"], "visibility": "restricted", "access_groups": ["Security"]},
        format="json",
    )
    assert response.json()["version"] == created["version"] + 1
    page = alice_client.get(reverse("incident_history", args=[created["id"]])).content.decode()
    assert "Visibility" in page and "Restricted to its access groups" in page
    assert "Access groups" in page and "Security" in page
    # Sent again unchanged, it is no edit: no version, no conflict.
    again = api_client_for(alice).patch(
        f"/api/incidents/{created['id']}/",
        {"version": created["version"] + 1, "access_groups": ["Security"]},
        format="json",
    )
    assert again.json()["version"] == created["version"] + 1


def test_the_form_restricts_and_the_page_says_so(
    alice_client: Client, security: Group, bob_client: Client, charlie_client: Client
) -> None:
    data = incident_post(visibility="restricted", access_groups=["Security"])
    response = alice_client.post(reverse("incident_create"), data)
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert incident.visibility == Visibility.RESTRICTED
    assert [g.name for g in incident.access_groups.all()] == ["Security"]
    page = bob_client.get(incident.get_absolute_url()).content.decode()
    assert "Restricted to" in page and "Security" in page
    for name in ("incident_detail", "incident_edit", "incident_history"):
        assert charlie_client.get(reverse(name, args=[incident.pk])).status_code == 404


def test_the_form_shows_the_validator_s_refusal_beside_the_groups(
    bob_client: Client, security: Group, alice: User
) -> None:
    incident = IncidentFactory(author=alice, visibility="restricted", access_groups=[security])
    edit = bob_client.get(reverse("incident_edit", args=[incident.pk]))
    assert edit.status_code == 200
    data = incident_post(
        version=str(incident.version), visibility="restricted", access_groups=["Operations"]
    )
    response = bob_client.post(reverse("incident_edit", args=[incident.pk]), data)
    assert response.status_code == 400
    assert "You would no longer see this incident" in response.content.decode()
    assert list(Incident.objects.get().access_groups.all()) == [security]


def test_an_import_naming_an_unknown_group_refuses_that_line(
    tmp_path: Path, security: Group
) -> None:
    lines = [
        json.dumps({"title": "Kept", "started_at": "2019-01-01", "visibility": "restricted",
                    "access_groups": ["Security"], "external_id": "a"}),
        json.dumps({"title": "Refused", "started_at": "2019-01-01", "visibility": "restricted",
                    "access_groups": ["Red team"], "external_id": "b"}),
    ]  # fmt: skip
    out, err, code = run_import(tmp_path, lines)
    assert code == 1
    assert "line 2: access_groups[1] names a group that doesn't exist: “Red team”." in err
    kept = Incident.objects.get()
    assert (kept.title, [g.name for g in kept.access_groups.all()]) == ("Kept", ["Security"])


def test_export_then_import_keeps_who_sees_it(tmp_path: Path, alice: User, security: Group) -> None:
    _create(alice, visibility="restricted", access_groups=["Security"], external_id="x-1")
    out = io.StringIO()
    call_command("export_incidents", stdout=out)
    exported = out.getvalue()
    line = json.loads(exported)
    assert (line["visibility"], line["access_groups"]) == ("restricted", ["Security"])
    Incident.objects.all().delete()
    path = tmp_path / "back.jsonl"
    path.write_text(exported, encoding="utf-8")
    call_command("import_incidents", str(path), stdout=io.StringIO())
    again = io.StringIO()
    call_command("export_incidents", stdout=again)
    assert again.getvalue() == exported


RESTRICTED = {
    "external_id": "pm-1",
    "title": "Keys in the build log",
    "started_at": "2026-11-01",
    "visibility": "restricted",
    "access_groups": ["Security"],
}


def _lines(*records: dict[str, Any]) -> list[str]:
    return [json.dumps(record) for record in records]


def test_reimporting_a_line_without_visibility_keeps_the_incident_restricted(
    tmp_path: Path, security: Group, charlie: User
) -> None:
    # A file from before issue 13 (or from another tool) knows nothing of visibility: like the
    # API's PUT, a field the line leaves out keeps its stored value.
    run_import(tmp_path, _lines(RESTRICTED))
    old_line = {k: v for k, v in RESTRICTED.items() if k not in ("visibility", "access_groups")}
    out, err, code = run_import(tmp_path, _lines({**old_line, "summary": "More detail."}))
    assert (code, err, "1 updated" in out) == (0, "", True)
    incident = Incident.objects.get(external_id="pm-1")
    assert incident.summary == "More detail."
    assert incident.visibility == Visibility.RESTRICTED
    assert [g.name for g in incident.access_groups.all()] == ["Security"]
    assert not Incident.objects.visible_to(charlie).filter(external_id="pm-1").exists()


def test_a_reimported_line_that_says_everyone_makes_it_public(
    tmp_path: Path, security: Group, charlie: User
) -> None:
    run_import(tmp_path, _lines(RESTRICTED))
    run_import(tmp_path, _lines({**RESTRICTED, "visibility": "everyone"}))
    assert Incident.objects.visible_to(charlie).filter(external_id="pm-1").exists()


def test_a_reimported_line_keeps_every_field_it_leaves_out_as_the_api_does(
    tmp_path: Path, security: Group
) -> None:
    full = {
        **RESTRICTED, "summary": "Kept summary", "severity": "SEV1",
        "categories": ["CI > Logs"], "services": ["Builder"],
        "causes": [{"kind": "trigger", "description": "A debug flag."}],
        "timeline": [{"at": "2026-11-01T10:00:00Z", "text": "Seen."}],
    }  # fmt: skip
    run_import(tmp_path, _lines(full))
    out, err, code = run_import(
        tmp_path, _lines({"external_id": "pm-1", "title": "Renamed", "started_at": "2026-11-01"})
    )
    assert (code, err) == (0, "")
    incident = Incident.objects.get(external_id="pm-1")
    assert (incident.title, incident.summary, incident.severity) == (
        "Renamed", "Kept summary", "SEV1",
    )  # fmt: skip
    assert [c.path for c in incident.categories.all()] == ["CI > Logs"]
    assert [s.name for s in incident.services.all()] == ["Builder"]
    assert [c.description for c in incident.causes.all()] == ["A debug flag."]
    assert [t.text for t in incident.timeline.all()] == ["Seen."]
    # Given, even empty, a field replaces what is stored.
    run_import(tmp_path, _lines({**RESTRICTED, "title": "Renamed", "causes": []}))
    assert not Incident.objects.get(external_id="pm-1").causes.exists()


def test_a_reimported_remediation_keeps_the_fields_its_item_leaves_out(
    tmp_path: Path, alice: User
) -> None:
    fix = {
        "title": "Rotate keys",
        "status": "done",
        "owner": "alice",
        "due_date": "2026-12-01",
        "done_at": "2026-11-03T00:00:00Z",
        "tracker_url": "https://tracker.example/SEC-1",
    }
    run_import(tmp_path, _lines({**RESTRICTED, "access_groups": [], "remediations": [fix]}))
    line = {
        "external_id": "pm-1",
        "title": "Keys in the build log",
        "started_at": "2026-11-01",
        "remediations": [{"title": "Rotate keys", "description": "All of them."}],
    }
    out, err, code = run_import(tmp_path, _lines(line))
    assert (code, err) == (0, "")
    stored = Incident.objects.get(external_id="pm-1").remediations.get()
    assert (stored.description, stored.status, stored.owner, stored.tracker_url) == (
        "All of them.", "done", alice, "https://tracker.example/SEC-1",
    )  # fmt: skip
    assert stored.done_at is not None and stored.done_at.day == 3


def test_a_reimported_line_is_checked_with_the_fields_it_keeps(
    tmp_path: Path, security: Group
) -> None:
    run_import(tmp_path, _lines({**RESTRICTED, "resolved_at": "2026-11-02"}))
    out, err, code = run_import(
        tmp_path, _lines({"external_id": "pm-1", "title": "Later", "started_at": "2026-11-05"})
    )
    assert code == 1
    assert "line 1: resolved_at: An incident can't be resolved before it started." in err
    assert Incident.objects.get(external_id="pm-1").title == "Keys in the build log"


def test_export_as_a_user_leaves_out_what_they_may_not_see(
    alice: User, charlie: User, security: Group
) -> None:
    _create(alice, visibility="restricted", access_groups=["Security"], external_id="x-1")
    _create(alice, title="Public one", external_id="x-2")
    out = io.StringIO()
    call_command("export_incidents", "--as", "charlie", stdout=out)
    assert [json.loads(line)["external_id"] for line in out.getvalue().splitlines()] == ["x-2"]


def test_the_category_tree_counts_only_what_the_reader_sees(
    alice: User, charlie_client: Client, bob_client: Client, security: Group
) -> None:
    body = {"categories": ["Secrets"]}
    _create(alice, visibility="restricted", access_groups=["Security"], **body)
    _create(alice, title="Public", **body)
    assert "2 incidents" in bob_client.get(reverse("category_tree")).content.decode()
    page = charlie_client.get(reverse("category_tree")).content.decode()
    assert "1 incident<" in page and "2 incidents" not in page
