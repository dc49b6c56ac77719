"""An incident is findable as soon as its save returns, and so is every later edit to it."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from incidents.models import FailureCategory
from tests.search.helpers import store

pytestmark = pytest.mark.django_db


def titles(client: Client, q: str) -> list[str]:
    return [hit["title"] for hit in client.get("/api/search/", {"q": q}).json()["results"]]


def test_an_incident_written_in_the_browser_is_found_at_once(
    alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            "/incidents/new/",
            {
                "title": "Zookeeper session expiry storm",
                "summary": "",
                "body": "",
                "severity": "SEV2",
                "status": "resolved",
                "started_at": "2024-02-01T10:00",
                "causes-TOTAL_FORMS": "1",
                "causes-INITIAL_FORMS": "0",
                "causes-0-kind": "trigger",
                "causes-0-description": "A GC pause of forty seconds",
                "timeline-TOTAL_FORMS": "0",
                "timeline-INITIAL_FORMS": "0",
                "remediations-TOTAL_FORMS": "0",
                "remediations-INITIAL_FORMS": "0",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert titles(alice_client, "zookeeper") == ["Zookeeper session expiry storm"]
    assert titles(alice_client, "gc pause") == ["Zookeeper session expiry storm"]


def test_an_api_edit_to_a_cause_is_found(
    alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    incident = store(django_capture_on_commit_callbacks, "Checkout outage")
    current = alice_client.get(f"/api/incidents/{incident.pk}/").json()
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.patch(
            f"/api/incidents/{incident.pk}/",
            {
                "version": current["version"],
                "causes": [{"kind": "root_cause", "description": "Hash ring rebalancing"}],
            },
            content_type="application/json",
        )
    assert response.status_code == 200, response.content
    assert titles(alice_client, "rebalancing") == ["Checkout outage"]


def test_renaming_a_category_renames_it_in_search(
    alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    store(django_capture_on_commit_callbacks, "Slow writes", categories=["Storage > Disks"])
    disks = FailureCategory.objects.get(path="Storage")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            f"/categories/{disks.slug}/edit/",
            {"name": "Persistence", "parent": "", "description": ""},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert titles(alice_client, "persistence") == ["Slow writes"]
    assert titles(alice_client, "storage") == []


def test_editing_a_remediation_updates_its_incident_in_search(
    alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    incident = store(
        django_capture_on_commit_callbacks,
        "Queue backlog",
        remediations=[{"title": "Add an alert", "kind": "detect", "status": "open"}],
    )
    remediation = incident.remediations.get()
    current = alice_client.get(f"/api/remediations/{remediation.pk}/").json()
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.patch(
            f"/api/remediations/{remediation.pk}/",
            {"version": current["version"], "title": "Autoscale the consumers"},
            content_type="application/json",
        )
    assert response.status_code == 200, response.content
    assert titles(alice_client, "autoscale consumers") == ["Queue backlog"]


def test_an_imported_file_is_searchable(
    tmp_path: Any, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from django.core.management import call_command

    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"external_id": "a", "title": "Memcached eviction storm", "started_at": "2020-01-01"}\n'
        '{"external_id": "b", "title": "Vault seal", "started_at": "2020-01-02"}\n'
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_incidents", str(source), stdout=io.StringIO())
    assert titles(alice_client, "memcached") == ["Memcached eviction storm"]


def test_renaming_a_service_through_the_api_reindexes_its_incidents(
    alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    incident = store(django_capture_on_commit_callbacks, "Sessions dropped", services=["memcache"])
    service = incident.services.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.patch(
            f"/api/services/{service.pk}/", {"name": "Valkey"}, content_type="application/json"
        )
    assert response.status_code == 200, response.json()
    assert titles(alice_client, "valkey") == ["Sessions dropped"]


def test_indexed_text_keeps_link_and_image_words_and_drops_their_addresses() -> None:
    from search.text import plain_text

    text = plain_text("See [the runbook](https://x/y) and ![a graph](/g.png) " + "[" * 5000)
    assert text.startswith("See the runbook and a graph ")
    assert "https" not in text and text.count("[") == 5000


def test_an_imported_remediation_is_found_by_its_title_at_once(
    tmp_path: Any, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    source = tmp_path / "incidents.jsonl"
    source.write_text(
        '{"external_id": "r1", "title": "Queue backlog", "started_at": "2021-05-01",'
        ' "remediations": [{"title": "Autoscale the flumpus workers", "kind": "prevent"}]}\n'
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_incidents", str(source), stdout=io.StringIO())
    assert titles(alice_client, "flumpus") == ["Queue backlog"]


def test_rebuilding_the_index_restores_search_reports_progress_and_rewrites_nothing_unchanged(
    alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from search.models import SearchDocument

    store(django_capture_on_commit_callbacks, "Ingress certificate expired")
    store(django_capture_on_commit_callbacks, "Ledger replica fell behind")
    SearchDocument.objects.all().delete()  # as after restoring a backup without them
    assert titles(alice_client, "certificate") == []

    out = io.StringIO()
    call_command("rebuild_search_index", stdout=out)
    assert "2 of 2 incidents indexed (100%" in out.getvalue()
    assert "Indexed 2 incidents in" in out.getvalue()
    assert titles(alice_client, "certificate") == ["Ingress certificate expired"]
    assert titles(alice_client, "ledger") == ["Ledger replica fell behind"]

    stamped = dict(SearchDocument.objects.values_list("incident_id", "indexed_at"))
    call_command("rebuild_search_index", stdout=io.StringIO())
    assert dict(SearchDocument.objects.values_list("incident_id", "indexed_at")) == stamped
