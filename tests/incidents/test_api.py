"""/api/incidents/, /api/categories/, /api/services/: the contract of PRODUCT.md."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from incidents.actions import get_or_create_category
from incidents.models import FailureCategory, Incident
from remediations.models import FlagState, RecurrenceLink
from tests.api_helpers import api_client_for
from tests.factories import IncidentFactory, RemediationFactory, UserFactory, make_flag

pytestmark = pytest.mark.django_db

NEW_INCIDENT = {
    "title": "etcd lost quorum during EBS volume degradation",
    "summary": "Two of three members stalled.",
    "body": "## Impact\n\nDeploys failed.",
    "severity": "SEV2",
    "started_at": "2019-03-02T14:05:00Z",
    "resolved_at": "2019-03-02T16:40:00Z",
    "categories": ["Control plane > etcd", "Storage > EBS latency"],
    "services": ["etcd", "EBS"],
    "causes": [
        {"kind": "trigger", "description": "EBS degraded", "category": "Storage > EBS latency"}
    ],
    "timeline": [{"at": "2019-03-02T14:05:00Z", "text": "Latency rises"}],
}


def messages(detail: Any) -> list[str]:
    """Every message string in a DRF error body, however nested."""
    if isinstance(detail, str):
        return [detail]
    values = detail.values() if isinstance(detail, dict) else detail
    return [m for value in values for m in messages(value)]


@pytest.fixture
def api(alice: Any) -> APIClient:
    return api_client_for(alice)


def test_token_from_the_management_command_authenticates(alice: Any) -> None:
    import io

    out = io.StringIO()
    call_command("create_api_token", "alice", stdout=out, stderr=io.StringIO())
    key = out.getvalue().strip()
    client = APIClient()
    assert client.get("/api/incidents/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/incidents/").status_code == 200


def test_it_creates_an_incident_with_paths_names_causes_and_timeline(
    api: APIClient, alice: Any
) -> None:
    response = api.post("/api/incidents/", NEW_INCIDENT, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    incident = Incident.objects.get()
    assert body["id"] == incident.pk
    assert body["reference"] == f"INC-{incident.pk}"
    assert body["url"] == f"/incidents/{incident.pk}/"
    assert body["version"] == 1
    assert body["categories"] == ["Control plane > etcd", "Storage > EBS latency"]
    assert body["services"] == ["EBS", "etcd"]
    assert body["causes"] == NEW_INCIDENT["causes"]
    assert body["timeline"] == NEW_INCIDENT["timeline"]
    assert body["status"] == "resolved"  # the contract's default
    assert body["linked_remediations"] == [] and body["open_flags"] == []
    assert body["author"] == "alice"
    assert FailureCategory.objects.filter(path="Control plane").exists()  # created on the way


def test_clients_cannot_write_ids_versions_authors_or_timestamps(api: APIClient) -> None:
    response = api.post(
        "/api/incidents/",
        {**NEW_INCIDENT, "id": 999, "version": 7, "author": "mallory",
         "created_at": "2000-01-01T00:00:00Z", "reference": "INC-1"},
        format="json",
    )  # fmt: skip
    body = response.json()
    assert response.status_code == 201
    assert body["id"] != 999 and body["version"] == 1 and body["author"] == "alice"
    assert not body["created_at"].startswith("2000")


def test_an_update_must_carry_the_version(api: APIClient) -> None:
    incident = IncidentFactory()
    response = api.patch(f"/api/incidents/{incident.pk}/", {"title": "New"}, format="json")
    assert response.status_code == 400
    assert "version" in response.json()


def test_a_stale_version_gets_409_with_the_current_representation(api: APIClient) -> None:
    incident = IncidentFactory(title="Before")
    url = f"/api/incidents/{incident.pk}/"
    assert api.patch(url, {"title": "First", "version": 1}, format="json").status_code == 200
    response = api.patch(url, {"title": "Second", "version": 1}, format="json")
    assert response.status_code == 409
    assert response.json()["current"]["title"] == "First"
    assert response.json()["current"]["version"] == 2
    assert "out of date" in response.json()["detail"]
    incident.refresh_from_db()
    assert incident.title == "First" and incident.version == 2


def test_put_replaces_causes_and_timeline(api: APIClient) -> None:
    created = api.post("/api/incidents/", NEW_INCIDENT, format="json").json()
    replacement = {**NEW_INCIDENT, "version": created["version"],
                   "causes": [{"kind": "root_cause", "description": "No IOPS headroom"}],
                   "timeline": []}  # fmt: skip
    response = api.put(f"/api/incidents/{created['id']}/", replacement, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["causes"] == [
        {"kind": "root_cause", "description": "No IOPS headroom", "category": None}
    ]
    assert response.json()["timeline"] == []
    assert response.json()["version"] == 2


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": ""}, "title", "is required."),
        ({"title": {"deep": {"er": [1, 2, {"est": True}]}}}, "title", "must be text, not an object."),
        ({"started_at": "yesterday"}, "started_at", "must be a date or date-time in ISO 8601, not 'yesterday'."),
        ({"started_at": 12}, "started_at", "must be a date or date-time string, not a number."),
        ({"started_at": "9999-12-31T23:59:59-14:00"}, "started_at", "must be between 1970-01-01 and 2100-01-01."),
        ({"severity": "SEV9"}, "severity", "must be one of SEV1, SEV2, SEV3, SEV4, not 'SEV9'."),
        ({"status": ["resolved"]}, "status", "must be one of"),
        ({"title": "two\nlines"}, "title", "must be a single line"),
        ({"summary": "nul\x00"}, "summary", "must not contain the NUL character"),
        ({"categories": "Control plane"}, "categories", "must be a list of texts, not text."),
        ({"categories": ["A > " * 200]}, "categories", "the limit is 500."),
        ({"causes": [{"kind": "gremlins", "description": "x"}]}, "causes", "not 'gremlins'"),
        ({"causes": [{"kind": "trigger"}]}, "causes", "is required."),
        ({"timeline": [{"at": "not a time", "text": "x"}]}, "timeline", "must be a date or date-time in ISO 8601"),
        ({"timeline": [{"at": "0000-01-01T00:00:00Z", "text": "x"}]}, "timeline", "must be a date or date-time in ISO 8601"),
        ({"detected_at": "2019-03-02T13:00:00Z"}, "detected_at", "can't be detected before it started"),
        ({"resolved_at": "2019-03-01T00:00:00Z"}, "resolved_at", "can't be resolved before it started"),
    ],
)  # fmt: skip
def test_bad_input_gets_400_with_field_messages(
    api: APIClient, change: dict[str, Any], field: str, message: str
) -> None:
    response = api.post("/api/incidents/", {**NEW_INCIDENT, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert message in " ".join(messages(response.json())), response.json()
    assert Incident.objects.count() == 0


def test_a_patch_of_a_cause_without_kind_behaves_like_the_post(api: APIClient) -> None:
    incident = IncidentFactory()
    cause = {"description": "no kind given"}
    response = api.patch(
        f"/api/incidents/{incident.pk}/", {"version": 1, "causes": [cause]}, format="json"
    )
    assert response.status_code == 200, response.json()
    created = api.post("/api/incidents/", {**NEW_INCIDENT, "causes": [cause]}, format="json")
    assert response.json()["causes"] == created.json()["causes"]
    assert response.json()["causes"][0]["kind"] == "root_cause"


def test_a_patch_of_a_cause_without_description_is_refused_like_the_post(api: APIClient) -> None:
    incident = IncidentFactory()
    change = {"causes": [{"kind": "trigger"}]}
    patched = api.patch(f"/api/incidents/{incident.pk}/", {"version": 1, **change}, format="json")
    posted = api.post("/api/incidents/", {**NEW_INCIDENT, **change}, format="json")
    assert patched.status_code == posted.status_code == 400
    assert (
        patched.json()
        == posted.json()
        == {"causes": [{"description": ["This field is required."]}]}
    )


def test_an_empty_external_id_means_none(api: APIClient) -> None:
    for _ in range(2):
        response = api.post("/api/incidents/", {**NEW_INCIDENT, "external_id": ""}, format="json")
        assert response.status_code == 201 and response.json()["external_id"] is None


def test_unknown_api_addresses_answer_json_404(api: APIClient) -> None:
    response = api.get("/api/incidents/0.5/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_form_encoded_bodies_are_refused_with_415(api: APIClient) -> None:
    response = api.post("/api/incidents/", {"title": "x"}, format="multipart")
    assert response.status_code == 415


def test_an_oversized_report_is_refused_with_the_limit(api: APIClient, settings: Any) -> None:
    settings.ONCE_MAX_REPORT_CHARS = 1000
    response = api.post("/api/incidents/", {**NEW_INCIDENT, "body": "x" * 1001}, format="json")
    assert response.status_code == 400
    assert "the limit is 1,000" in response.json()["body"][0]


def test_malformed_json_is_a_400(api: APIClient) -> None:
    response = api.post("/api/incidents/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_deeply_nested_json_is_a_400_not_a_crash(api: APIClient) -> None:
    body = '{"title": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = api.post("/api/incidents/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_an_oversized_request_is_a_413(api: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = api.post("/api/incidents/", {**NEW_INCIDENT, "body": "x" * 20_000}, format="json")
    assert response.status_code == 413
    assert "larger than the limit of 10,000 bytes" in response.json()["detail"]
    assert Incident.objects.count() == 0


def test_an_unknown_incident_is_a_404(api: APIClient) -> None:
    assert api.get("/api/incidents/999999/").status_code == 404
    assert api.patch("/api/incidents/999999/", {"version": 1}, format="json").status_code == 404


def test_list_paginates_with_limit_and_offset_and_caps_the_page(api: APIClient) -> None:
    for _ in range(5):
        IncidentFactory()
    page = api.get("/api/incidents/", {"limit": 2, "offset": 2}).json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 5 and len(page["results"]) == 2
    assert "offset=4" in page["next"] and page["previous"] is not None
    assert api.get("/api/incidents/", {"limit": 100000}).status_code == 200


def test_the_html_filters_work_on_the_api(api: APIClient) -> None:
    etcd = get_or_create_category("Control plane > etcd")
    below = get_or_create_category("Control plane > etcd > Leader elections")
    IncidentFactory(title="In", categories=[below], severity="SEV1")
    IncidentFactory(title="Out", severity="SEV1")
    titles = [
        r["title"] for r in api.get("/api/incidents/", {"category": etcd.pk}).json()["results"]
    ]
    assert titles == ["In"]
    response = api.get("/api/incidents/", {"category": 999999})
    assert response.status_code == 400 and "category" in response.json()


def test_linked_remediations_and_open_flags_are_listed(api: APIClient) -> None:
    category = get_or_create_category("Networking > Envoy")
    incident = IncidentFactory(categories=[category])
    still_open = RemediationFactory(category=category, status="in_progress")
    done = RemediationFactory(category=category, status="done", done_at="2020-01-01T00:00:00Z",
                              opened_at="2019-01-01T00:00:00Z")  # fmt: skip
    RecurrenceLink.objects.create(incident=incident, remediation=still_open)
    flag = make_flag(incident, category, done)
    body = api.get(f"/api/incidents/{incident.pk}/").json()
    assert body["linked_remediations"] == [still_open.pk]
    assert body["open_flags"] == [flag.pk]
    category_body = api.get(f"/api/categories/{category.pk}/").json()
    assert category_body["flagged"] is True
    flag.state, flag.outcome = FlagState.ACKNOWLEDGED, "partial"
    flag.save()
    assert api.get(f"/api/categories/{category.pk}/").json()["flagged"] is False


def _count(api: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert api.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "url", ["/api/incidents/", "/api/remediations/", "/api/categories/", "/api/services/",
            "/api/flags/"],
)  # fmt: skip
def test_list_endpoints_issue_the_same_number_of_queries_for_more_rows(
    api: APIClient, alice: Any, url: str
) -> None:
    def add(n: int) -> None:
        for i in range(n):
            category = get_or_create_category(f"Mode {FailureCategory.objects.count()} {i}")
            incident = api.post(
                "/api/incidents/",
                {**NEW_INCIDENT, "categories": [category.path], "services": [f"s{category.pk}"]},
                format="json",
            ).json()
            remediation = RemediationFactory(category=category, owner=alice,
                                             incident_id=incident["id"], status="done",
                                             opened_at="2019-01-01T00:00:00Z",
                                             done_at="2019-01-02T00:00:00Z")  # fmt: skip
            RecurrenceLink.objects.create(incident_id=incident["id"], remediation=remediation)
            make_flag(Incident.objects.get(pk=incident["id"]), category, remediation)

    add(2)
    few = _count(api, url)
    add(8)
    assert _count(api, url) == few


def test_categories_api_creates_moves_and_refuses_cycles(api: APIClient) -> None:
    top = api.post("/api/categories/", {"name": "Control plane"}, format="json").json()
    child = api.post(
        "/api/categories/", {"name": "etcd", "parent": top["id"], "description": "KV store"},
        format="json",
    ).json()  # fmt: skip
    assert child["path"] == "Control plane > etcd" and child["flagged"] is False
    response = api.patch(f"/api/categories/{top['id']}/", {"parent": child["id"]}, format="json")
    assert response.status_code == 400
    assert "can't be moved below itself" in response.json()["parent"][0]
    response = api.post("/api/categories/", {"name": "a > b"}, format="json")
    assert response.status_code == 400 and "must not contain “>”" in response.json()["name"][0]
    response = api.post("/api/categories/", {"name": "etcd", "parent": top["id"]}, format="json")
    assert response.status_code == 400 and "already a category" in response.json()["name"][0]


def test_a_category_in_use_cannot_be_deleted(api: APIClient) -> None:
    category = get_or_create_category("Storage > EBS latency")
    staff = api_client_for(UserFactory(username="sam", is_staff=True))  # deleting is staff's
    response = staff.delete(f"/api/categories/{category.parent_id}/")
    assert response.status_code == 409
    assert "still in use" in response.json()["detail"]


def test_services_are_unique_by_name_ignoring_case(api: APIClient) -> None:
    assert api.post("/api/services/", {"name": "etcd"}, format="json").status_code == 201
    response = api.post("/api/services/", {"name": "ETCD"}, format="json")
    assert response.status_code == 400 and "already a service" in response.json()["name"][0]


def test_a_stale_category_update_is_refused_with_409(api: APIClient) -> None:
    created = api.post("/api/categories/", {"name": "Network"}, format="json").json()
    assert created["version"] == 1
    url = f"/api/categories/{created['id']}/"
    assert api.patch(url, {"name": "Networking", "version": 1}, format="json").status_code == 200
    stale = api.patch(url, {"description": "older", "version": 1}, format="json")
    assert stale.status_code == 409
    assert stale.json()["current"]["name"] == "Networking"
