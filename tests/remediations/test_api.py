"""/api/remediations/ and /api/flags/: the contract of PRODUCT.md."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from incidents.actions import get_or_create_category
from remediations.models import FlagState, RecurrenceFlag, Remediation
from tests.api_helpers import api_client_for
from tests.factories import IncidentFactory, RemediationFactory, make_flag

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(alice: Any) -> APIClient:
    return api_client_for(alice)


def test_a_remediation_is_created_on_its_own_with_a_category_path(api: APIClient, bob: Any) -> None:
    incident = IncidentFactory()
    response = api.post(
        "/api/remediations/",
        {"title": "Move to HTTP/2", "kind": "prevent", "owner": "bob",
         "category": "Networking > Envoy > HTTP/1.1 connection pool exhaustion",
         "incident": incident.pk, "due_date": "2026-12-01",
         "tracker_url": "https://tracker.example/OPS-1"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["owner"] == "bob" and body["status"] == "open" and body["version"] == 1
    assert body["category"] == "Networking > Envoy > HTTP/1.1 connection pool exhaustion"
    assert body["incident"] == incident.pk and body["linked_incidents"] == []
    assert body["url"] == f"/remediations/{body['id']}/" and body["warnings"] == []
    assert (
        api.post(
            "/api/remediations/", {"title": "Alone", "incident": None}, format="json"
        ).status_code
        == 201
    )


def test_an_owner_matching_no_user_is_reported_and_left_unassigned(api: APIClient) -> None:
    response = api.post("/api/remediations/", {"title": "x", "owner": "nobody"}, format="json")
    assert response.status_code == 201
    assert response.json()["owner"] is None
    assert response.json()["warnings"] == [
        "Nobody is called “nobody” in Once: the remediation “x” is left unassigned."
    ]


def test_marking_done_sets_done_at_and_reopening_clears_it(api: APIClient) -> None:
    remediation = RemediationFactory()
    url = f"/api/remediations/{remediation.pk}/"
    body = api.patch(url, {"status": "done", "version": 1}, format="json").json()
    assert body["status"] == "done" and body["done_at"] is not None and body["version"] == 2
    body = api.patch(url, {"status": "open", "version": 2}, format="json").json()
    assert body["done_at"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [({"status": "maybe"}, "status"), ({"kind": "pray"}, "kind"), ({"due_date": "soon"}, "due_date"),
     ({"incident": 999999}, "incident"), ({"tracker_url": "not a url"}, "tracker_url"),
     ({"done_at": "2026-01-01T00:00:00Z"}, "done_at"), ({"title": ["a"]}, "title")],
)  # fmt: skip
def test_bad_remediation_input_is_a_400(api: APIClient, change: dict[str, Any], field: str) -> None:
    response = api.post("/api/remediations/", {"title": "x", **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Remediation.objects.count() == 0


def test_a_stale_remediation_update_is_a_409(api: APIClient) -> None:
    remediation = RemediationFactory(title="A")
    url = f"/api/remediations/{remediation.pk}/"
    api.patch(url, {"title": "B", "version": 1}, format="json")
    response = api.patch(url, {"title": "C", "version": 1}, format="json")
    assert response.status_code == 409 and response.json()["current"]["title"] == "B"


def _flag() -> RecurrenceFlag:
    category = get_or_create_category("Networking > Envoy")
    remediation = RemediationFactory(category=category, status="done",
                                     opened_at="2019-01-01T00:00:00Z", done_at="2019-02-01T00:00:00Z")  # fmt: skip
    return make_flag(IncidentFactory(categories=[category]), category, remediation)


def test_a_flag_is_acknowledged_with_a_note_keeping_who_and_when(api: APIClient) -> None:
    flag = _flag()
    response = api.post(
        f"/api/flags/{flag.pk}/acknowledge/",
        {"outcome": "partial", "note": "Billing was missed"}, format="json",
    )  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "acknowledged" and body["note"] == "Billing was missed"
    assert body["outcome"] == "partial"
    assert body["resolved_by"] == "alice" and body["resolved_at"] is not None
    again = api.post(f"/api/flags/{flag.pk}/dismiss/", {"note": "no"}, format="json")
    assert again.status_code == 409 and "already triaged" in again.json()["detail"]


def test_a_flag_needs_a_note(api: APIClient) -> None:
    flag = _flag()
    response = api.post(f"/api/flags/{flag.pk}/dismiss/", {"note": ""}, format="json")
    assert response.status_code == 400 and "note" in response.json()
    assert RecurrenceFlag.objects.get().state == FlagState.OPEN


def test_flags_filter_by_state_incident_remediation_and_category(api: APIClient) -> None:
    flag = _flag()
    other = _flag()
    other.state, other.outcome = FlagState.DISMISSED, "not_a_recurrence"
    other.save()
    ids = lambda **q: [f["id"] for f in api.get("/api/flags/", q).json()["results"]]  # noqa: E731
    assert ids(state="open") == [flag.pk]
    assert ids(incident=flag.incident_id) == [flag.pk]
    assert ids(remediation=other.remediations.get().pk) == [other.pk]
    assert ids(outcome="not_a_recurrence") == [other.pk]
    assert sorted(ids(category=flag.category_id)) == sorted([flag.pk, other.pk])
    assert api.get("/api/flags/", {"state": "bogus"}).status_code == 400


def test_flags_cannot_be_written_directly(api: APIClient) -> None:
    flag = _flag()
    assert (
        api.patch(f"/api/flags/{flag.pk}/", {"state": "cleared"}, format="json").status_code == 405
    )
    assert api.delete(f"/api/flags/{flag.pk}/").status_code == 405
