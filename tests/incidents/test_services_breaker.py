"""What a fresh tester broke on the service pages, fixed on every way in (issue 17).

1. A refused name never tells who can't see a service that it exists or what it is called.
2. Look-alike names (zero-width characters, fullwidth letters, no-break or double spaces, case)
   are one service.
3. The admin's edits of design notes carry the version they started from.
4. A service can't take the name merged into it, nor another service's merged name.
5. The id of a merged service, given to a filter, names the service kept.
"""

from __future__ import annotations

import importlib
import io
import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from common.validation import Errors
from gamedays.records import clean_game_day
from incidents.actions import get_or_create_services, merge_services, save_service
from incidents.models import Incident, Service, ServiceAlias, Visibility
from incidents.names import canonical_name
from tests.api_helpers import api_client_for
from tests.factories import IncidentFactory, UserFactory
from tests.incidents.test_incident_form import incident_post
from tests.search.helpers import store

pytestmark = pytest.mark.django_db

SECRET = "Project Nightjar"  # a word of a restricted report: only its readers may learn it


def _service(name: str, **fields: Any) -> Service:
    return save_service(Service(), by=None, name=name, **fields)


def _staff() -> User:
    return UserFactory(username="sam", is_staff=True)


@pytest.fixture
def nightjar(alice: User, bob: User) -> Service:
    """A service only a restricted incident names: Bob (Security) sees it, Charlie doesn't.
    "nightjar-old" was merged into it."""
    security = Group.objects.create(name="Security")
    bob.groups.add(security)
    hidden = _service(SECRET)
    IncidentFactory(
        title="Nightjar key leak", services=[hidden], author=alice,
        visibility=Visibility.RESTRICTED, access_groups=[security],
    )  # fmt: skip
    old = _service("nightjar-old")
    merge_services(old, hidden, by=_staff())
    return hidden


@pytest.fixture
def admin_client() -> Client:
    """Staff (not a superuser, in no group) with the admin's permissions on services."""
    sam = UserFactory(username="sam-admin", is_staff=True)
    sam.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="incidents", codename__endswith="_service"
        )
    )
    client = Client()
    client.force_login(sam)
    return client


def _admin_fields(service: Service | None, **changes: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": "", "description": "", "design_notes": ""}
    if service is not None:
        fields.update(
            name=service.name, description=service.description,
            design_notes=service.design_notes, base_version=service.version,
        )  # fmt: skip
    return {**fields, **changes}


# --- 1. A refusal tells no one about a service hidden from them --------------------------------


@pytest.mark.parametrize("typed", ["project nightjar", "NIGHTJAR-OLD"])
def test_the_api_refuses_a_hidden_services_name_without_naming_it(
    nightjar: Service, charlie: User, typed: str
) -> None:
    api = api_client_for(charlie)
    for response in (
        api.post("/api/services/", {"name": typed}, format="json"),
        api.patch(f"/api/services/{_service('etcd').pk}/", {"name": typed}, format="json"),
    ):
        assert response.status_code == 400, response.content
        body = response.content.decode()
        assert "choose another name" in body
        assert SECRET not in body and "already a service" not in body
        assert "another name of" not in body and str(nightjar.pk) not in body
    assert sorted(Service.objects.values_list("name", flat=True)) == [SECRET, "etcd"]


def test_someone_who_sees_the_service_is_told_which_it_is(nightjar: Service, bob: User) -> None:
    api = api_client_for(bob)
    taken = api.post("/api/services/", {"name": "project nightjar"}, format="json")
    assert (
        taken.status_code == 400
        and "already a service “Project Nightjar”" in taken.json()["name"][0]
    )
    alias = api.post("/api/services/", {"name": "nightjar-old"}, format="json")
    assert "another name of the service “Project Nightjar”" in alias.json()["name"][0]


def test_the_admin_refuses_a_hidden_services_name_without_naming_it(
    nightjar: Service, admin_client: Client
) -> None:
    for typed in ("project nightjar", "Nightjar-Old"):
        response = admin_client.post(
            "/admin/incidents/service/add/", _admin_fields(None, name=typed)
        )
        assert response.status_code == 200  # the form again, with its error
        body = response.content.decode()
        assert "choose another name" in body
        assert SECRET not in body and "already a service" not in body
    assert Service.objects.count() == 1


# --- 2. Look-alike names are one service -------------------------------------------------------

LOOK_ALIKES = [
    "etcd\u200b",  # a zero-width space after
    "\u2060et\u200dcd",  # a word joiner, a zero-width joiner inside
    "\ufeffetcd",  # a byte-order mark
    "ｅｔｃｄ",  # fullwidth letters
    "ETCD",
    " etcd\u00a0",  # a no-break space
    "etcd\ufe0f",  # a variation selector (not a format character, shown as nothing)
    "etc\u034fd",  # the combining grapheme joiner inside
    "\u3164etcd\uffa0",  # Hangul fillers
]


@pytest.mark.parametrize("typed", LOOK_ALIKES)
def test_a_look_alike_name_names_the_service_on_the_api(alice: User, typed: str) -> None:
    etcd = _service("etcd")
    api = api_client_for(alice)
    created = api.post("/api/incidents/", {
        "title": "Slow fsync", "started_at": "2026-01-01T00:00:00Z", "services": [typed],
    }, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    assert created.json()["services"] == ["etcd"]
    assert list(Service.objects.all()) == [etcd]
    refused = api.post("/api/services/", {"name": typed}, format="json")
    assert refused.status_code == 400 and "already a service “etcd”" in refused.json()["name"][0]


def test_spaces_of_any_kind_are_one_space(alice: User) -> None:
    api = api_client_for(alice)
    made = api.post("/api/services/", {"name": "Kubernetes\u00a0 API\u3000server "}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["name"] == "Kubernetes API server"
    again = api.post("/api/services/", {"name": "kubernetes api  server"}, format="json")
    assert again.status_code == 400


@pytest.mark.parametrize("typed", ["\u200b\u200d", "\u3164", "\u115f\u1160", "\ufe0f\U000e0100"])
def test_a_name_of_only_invisible_characters_is_refused(alice: User, typed: str) -> None:
    api = api_client_for(alice)
    response = api.post("/api/services/", {"name": typed}, format="json")
    assert response.status_code == 400 and "visible character" in response.json()["name"][0]
    assert not Service.objects.exists()


def test_the_incident_form_and_the_importer_take_look_alikes_as_the_service(
    alice_client: Client, tmp_path: Path
) -> None:
    etcd = _service("etcd")
    response = alice_client.post("/incidents/new/", incident_post(
        title="Slow fsync", services_text="ｅｔｃｄ, etcd\u200b", **{"causes-TOTAL_FORMS": "0",
        "timeline-TOTAL_FORMS": "0", "remediations-TOTAL_FORMS": "0"},
    ))  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    assert [s.name for s in Incident.objects.get(title="Slow fsync").services.all()] == ["etcd"]
    lines = [
        {
            "external_id": f"x-{n}",
            "title": f"Imported {n}",
            "started_at": "2025-01-01",
            "services": [name],
        }  # fmt: skip
        for n, name in enumerate(LOOK_ALIKES)
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    call_command("import_incidents", str(path), stdout=io.StringIO())
    for n in range(len(LOOK_ALIKES)):
        imported = Incident.objects.get(external_id=f"x-{n}")
        assert list(imported.services.all()) == [etcd]
    assert Service.objects.count() == 1


def test_a_game_day_takes_look_alikes_as_the_service() -> None:
    errors = Errors()
    cleaned = clean_game_day({
        "title": "Disk day", "scheduled_at": timezone.now(),
        "scenarios": [{"category": "Storage", "services": ["etcd\u200b", "ＥＴＣＤ"],
                       "injection": "Slow disk."}],
    }, errors)  # fmt: skip
    errors.raise_if_any()
    assert cleaned["scenarios"][0]["services"] == ["etcd"]


def test_the_admin_refuses_a_look_alike_of_an_existing_name(admin_client: Client) -> None:
    _service("etcd")
    response = admin_client.post(
        "/admin/incidents/service/add/", _admin_fields(None, name="etcd\u200b")
    )
    assert response.status_code == 200
    assert "already a service “etcd”" in response.content.decode()
    assert Service.objects.count() == 1


# Letters and digits of many scripts, with spaces and invisible characters mixed in.
_INVISIBLE = st.sampled_from(
    ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u034f", "\ufe0f", "\u3164"]
)
_SPACE = st.sampled_from([" ", "  ", "\u00a0", "\u3000", "\t"])
_NAMES = st.text(
    st.characters(categories=["Lu", "Ll", "Nd"], max_codepoint=0x2FFF), min_size=1, max_size=12
)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_the_one_spelling_is_stable_and_has_nothing_invisible(text: str) -> None:
    once = canonical_name(text)
    assert canonical_name(once) == once
    assert all(unicodedata.category(c) != "Cf" for c in once)
    assert not any(c in once for c in "\u034f\u115f\u1160\u3164\ufe0f\uffa0")
    assert "  " not in once and once == once.strip()


@settings(max_examples=200, deadline=None)
@given(_NAMES, st.lists(st.tuples(st.integers(0, 12), _INVISIBLE), max_size=4), _SPACE)
def test_invisible_characters_and_spaces_never_make_a_second_spelling(
    name: str, inserted: list[tuple[int, str]], space: str
) -> None:
    dressed = name
    for at, char in inserted:
        dressed = dressed[:at] + char + dressed[at:]
    assert canonical_name(space + dressed + space) == canonical_name(name)


def test_the_migration_respells_stored_names_and_leaves_a_collision_for_staff(
    capsys: pytest.CaptureFixture[str],
) -> None:
    etcd = Service.objects.create(name="etcd")  # created bypassing the one write path: old data
    twin = Service.objects.create(name="etcd\u200b")
    envoy = Service.objects.create(name="Envoy\u00a0 proxy")
    alias = ServiceAlias.objects.create(service=envoy, name="ｅｎｖｏｙ", former_id=999)
    migration = importlib.import_module("incidents.migrations.0013_canonical_service_names")
    migration.canonical_names(django_apps, None)
    envoy.refresh_from_db()
    alias.refresh_from_db()
    twin.refresh_from_db()
    assert (envoy.name, alias.name) == ("Envoy proxy", "envoy")
    assert twin.name == "etcd\u200b"  # not merged behind staff's back: reported
    assert f"service {twin.pk}" in capsys.readouterr().out
    assert Service.objects.get(pk=etcd.pk).name == "etcd"
    # The service left in its old spelling still takes design notes (its name unchanged).
    save_service(twin, by=None, design_notes="Same system as etcd: merge.")


# --- 3. The admin's edits of design notes carry their version ----------------------------------


def test_an_admin_save_over_a_newer_version_is_refused_keeping_the_text(
    admin_client: Client, alice: User
) -> None:
    etcd = _service("etcd", design_notes="Needs fast disks.")
    shown = _admin_fields(etcd)  # the change page as the admin opened it (version 1)
    assert (
        'name="base_version"'
        in admin_client.get(f"/admin/incidents/service/{etcd.pk}/change/").content.decode()
    )
    save_service(
        etcd, by=alice, design_notes="Needs fast disks; fsync p99 < 10 ms.", expected_version=1
    )  # fmt: skip  (meanwhile, on the page)
    typed = "The admin rewrote this."
    response = admin_client.post(
        f"/admin/incidents/service/{etcd.pk}/change/", {**shown, "design_notes": typed}
    )
    assert response.status_code == 200  # the form again, not a redirect
    body = response.content.decode()
    assert "alice saved a newer version of this service (version 2)" in body
    assert typed in body  # nothing typed is lost
    etcd.refresh_from_db()
    assert (etcd.version, etcd.design_notes) == (2, "Needs fast disks; fsync p99 < 10 ms.")
    fresh = admin_client.post(
        f"/admin/incidents/service/{etcd.pk}/change/", _admin_fields(etcd, design_notes=typed)
    )
    assert fresh.status_code == 302
    etcd.refresh_from_db()
    assert (etcd.version, etcd.design_notes) == (3, typed)


# --- 4. A service and the names merged into it --------------------------------------------------


def test_a_service_cannot_take_the_name_merged_into_it(alice: User, admin_client: Client) -> None:
    ebs = _service("EBS")
    merge_services(_service("ebs-volumes"), ebs, by=_staff())
    api = api_client_for(alice)
    response = api.patch(f"/api/services/{ebs.pk}/", {"name": "EBS-Volumes"}, format="json")
    assert response.status_code == 400
    assert "already another name of this service" in response.json()["name"][0]
    admin = admin_client.post(
        f"/admin/incidents/service/{ebs.pk}/change/", _admin_fields(ebs, name="ebs-volumes")
    )
    assert admin.status_code == 200 and "already another name of this service" in (
        admin.content.decode()
    )
    ebs.refresh_from_db()
    assert ebs.name == "EBS" and list(ebs.aliases.values_list("name", flat=True)) == ["ebs-volumes"]
    # The old name keeps leading to it; merging it further keeps working (no second alias).
    assert get_or_create_services(["EBS-VOLUMES"]) == [ebs]
    storage = _service("Block storage")
    merge_services(ebs, storage, by=_staff())
    assert sorted(storage.aliases.values_list("name", flat=True)) == ["EBS", "ebs-volumes"]


def test_a_service_cannot_take_another_services_merged_name(alice: User) -> None:
    ebs = _service("EBS")
    merge_services(_service("ebs-volumes"), ebs, by=_staff())
    envoy = _service("Envoy")
    response = api_client_for(alice).patch(
        f"/api/services/{envoy.pk}/", {"name": "ebs-volumes"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["name"] == ["“ebs-volumes” is another name of the service “EBS”."]


# --- 5. A merged service's id in a filter names the service kept --------------------------------


def test_a_merged_services_id_filters_by_the_service_kept(
    alice: User, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    ebs, volumes = _service("EBS"), _service("ebs-volumes")
    capture = django_capture_on_commit_callbacks  # indexed for search, as on a commit
    store(capture, "Volume throttled", services=["ebs-volumes"])
    store(capture, "Unrelated volume outage")
    old = volumes.pk
    with capture(execute=True):
        merge_services(volumes, ebs, by=_staff())
    page = alice_client.get(f"/incidents/?service={old}")
    assert page.status_code == 200
    assert "Volume throttled" in page.content.decode()
    assert "Unrelated volume outage" not in page.content.decode()
    api = api_client_for(alice)
    listed = api.get(f"/api/incidents/?service={old}&service={ebs.pk}")
    assert listed.status_code == 200, listed.content
    assert [i["title"] for i in listed.json()["results"]] == ["Volume throttled"]
    found = alice_client.get(f"/search/?q=volume&service={old}")
    assert found.status_code == 200 and "throttled" in found.content.decode()  # words marked
    assert "Unrelated" not in found.content.decode()
    searched = api.get(f"/api/search/?q=volume&service={old}")
    assert searched.status_code == 200, searched.content
    assert "Volume throttled" in searched.content.decode()
    assert "Unrelated volume outage" not in searched.content.decode()


def test_a_merged_id_of_a_hidden_service_is_refused_like_any_unknown_id(
    nightjar: Service, charlie: User
) -> None:
    old = ServiceAlias.objects.get(name="nightjar-old").former_id
    response = api_client_for(charlie).get(f"/api/incidents/?service={old}")
    assert response.status_code == 400
    assert SECRET not in response.content.decode()


@pytest.mark.parametrize(
    "name",
    ["etcd\ufe0f", "etc\u034fd", "\u3164", "\uff45\uff54\uff43\uff44\u200b  cluster\u00a0", "EBS"],
)
def test_the_migration_spells_names_as_every_way_in_does(name: str) -> None:
    migration = importlib.import_module("incidents.migrations.0013_canonical_service_names")
    assert migration._canonical(name) == canonical_name(name)
