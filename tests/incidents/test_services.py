"""Service pages, the service API and merging (PRODUCT.md, "Service"; issue 17)."""

from __future__ import annotations

import datetime
import io
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from common.concurrency import StaleVersion
from common.models import AuditEvent
from common.validation import Errors
from gamedays.actions import save_game_day
from gamedays.models import GameDay, Scenario
from gamedays.records import clean_game_day
from incidents.actions import (
    get_or_create_category,
    get_or_create_services,
    merge_services,
    save_service,
)
from incidents.models import Incident, Service, ServiceAlias, Visibility
from remediations.models import Effectiveness, RemediationStatus
from reports import services
from tests.api_helpers import api_client_for
from tests.factories import IncidentFactory, RemediationFactory, UserFactory, make_flag

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def _service(name: str = "etcd", **fields: Any) -> Service:
    return save_service(Service(), by=None, name=name, **fields)


def _game_day(services: list[str], category: str, *, ran_days_ago: int | None) -> Scenario:
    now = timezone.now()
    scenario: dict[str, Any] = {
        "category": category,
        "services": services,
        "injection": "Slow disk.",
    }
    if ran_days_ago is not None:
        scenario.update(outcome="held", ran_at=now - ran_days_ago * DAY)
    errors = Errors()
    cleaned = clean_game_day(
        {"title": "Disk day", "scheduled_at": now - 5 * DAY, "scenarios": [scenario]}, errors
    )
    errors.raise_if_any()
    game_day = GameDay()
    save_game_day(game_day, cleaned, by=None, expected_version=None)
    return game_day.scenarios.get()


# --- The model and its one write path --------------------------------------------------------


def test_design_notes_make_a_new_version_kept_in_history(alice: User) -> None:
    service = _service()
    save_service(service, by=alice, design_notes="Needs fast disks.", expected_version=1)
    service.refresh_from_db()
    assert (service.version, service.design_notes) == (2, "Needs fast disks.")
    latest = service.history.order_by("-history_id").first()
    assert (latest.design_notes, latest.history_user) == ("Needs fast disks.", alice)


def test_it_rejects_a_stale_version_and_changes_nothing(alice: User, bob: User) -> None:
    service = _service()
    save_service(service, by=alice, design_notes="Alice's notes.", expected_version=1)
    with pytest.raises(StaleVersion):
        save_service(Service.objects.get(pk=service.pk), by=bob, design_notes="Bob's notes.",
                     expected_version=1)  # fmt: skip
    assert Service.objects.get(pk=service.pk).design_notes == "Alice's notes."


def test_a_viewer_cannot_change_design_notes(victor: User, victor_client: Client) -> None:
    service = _service()
    with pytest.raises(PermissionDenied):
        save_service(service, by=victor, design_notes="No.")
    response = victor_client.post(
        f"/services/{service.pk}/notes/", {"design_notes": "No.", "version": "1"}
    )
    assert response.status_code == 403
    assert Service.objects.get(pk=service.pk).design_notes == ""


def test_a_name_is_unique_across_names_and_aliases_ignoring_case(alice: User) -> None:
    ebs, volumes = _service("EBS"), _service("ebs-volumes")
    merge_services(volumes, ebs, by=UserFactory(username="sam", is_staff=True))
    with pytest.raises(ValueError, match="another name of the service “EBS”"):
        _service("EBS-Volumes")
    with pytest.raises(ValueError, match="already a service"):
        save_service(_service("Envoy"), by=alice, name="ebs")


# --- The service page ------------------------------------------------------------------------


@pytest.fixture
def etcd_world(alice: User) -> dict[str, Any]:
    """etcd broke twice on slow disks (a done fix did not hold: regressed) and once on
    leader elections (an open fix); a game day tested the disks on etcd."""
    now = timezone.now()
    etcd = _service("etcd")
    disks = get_or_create_category("Storage > Disk latency")
    elections = get_or_create_category("Control plane > Leader elections")
    first = IncidentFactory(title="etcd slow fsync", started_at=now - 300 * DAY,
                            categories=[disks], services=[etcd])  # fmt: skip
    second = IncidentFactory(title="etcd slow fsync again", started_at=now - 20 * DAY,
                             categories=[disks], services=[etcd])  # fmt: skip
    third = IncidentFactory(title="etcd leader flapping", started_at=now - 40 * DAY,
                            categories=[elections], services=[etcd])  # fmt: skip
    done = RemediationFactory(
        title="Move etcd to local SSD", category=get_or_create_category("Storage"),
        status=RemediationStatus.DONE, opened_at=now - 290 * DAY, done_at=now - 200 * DAY,
        effectiveness=Effectiveness.REGRESSED, incident=first,
    )  # fmt: skip
    open_fix = RemediationFactory(
        title="Tune election timeout", category=elections, incident=third,
        due_date=(now - 3 * DAY).date(),
    )  # fmt: skip
    scenario = _game_day(["etcd"], "Storage > Disk latency", ran_days_ago=7)
    return {
        "etcd": etcd, "incidents": [first, second, third], "done": done, "open": open_fix,
        "scenario": scenario, "disks": disks,
    }  # fmt: skip


def test_the_page_shows_how_the_service_breaks(
    etcd_world: dict[str, Any], alice_client: Client
) -> None:
    etcd = etcd_world["etcd"]
    html = alice_client.get(f"/services/{etcd.pk}/").content.decode()
    modes = html[html.index('id="how-it-breaks"') : html.index('id="incidents"')]
    assert modes.index("Storage &gt; Disk latency") < modes.index("Leader elections")
    disk_row = modes[modes.index('id="mode-') : modes.index("Leader elections")]
    assert '<td class="num" data-label="Incidents">2</td>' in disk_row
    assert "Move etcd to local SSD" in disk_row and "Regressed" in disk_row
    tested = (timezone.now() - 7 * DAY).strftime("%Y-%m-%d")
    assert tested in disk_row
    elections = modes[modes.index("Leader elections") :]
    assert "Tune election timeout" in elections and "never tested" in elections
    # Incidents, most recent first; the open (overdue) remediation; the scenario; the chart.
    assert html.index("etcd slow fsync again") < html.index("etcd leader flapping")
    assert html.index("etcd leader flapping") < html.index("etcd slow fsync<")
    remediations = html[html.index('id="remediations"') : html.index('id="game-days"')]
    assert "Tune election timeout" in remediations and "overdue" in remediations
    assert "Move etcd to local SSD" not in remediations  # done, not open
    assert f'id="scenario-{etcd_world["scenario"].pk}"' in html
    assert '<svg class="service-months" viewBox=' in html
    assert "3 incidents of etcd" in html  # the chart's description


def test_a_service_without_incidents_says_so(alice_client: Client) -> None:
    service = _service("Envoy")
    html = alice_client.get(f"/services/{service.pk}/").content.decode()
    assert "No incidents have affected Envoy yet." in html
    assert "Envoy has no incidents." in html
    assert "<svg" not in html.split('id="incidents"')[1]


def test_design_notes_are_rendered_as_markdown_without_raw_html(alice_client: Client) -> None:
    service = _service("etcd", design_notes="**Predictable** disk latency.\n\n<script>x</script>")
    html = alice_client.get(f"/services/{service.pk}/").content.decode()
    assert "<strong>Predictable</strong>" in html
    assert "<script>x</script>" not in html


def test_a_restricted_incident_is_neither_shown_nor_counted_for_outsiders(
    etcd_world: dict[str, Any], alice: User, bob: User, charlie_client: Client, bob_client: Client
) -> None:
    security = Group.objects.create(name="Security")
    bob.groups.add(security)
    IncidentFactory(
        title="Secret etcd key leak", services=[etcd_world["etcd"]], author=alice,
        categories=[get_or_create_category("Security > Keys")],
        visibility=Visibility.RESTRICTED, access_groups=[security],
    )  # fmt: skip
    url = f"/services/{etcd_world['etcd'].pk}/"
    for client, sees in ((charlie_client, False), (bob_client, True)):
        html = client.get(url).content.decode()
        assert ("Secret etcd key leak" in html) is sees
        assert ("Security &gt; Keys" in html) is sees
        assert (f"({4 if sees else 3})" in html) is True
        listing = client.get("/services/?sort=recent").content.decode()
        assert f'<td class="num">{3 if sees else 2}</td>' in listing.split("etcd</a>")[1][:300]


def test_fixes_of_a_restricted_incident_are_neither_named_nor_counted_for_outsiders(
    etcd_world: dict[str, Any], alice: User, bob: User, charlie_client: Client, bob_client: Client
) -> None:
    """On a failure mode outsiders see too (slow disks): the restricted incident's fixes are
    not named, not counted among the mode's fixes nor the open remediations, and its month
    counts for insiders only."""
    security = Group.objects.create(name="Security")
    bob.groups.add(security)
    secret = IncidentFactory(
        title="Disks of the key store", services=[etcd_world["etcd"]], author=alice,
        categories=[etcd_world["disks"]], started_at=timezone.now() - 2 * DAY,
        visibility=Visibility.RESTRICTED, access_groups=[security],
    )  # fmt: skip
    RemediationFactory(title="Rotate the key store disks", category=etcd_world["disks"],
                       incident=secret, due_date=(timezone.now() - DAY).date())  # fmt: skip
    RemediationFactory(title="Encrypt the key store", category=etcd_world["disks"], incident=secret,
                       status=RemediationStatus.DONE, done_at=timezone.now() - DAY,
                       effectiveness=Effectiveness.HOLDING)  # fmt: skip
    for user, sees in ((None, True), (bob, True), (UserFactory(username="carl"), False)):
        (mode,) = [m for m in services.failure_modes(etcd_world["etcd"], user)
                   if m.slug == etcd_world["disks"].slug]  # fmt: skip
        assert mode.incidents == (3 if sees else 2)
        assert [f.title for f in mode.open_fixes] == (
            ["Rotate the key store disks"] if sees else []
        )
        assert [f.title for f in mode.done_fixes] == (
            ["Encrypt the key store", "Move etcd to local SSD"]
            if sees
            else ["Move etcd to local SSD"]
        )
        assert (mode.open_count, mode.done_count) == ((1, 2) if sees else (0, 1))
        assert mode.effectiveness == ({"holding": 1, "regressed": 1} if sees else {"regressed": 1})
        months = services.per_month(etcd_world["etcd"], user)
        assert sum(m.incidents for m in months) == (4 if sees else 3)
        assert sum(services.monthly_counts(etcd_world["etcd"], user).values()) == (4 if sees else 3)
        titles = [r.title for r in services.remediations_of(etcd_world["etcd"], user)]
        assert titles == (
            ["Tune election timeout", "Rotate the key store disks"] if sees
            else ["Tune election timeout"]
        )  # fmt: skip
    url = f"/services/{etcd_world['etcd'].pk}/"
    assert "key store" not in charlie_client.get(url).content.decode()
    assert "Rotate the key store disks" in bob_client.get(url).content.decode()


def test_the_page_costs_a_fixed_number_of_queries(
    etcd_world: dict[str, Any], alice_client: Client, django_assert_max_num_queries: Any
) -> None:
    etcd = etcd_world["etcd"]
    url = f"/services/{etcd.pk}/"
    with django_assert_max_num_queries(SERVICE_PAGE_QUERIES):
        alice_client.get(url)
    for n in range(10):  # more incidents, modes and fixes cost no more queries
        category = get_or_create_category(f"Storage > Mode {n}")
        incident = IncidentFactory(categories=[category], services=[etcd])
        RemediationFactory(category=category, incident=incident)
    with django_assert_max_num_queries(SERVICE_PAGE_QUERIES):
        assert alice_client.get(url).status_code == 200


# Session, user, the Viewers check, the service with its aliases; the incidents per month
# (the chart and the count), incidents with their categories and services, failure modes,
# their fixes counted and the latest named, tests; open remediations, scenarios. (One more,
# counting the open remediations, when there are more than the page shows.)
SERVICE_PAGE_QUERIES = 15


def test_editing_notes_on_a_stale_page_is_a_conflict_that_keeps_the_text(
    alice_client: Client, bob_client: Client
) -> None:
    service = _service("Envoy")
    url = f"/services/{service.pk}/notes/"
    saved = alice_client.post(url, {"design_notes": "Alice: hot restarts drain.", "version": "1"})
    assert saved.status_code == 302
    stale = bob_client.post(url, {"design_notes": "Bob: circuit breakers.", "version": "1"})
    assert stale.status_code == 409
    html = stale.content.decode()
    assert "Bob: circuit breakers." in html  # his text, kept in the form
    assert "Alice: hot restarts drain." in html  # theirs, shown
    assert 'name="version" value="2"' in html  # saving again goes through
    assert Service.objects.get(pk=service.pk).design_notes == "Alice: hot restarts drain."
    again = bob_client.post(url, {"design_notes": "Both.", "version": "2"})
    assert again.status_code == 302
    history = bob_client.get(f"/services/{service.pk}/history/").content.decode()
    assert "Version 3" in history and "Both." in history


def test_with_htmx_saving_answers_the_notes_section(alice_client: Client) -> None:
    service = _service("Envoy")
    response = alice_client.post(
        f"/services/{service.pk}/notes/", {"design_notes": "# Envoy", "version": "1"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.content.decode().startswith('<section id="design-notes"')


def test_too_long_notes_are_refused_with_a_message_and_kept(alice_client: Client) -> None:
    service = _service("Envoy")
    text = "x" * 50_001
    response = alice_client.post(
        f"/services/{service.pk}/notes/", {"design_notes": text, "version": "1"}
    )
    assert response.status_code == 400
    assert (
        "Design notes is 50,001 characters long; the limit is 50,000." in response.content.decode()
    )
    assert text in response.content.decode()


# --- The service list ------------------------------------------------------------------------


def test_the_list_sorts_by_each_column(etcd_world: dict[str, Any], alice_client: Client) -> None:
    now = timezone.now()
    envoy, ebs = _service("Envoy"), _service("EBS")
    # Envoy: three incidents lately, never tested. EBS: an open fix, a recurrence.
    for _ in range(3):
        IncidentFactory(services=[envoy], started_at=now - 2 * DAY)
    recurred = IncidentFactory(services=[ebs], categories=[etcd_world["disks"]])
    RemediationFactory(incident=recurred, title="EBS fix one")
    RemediationFactory(incident=recurred, title="EBS fix two")
    make_flag(recurred, etcd_world["disks"], etcd_world["done"])

    def order(sort: str) -> list[str]:
        rows = services.service_rows(None, sort)
        return [r.service.name for r in rows]

    assert order("name") == ["EBS", "Envoy", "etcd"]
    assert order("recent") == ["Envoy", "etcd", "EBS"]
    assert order("open")[0] == "EBS"
    assert order("recurred")[0] == "EBS"
    assert order("never_tested") == ["EBS", "Envoy", "etcd"]
    html = alice_client.get("/services/?sort=recent").content.decode()
    assert html.index(">Envoy</a>") < html.index(">etcd</a>") < html.index(">EBS</a>")
    assert "never tested" in html and "recurred after fix" in html
    assert alice_client.get("/services/?sort=nonsense").status_code == 200


def test_the_list_costs_a_fixed_number_of_queries(
    etcd_world: dict[str, Any], alice_client: Client, django_assert_max_num_queries: Any
) -> None:
    for n in range(15):
        IncidentFactory(services=[_service(f"svc-{n}")])
    with django_assert_max_num_queries(SERVICE_LIST_QUERIES):
        html = alice_client.get("/services/").content.decode()
    assert "svc-14" in html


# Session, user, the Viewers check; services, recent incidents, open fixes, recurrences, tests.
SERVICE_LIST_QUERIES = 8


def test_the_nav_links_to_services(alice_client: Client) -> None:
    assert 'href="/services/"' in alice_client.get("/incidents/").content.decode()


# --- Links -----------------------------------------------------------------------------------


def test_service_tags_lead_to_the_service_page(
    etcd_world: dict[str, Any], alice_client: Client
) -> None:
    etcd, incident = etcd_world["etcd"], etcd_world["incidents"][0]
    link = f'<a class="tag service" href="/services/{etcd.pk}/">etcd</a>'
    assert link in alice_client.get(f"/incidents/{incident.pk}/").content.decode()
    assert link in alice_client.get("/incidents/").content.decode()
    fix = etcd_world["open"]
    assert link in alice_client.get(f"/remediations/{fix.pk}/").content.decode()
    game_day = etcd_world["scenario"].game_day
    assert link in alice_client.get(f"/game-days/{game_day.pk}/").content.decode()


def test_the_incident_form_suggests_existing_services(alice_client: Client) -> None:
    _service("Kubernetes API server")
    html = alice_client.get("/incidents/new/").content.decode()
    assert 'list="id_services_text-names"' in html
    assert '<option value="Kubernetes API server">' in html


# --- The API ---------------------------------------------------------------------------------


@pytest.fixture
def api(alice: User) -> APIClient:
    return api_client_for(alice)


def test_the_api_gives_the_representation(etcd_world: dict[str, Any], api: APIClient) -> None:
    etcd = etcd_world["etcd"]
    body = api.get(f"/api/services/{etcd.pk}/").json()
    assert body["failure_modes"] == [
        {"path": "Storage > Disk latency", "incident_count": 2},
        {"path": "Control plane > Leader elections", "incident_count": 1},
    ]
    assert body["incident_count"] == 3
    assert body["last_incident_at"].startswith(
        etcd_world["incidents"][1].started_at.strftime("%Y-%m-%d")
    )
    assert body["last_tested_at"] is not None
    assert (body["aliases"], body["design_notes"], body["version"]) == ([], "", 1)
    listed = api.get("/api/services/").json()["results"]
    assert [s["incident_count"] for s in listed if s["name"] == "etcd"] == [3]


def test_the_api_writes_design_notes_with_a_version(
    etcd_world: dict[str, Any], api: APIClient
) -> None:
    url = f"/api/services/{etcd_world['etcd'].pk}/"
    missing = api.patch(url, {"design_notes": "Disks."}, format="json")
    assert missing.status_code == 400 and "version" in missing.json()
    ok = api.patch(url, {"design_notes": "Disks.", "version": 1, "incident_count": 99},
                   format="json")  # fmt: skip
    assert ok.status_code == 200
    assert (ok.json()["design_notes"], ok.json()["version"], ok.json()["incident_count"]) == (
        "Disks.", 2, 3,
    )  # fmt: skip
    stale = api.patch(url, {"design_notes": "Other.", "version": 1}, format="json")
    assert stale.status_code == 409
    assert stale.json()["current"]["design_notes"] == "Disks."
    assert Service.objects.get(pk=etcd_world["etcd"].pk).design_notes == "Disks."


def test_the_api_list_costs_a_fixed_number_of_queries(
    etcd_world: dict[str, Any], api: APIClient, django_assert_max_num_queries: Any
) -> None:
    for n in range(10):
        IncidentFactory(services=[_service(f"svc-{n}")])
    with django_assert_max_num_queries(10):
        assert len(api.get("/api/services/").json()["results"]) == 11


# --- Merging ---------------------------------------------------------------------------------


@pytest.fixture
def staff_client(alice: User) -> Client:
    sam = UserFactory(username="sam", is_staff=True)
    client = Client()
    client.force_login(sam)
    return client


def test_staff_merge_two_names_of_one_system(
    staff_client: Client, alice_client: Client, alice: User, tmp_path: Path
) -> None:
    ebs = _service("EBS", design_notes="Network block storage.")
    volumes = _service("ebs-volumes", design_notes="Volumes throttle on burst credits.")
    moved = IncidentFactory(title="Volume throttled", services=[volumes])
    both = IncidentFactory(title="Both names", services=[volumes, ebs])
    scenario = _game_day(["ebs-volumes"], "Storage > EBS", ran_days_ago=None)
    old = volumes.pk

    assert alice_client.post(f"/services/{old}/merge/", {"into": ebs.pk}).status_code == 403
    response = staff_client.post(f"/services/{old}/merge/", {"into": ebs.pk})
    assert response.status_code == 302 and response["Location"] == f"/services/{ebs.pk}/"

    assert not Service.objects.filter(pk=old).exists()
    assert list(moved.services.all()) == [ebs] and list(both.services.all()) == [ebs]
    assert list(scenario.services.all()) == [ebs]
    ebs.refresh_from_db()
    assert "Volumes throttle on burst credits." in ebs.design_notes  # nothing written is lost
    assert "Network block storage." in ebs.design_notes
    # The old page redirects permanently; the alias shows.
    redirect = alice_client.get(f"/services/{old}/")
    assert (redirect.status_code, redirect["Location"]) == (301, f"/services/{ebs.pk}/")
    assert "ebs-volumes" in alice_client.get(f"/services/{ebs.pk}/").content.decode()
    # The API and the importer accept the old name.
    api = api_client_for(alice)
    assert api.get(f"/api/services/{ebs.pk}/").json()["aliases"] == ["ebs-volumes"]
    created = api.post("/api/incidents/", {
        "title": "Again", "started_at": "2026-01-01T00:00:00Z", "services": ["EBS-Volumes"],
    }, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    assert created.json()["services"] == ["EBS"]
    line = {"external_id": "x-1", "title": "Imported", "started_at": "2025-01-01",
            "services": ["ebs-volumes"]}  # fmt: skip
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(line) + "\n")
    call_command("import_incidents", str(path), stdout=open("/dev/null", "w"))  # noqa: SIM115
    imported = Incident.objects.get(external_id="x-1")
    assert [s.name for s in imported.services.all()] == ["EBS"]
    call_command("import_incidents", str(path), stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Incident.objects.get(external_id="x-1").version == imported.version  # unchanged
    assert get_or_create_services(["EBS-VOLUMES"]) == [ebs]
    # Audited: the merged service's deletion, naming the one kept.
    event = AuditEvent.objects.get(action="deletion", target_id=str(old))
    assert event.detail["merged_into"]["name"] == "EBS"


def test_a_service_cannot_be_merged_into_itself(staff_client: Client) -> None:
    ebs = _service("EBS")
    response = staff_client.post(f"/services/{ebs.pk}/merge/", {"into": ebs.pk})
    assert response.status_code == 400 and "into itself" in response.content.decode()
    assert ServiceAlias.objects.count() == 0


def test_a_merge_whose_notes_together_pass_the_limit_is_refused_and_changes_nothing(
    staff_client: Client, alice: User
) -> None:
    # Merged, 80,000 characters of notes were stored: past the 50,000 every way in checks, so
    # the kept service could then not be renamed or described through the API (400 on notes
    # no one sent) nor its notes saved on the page without cutting someone's text.
    ebs = _service("EBS", design_notes="b" * 40_000)
    old = _service("ebs-volumes", design_notes="a" * 40_000)
    incident = IncidentFactory(title="Slow volume")
    incident.services.set([old])
    response = staff_client.post(f"/services/{old.pk}/merge/", {"into": ebs.pk})
    assert response.status_code == 400
    assert "the limit is 50,000" in response.content.decode()
    assert Service.objects.filter(pk=old.pk).exists() and not ServiceAlias.objects.exists()
    assert list(incident.services.all()) == [old]
    ebs.refresh_from_db()
    assert ebs.design_notes == "b" * 40_000
    renamed = api_client_for(alice).patch(
        f"/api/services/{ebs.pk}/", {"description": "Block storage"}, format="json"
    )
    assert renamed.status_code == 200, renamed.content


def test_a_mode_with_many_fixes_names_the_latest_and_counts_them_all(
    etcd_world: dict[str, Any], alice_client: Client
) -> None:
    disks = etcd_world["disks"]
    for n in range(5):
        RemediationFactory(title=f"Disk fix {n}", category=disks,
                           opened_at=timezone.now() - (10 - n) * DAY)  # fmt: skip
    (mode,) = [m for m in services.failure_modes(etcd_world["etcd"], None) if m.slug == disks.slug]
    assert mode.open_count == 5
    assert [f.title for f in mode.open_fixes] == ["Disk fix 4", "Disk fix 3", "Disk fix 2"]
    assert (mode.done_count, mode.effectiveness) == (1, {"regressed": 1})
    html = alice_client.get(f"/services/{etcd_world['etcd'].pk}/").content.decode()
    assert "5 in all" in html and "Disk fix 1" not in html


@pytest.fixture
def admin_staff_client() -> Client:
    """Staff with the admin's model permissions on services."""
    sam = UserFactory(username="sam", is_staff=True)
    sam.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="incidents", codename__endswith="_service"
        )
    )
    client = Client()
    client.force_login(sam)
    return client


def test_the_admin_merges_services_through_the_same_action(
    admin_staff_client: Client, alice_client: Client, alice: User
) -> None:
    ebs = _service("EBS", design_notes="Network block storage.")
    volumes = _service("ebs-volumes", design_notes="Volumes throttle on burst credits.")
    moved = IncidentFactory(title="Volume throttled", services=[volumes])
    scenario = _game_day(["ebs-volumes"], "Storage > EBS", ran_days_ago=None)
    old = volumes.pk
    chosen = {"action": "merge", "_selected_action": [ebs.pk, volumes.pk]}

    assert 'value="merge"' in admin_staff_client.get("/admin/incidents/service/").content.decode()
    # First a page asks which one to keep; nothing is merged yet.
    asked = admin_staff_client.post("/admin/incidents/service/", chosen)
    assert asked.status_code == 200 and 'name="into"' in asked.content.decode()
    assert Service.objects.filter(pk=old).exists()
    # Keeping one that was not selected is refused, and nothing changes.
    other = _service("Envoy")
    refused = admin_staff_client.post(
        "/admin/incidents/service/", {**chosen, "post": "yes", "into": other.pk}
    )
    assert refused.status_code == 400 and "Choose the service to keep" in refused.content.decode()
    assert Service.objects.filter(pk=old).exists() and ServiceAlias.objects.count() == 0

    done = admin_staff_client.post(
        "/admin/incidents/service/", {**chosen, "post": "yes", "into": ebs.pk}, follow=True
    )
    assert "Merged into EBS: ebs-volumes is now another name of it." in done.content.decode()
    # What the merge page does: incidents and scenarios move, notes kept in a new version,
    # the old page redirects, the old name is an alias for the API and the importer, audited.
    assert not Service.objects.filter(pk=old).exists()
    assert list(moved.services.all()) == [ebs] and list(scenario.services.all()) == [ebs]
    ebs.refresh_from_db()
    assert "Volumes throttle on burst credits." in ebs.design_notes and ebs.version == 2
    assert ebs.history.order_by("-history_id").first().history_user.username == "sam"
    redirect = alice_client.get(f"/services/{old}/")
    assert (redirect.status_code, redirect["Location"]) == (301, f"/services/{ebs.pk}/")
    assert get_or_create_services(["EBS-Volumes"]) == [ebs]
    event = AuditEvent.objects.get(action="deletion", target_id=str(old))
    assert event.detail["merged_into"]["name"] == "EBS" and event.username == "sam"


def test_only_staff_may_merge_in_the_admin(alice: User) -> None:
    ebs, volumes = _service("EBS"), _service("ebs-volumes")
    writer = UserFactory(username="wendy", is_staff=True)  # staff, but in Viewers: reads only
    writer.user_permissions.set(Permission.objects.filter(codename__endswith="_service"))
    writer.groups.add(Group.objects.get_or_create(name="Viewers")[0])
    client = Client()
    client.force_login(writer)
    listing = client.get("/admin/incidents/service/").content.decode()
    assert 'value="merge"' not in listing
    client.post("/admin/incidents/service/", {
        "action": "merge", "_selected_action": [ebs.pk, volumes.pk], "post": "yes",
        "into": ebs.pk,
    })  # fmt: skip
    assert Service.objects.filter(pk=volumes.pk).exists() and ServiceAlias.objects.count() == 0


def test_a_merged_name_keeps_working_in_the_game_day_api(alice: User, staff_client: Client) -> None:
    ebs, volumes = _service("EBS"), _service("ebs-volumes")
    merge_services(volumes, ebs, by=UserFactory(username="sue", is_staff=True))
    api = api_client_for(alice)
    created = api.post("/api/game-days/", {
        "title": "Volumes day", "scheduled_at": "2026-01-05T10:00:00Z",
        "scenarios": [{"category": "Storage > EBS", "services": ["ebs-volumes"],
                       "injection": "Throttle a volume."}],
    }, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    assert created.json()["scenarios"][0]["services"] == ["EBS"]
    assert Scenario.objects.get(game_day_id=created.json()["id"]).services.get() == ebs


# --- Found by trying to break it (issue 17, helper b17) --------------------------------------


@pytest.mark.parametrize(
    ("stored", "typed"),
    [("istio", "İstio"), ("k8s", "\u212a8s"), ("straße", "STRAẞE")],
    ids=["dotted-capital-i", "kelvin-sign", "capital-sharp-s"],
)
def test_a_name_the_database_reads_as_an_existing_one_names_that_service(
    alice: User, tmp_path: Path, stored: str, typed: str
) -> None:
    """The unique constraint compares LOWER(name); a lookup comparing UPPER missed these and
    the save then hit the constraint: the API said "conflicts with data saved meanwhile"
    (409) and the importer refused the line with a database error."""
    service = _service(stored)
    api = api_client_for(alice)
    created = api.post("/api/incidents/", {
        "title": "Mesh down", "started_at": "2026-01-01T00:00:00Z", "services": [typed],
    }, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    assert created.json()["services"] == [stored]
    refused = api.post("/api/services/", {"name": typed}, format="json")
    assert refused.status_code == 400 and "already a service" in refused.json()["name"][0]
    path = tmp_path / "in.jsonl"
    line = {"external_id": "m-1", "title": "Imported", "started_at": "2025-01-01",
            "services": [typed]}  # fmt: skip
    path.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    call_command("import_incidents", str(path), stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert list(Incident.objects.get(external_id="m-1").services.all()) == [service]
    assert Service.objects.count() == 1


def test_naming_a_service_in_another_case_or_by_an_old_name_changes_nothing(
    alice: User, tmp_path: Path
) -> None:
    """A line naming "ETCD" and a merged old name of etcd, imported again, is "unchanged":
    no empty new version each time, and the history names the service as it is called."""
    etcd = _service("etcd")
    merge_services(_service("etcd-main"), etcd, by=UserFactory(username="sam", is_staff=True))
    path = tmp_path / "in.jsonl"
    line = {"external_id": "e-1", "title": "Slow disk", "started_at": "2025-01-01",
            "services": ["ETCD", "etcd-main"]}  # fmt: skip
    path.write_text(json.dumps(line) + "\n")
    summaries = []
    for _ in range(2):
        out = io.StringIO()
        call_command("import_incidents", str(path), stdout=out)
        summaries.append(out.getvalue())
    assert "1 created" in summaries[0] and "1 unchanged" in summaries[1], summaries
    incident = Incident.objects.get(external_id="e-1")
    assert incident.version == 1 and list(incident.services.all()) == [etcd]
    assert [h.parts["services"] for h in incident.history.all()] == [["etcd"]]
    # The API and pages go through the same action: saving the same names again is no edit.
    api = api_client_for(alice)
    for _ in range(2):
        answer = api.patch(f"/api/incidents/{incident.pk}/",
                           {"services": ["Etcd-Main", "etcd"], "version": 1}, format="json")  # fmt: skip
        assert answer.status_code == 200 and answer.json()["version"] == 1, answer.content


def test_a_game_day_naming_its_services_in_another_case_is_unchanged(alice: User) -> None:
    scenario = _game_day(["etcd"], "Storage > Disk latency", ran_days_ago=None)
    game_day = scenario.game_day
    errors = Errors()
    again = clean_game_day(
        {"title": "Disk day", "scheduled_at": game_day.scheduled_at, "scenarios": [
            {"id": scenario.pk, "category": "Storage > Disk latency", "services": ["ETCD"],
             "injection": "Slow disk."},
        ]},
        errors,
    )  # fmt: skip
    errors.raise_if_any()
    save_game_day(game_day, again, by=alice, expected_version=game_day.version)
    game_day.refresh_from_db()
    assert game_day.version == 1 and game_day.history.count() == 1


def _merge_in_threads(
    pairs: list[tuple[Service, Service]], staff: list[User]
) -> list[tuple[int, str]]:
    """Each staff member posts one merge of `pairs` on the merge page, at once, while this
    test holds both rows; released when every request waits on the lock."""
    from django.db import connection, transaction

    from tests.conftest import MODEL_BACKEND

    answers: list[tuple[int, str]] = []

    def merge(person: User, source: Service, target: Service) -> None:
        client = Client()
        client.force_login(person, backend=MODEL_BACKEND)
        try:
            response = client.post(f"/services/{source.pk}/merge/", {"into": target.pk})
            answers.append((response.status_code, response.content.decode()))
        except Exception as error:  # a server error, as the person would meet it
            answers.append((500, repr(error)))
        finally:
            connection.close()

    ids = sorted({s.pk for pair in pairs for s in pair})
    threads = [
        threading.Thread(target=merge, args=(person, *pair))
        for person, pair in zip(staff, pairs, strict=True)
    ]
    with transaction.atomic():
        list(Service.objects.select_for_update().filter(pk__in=ids))
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        with connection.cursor() as cursor:
            while time.monotonic() < deadline:  # wait on a condition, not a delay
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
                if cursor.fetchone()[0] >= len(pairs):
                    break
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("shape", ["both-ways", "chain", "one-source-two-targets"])
def test_two_merges_at_once_merge_once_and_tell_the_other_person(shape: str) -> None:
    """Two staff members merge at the same moment: A into B and B into A, A into B and B
    into C, or A into B and A into C. One merge happens; the other person is told why
    nothing happened (400) — before, one answered 500 (a deadlock, or a row gone)."""
    a, b, c = _service("ebs-a"), _service("ebs-b"), _service("ebs-c")
    incident = IncidentFactory(title="Volume throttled", services=[a])
    pairs = {"both-ways": [(a, b), (b, a)], "chain": [(a, b), (b, c)],
             "one-source-two-targets": [(a, b), (a, c)]}[shape]  # fmt: skip
    staff = [UserFactory(username=f"staff{n}", is_staff=True) for n in range(2)]

    answers = _merge_in_threads(pairs, staff)

    statuses = sorted(status for status, _ in answers)
    assert statuses in ([302, 400], [302, 302]), answers
    for status, body in answers:
        if status == 400:
            assert "meanwhile" in body and "nothing was changed" in body
    # Whatever happened, the incident still names exactly one service, one that exists.
    (kept,) = Incident.objects.get(pk=incident.pk).services.all()
    assert Service.objects.filter(pk=kept.pk).exists()


def test_notes_typed_for_a_service_merged_meanwhile_are_kept_as_a_conflict(
    staff_client: Client, alice_client: Client
) -> None:
    """Alice edits ebs-volumes' notes; meanwhile staff merge it into EBS. Her save answered
    404 (nothing happened with htmx; her text gone without it): now it is a conflict on EBS
    that keeps her text and shows EBS's notes, the merged ones included."""
    ebs = _service("EBS", design_notes="Network block storage.")
    volumes = _service("ebs-volumes", design_notes="Burst credits.")
    assert (
        'name="version" value="1"'
        in alice_client.get(f"/services/{volumes.pk}/notes/").content.decode()
    )
    assert staff_client.post(f"/services/{volumes.pk}/merge/", {"into": ebs.pk}).status_code == 302

    typed = {"design_notes": "Burst credits run out after 30 minutes.", "version": "1"}
    for headers in ({}, {"HX-Request": "true"}):
        response = alice_client.post(f"/services/{volumes.pk}/notes/", typed, headers=headers)
        html = response.content.decode()
        assert response.status_code == 409
        assert "“ebs-volumes” was merged into “EBS” while you were editing" in html
        assert "Burst credits run out after 30 minutes." in html  # her text, in the form
        assert f'action="/services/{ebs.pk}/notes/"' in html
        assert 'name="version" value="2"' in html  # EBS as now saved, its notes merged
    answer = alice_client.get(f"/services/{volumes.pk}/notes/")
    assert (answer.status_code, answer["Location"]) == (302, f"/services/{ebs.pk}/notes/")


def test_the_list_counts_the_open_remediations_the_page_lists(
    alice: User, alice_client: Client, charlie_client: Client
) -> None:
    """A fix from an EBS incident, still open when a kubelet incident of its failure mode
    happened, is linked to it (the recurrence rule): kubelet's page lists it, and the list
    said 0 open remediations for kubelet. A fix from an incident and linked to another of the
    same service counts once; a link from an incident hidden from the reader counts not."""
    from remediations.models import RecurrenceLink

    ebs, kubelet = _service("EBS"), _service("kubelet")
    now = timezone.now()
    origin = IncidentFactory(title="Volume stuck", services=[ebs], started_at=now - 30 * DAY)
    fix = RemediationFactory(title="Detach stuck volumes", incident=origin)
    later = IncidentFactory(title="Pods stuck", services=[kubelet], started_at=now - 2 * DAY)
    again = IncidentFactory(title="Volume stuck again", services=[ebs], started_at=now - DAY)
    secret = IncidentFactory(title="Hidden", services=[_service("Envoy")], author=alice,
                             visibility=Visibility.RESTRICTED)  # fmt: skip
    for incident in (later, again, secret):
        RecurrenceLink.objects.create(incident=incident, remediation=fix)

    html = alice_client.get(f"/services/{kubelet.pk}/").content.decode()
    assert "Detach stuck volumes" in html
    assert 'Open remediations <span class="muted">(1)</span>' in html
    rows = {r.service.name: r.open_fixes for r in services.service_rows(alice)}
    assert rows == {"EBS": 1, "kubelet": 1, "Envoy": 1}
    charlie = User.objects.get(username="charlie")
    assert {r.service.name: r.open_fixes for r in services.service_rows(charlie)} == {
        "EBS": 1, "kubelet": 1,
    }  # fmt: skip


def test_a_duplicate_incident_is_counted_as_its_original(alice: User, alice_client: Client) -> None:
    """An incident marked a duplicate of another leaves lists and counts (PRODUCT.md); the
    service page listed and counted both, and so did its chart, the list and the API."""
    etcd = _service("etcd")
    disks = get_or_create_category("Storage > Disk latency")
    now = timezone.now()
    original = IncidentFactory(title="etcd slow fsync", services=[etcd], categories=[disks],
                               started_at=now - 3 * DAY)  # fmt: skip
    IncidentFactory(title="etcd slow fsync (second report)", services=[etcd],
                    categories=[disks], started_at=now - 2 * DAY, duplicate_of=original)  # fmt: skip

    html = alice_client.get(f"/services/{etcd.pk}/").content.decode()
    assert "etcd slow fsync" in html and "second report" not in html
    assert 'Incidents <span class="muted">(1)</span>' in html, html[html.find("Incidents") :][:80]
    assert "1 incident of etcd" in html  # the chart's description
    (row,) = services.service_rows(alice)
    assert row.recent == 1
    answer = api_client_for(alice).get(f"/api/services/{etcd.pk}/").json()
    assert answer["incident_count"] == 1
    assert answer["failure_modes"] == [{"path": "Storage > Disk latency", "incident_count": 1}]
