"""No way in loses or quietly changes anybody's work (issue 10, items 1 and 3): what a fresh
tester found — the admin, page saves of API-made incidents, two people editing one list, a
remediation edited twice, a new remediation named like an old one."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from incidents.models import Incident
from remediations.models import Remediation
from tests.conftest import MODEL_BACKEND
from tests.factories import UserFactory
from tests.incidents.test_edit_conflict import edit_data

pytestmark = pytest.mark.django_db

NEW = {
    "title": "DNS timeouts",
    "started_at": "2025-01-01T10:00:00.250Z",
    "body": "## Impact\n\nline one\nline two",
    "services": ["CoreDNS"],
    "causes": [{"kind": "trigger", "description": "first\nsecond"}],
    "timeline": [
        {"at": "2025-01-01T10:05:00.750Z", "text": "alerts\nfire"},
        {"at": "2025-01-01T10:09:00Z", "text": "paged"},
    ],
}


def create(client: Client, **changes: Any) -> dict[str, Any]:
    response = client.post("/api/incidents/", {**NEW, **changes}, content_type="application/json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(
        UserFactory(username="olive", is_staff=True, is_superuser=True), MODEL_BACKEND
    )
    return client


def test_a_page_save_of_an_api_incident_changes_only_what_was_typed(alice_client: Client) -> None:
    created = create(alice_client)
    url = reverse("incident_edit", args=[created["id"]])
    data = edit_data(alice_client, url)
    for key, value in list(data.items()):  # what a browser sends: every textarea in CRLF
        if isinstance(value, str):
            data[key] = value.replace("\n", "\r\n")
    data["title"] = "DNS timeouts on new nodes"
    assert alice_client.post(url, data).status_code == 302
    after = alice_client.get(f"/api/incidents/{created['id']}/").json()
    assert after["title"] == "DNS timeouts on new nodes"
    for key in ("started_at", "body", "services", "causes", "timeline"):
        assert after[key] == created[key], key


def test_saving_an_unchanged_page_makes_no_new_version(alice_client: Client) -> None:
    created = create(alice_client)
    url = reverse("incident_edit", args=[created["id"]])
    assert alice_client.post(url, edit_data(alice_client, url)).status_code == 302
    assert Incident.objects.get().version == 1


def test_two_people_changing_different_timeline_entries_both_keep_them(
    alice_client: Client, bob_client: Client
) -> None:
    created = create(alice_client)
    url = reverse("incident_edit", args=[created["id"]])
    alice, bob = edit_data(alice_client, url), edit_data(bob_client, url)
    alice["timeline-1-text"] = "paged the on-call (alice)"
    assert alice_client.post(url, alice).status_code == 302
    bob["timeline-0-text"] = "alerts fire (bob)"
    bob["title"] = "Bob's title"
    conflict = bob_client.post(url, bob)
    assert conflict.status_code == 409
    assert bob_client.post(url, conflict.context["form"].data).status_code == 302
    incident = Incident.objects.get()
    assert incident.title == "Bob's title"
    assert [t.text for t in incident.timeline.all()] == [
        "alerts fire (bob)",
        "paged the on-call (alice)",
    ]


def test_a_remediation_conflict_keeps_the_other_persons_changes(
    alice_client: Client, bob_client: Client, alice: Any
) -> None:
    created = alice_client.post(
        "/api/remediations/", {"title": "Cache DNS on nodes"}, content_type="application/json"
    ).json()
    url = reverse("remediation_edit", args=[created["id"]])
    bob_form = bob_client.get(url).context["form"]
    bob_data = {name: bob_form[name].value() or "" for name in bob_form.fields}
    bob_data["opened_at"] = bob_form["opened_at"].value().strftime("%Y-%m-%dT%H:%M:%S")
    assert alice_client.patch(
        f"/api/remediations/{created['id']}/",
        {"version": 1, "status": "in_progress", "description": "Alice started on it"},
        content_type="application/json",
    ).status_code == 200  # fmt: skip
    bob_data["title"] = "Cache DNS on every node"
    conflict = bob_client.post(url, bob_data)
    assert conflict.status_code == 409
    assert bob_client.post(url, conflict.context["form"].data).status_code == 302
    remediation = Remediation.objects.get()
    assert remediation.title == "Cache DNS on every node"
    assert remediation.status == "in_progress" and remediation.description == "Alice started on it"


def test_a_new_remediation_never_overwrites_one_with_the_same_title(alice_client: Client) -> None:
    created = create(
        alice_client,
        remediations=[{"title": "Alert on fsync", "kind": "detect", "status": "done",
                       "opened_at": "2025-01-02T00:00:00Z", "done_at": "2025-01-03T00:00:00Z"}],
    )  # fmt: skip
    url = reverse("incident_edit", args=[created["id"]])
    data = edit_data(alice_client, url)
    data.update({"remediations-TOTAL_FORMS": "1", "remediations-0-title": "Alert on fsync",
                 "remediations-0-kind": "prevent", "remediations-0-status": "open"})  # fmt: skip
    assert alice_client.post(url, data).status_code == 302
    assert sorted(Remediation.objects.values_list("status", flat=True)) == ["done", "open"]


def test_one_record_may_not_name_two_remediations_alike(alice_client: Client) -> None:
    response = alice_client.post(
        "/api/incidents/",
        {**NEW, "remediations": [{"title": "r"}, {"title": "r", "status": "done"}]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "is also the title of remediations[1]" in str(response.json())


def test_an_update_with_remediations_is_sent_to_their_own_endpoint(alice_client: Client) -> None:
    created = create(alice_client)
    response = alice_client.patch(
        f"/api/incidents/{created['id']}/",
        {"version": 1, "remediations": [{"title": "x"}]},
        content_type="application/json",
    )
    assert response.status_code == 400 and "/api/remediations/" in str(response.json())


@pytest.mark.parametrize("version", ["²", "١", "1.0", " ", [1]])
def test_a_version_that_is_no_whole_number_is_a_400(alice_client: Client, version: Any) -> None:
    created = create(alice_client)
    response = alice_client.patch(
        f"/api/incidents/{created['id']}/", {"version": version, "title": "x"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 400, response.content


@pytest.mark.parametrize(
    ("url", "body"),
    [("/api/categories/", {"name": "Api\nCat"}), ("/api/services/", {"name": "Api\nSvc"}),
     ("/api/services/", {"name": "alpha, beta"})],
)  # fmt: skip
def test_category_and_service_names_keep_the_shared_rules(
    alice_client: Client, url: str, body: dict[str, str]
) -> None:
    response = alice_client.post(url, body, content_type="application/json")
    assert response.status_code == 400 and "name" in response.json()


def test_the_admin_edits_an_incident_through_the_action(staff_client: Client) -> None:
    created = create(staff_client)
    url = reverse("admin:incidents_incident_change", args=[created["id"]])
    page = staff_client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    for name in ("started_at", "detected_at", "resolved_at"):
        value = form[name].value()
        data[f"{name}_0"], data[f"{name}_1"] = (
            (value.strftime("%Y-%m-%d"), value.strftime("%H:%M:%S")) if value else ("", "")
        )
    data.update({"title": "Edited in the admin", "categories": [], "services": []})
    for prefix in ("causes", "timeline"):
        data[f"{prefix}-TOTAL_FORMS"] = data[f"{prefix}-INITIAL_FORMS"] = "0"
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data[f"{prefix}-TOTAL_FORMS"] = str(inline.formset.total_form_count())
        data[f"{prefix}-INITIAL_FORMS"] = str(inline.formset.initial_form_count())
        for n, f in enumerate(inline.formset.forms):
            data[f"{prefix}-{n}-id"] = str(f.instance.pk)
            data[f"{prefix}-{n}-incident"] = str(created["id"])
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    incident = Incident.objects.get()
    assert incident.title == "Edited in the admin" and incident.version == 2
    assert incident.causes.count() == 1 and incident.timeline.count() == 2  # kept
    data["title"] = "two\nlines"
    refused = staff_client.post(url, {**data, "base_version": "2"})
    assert refused.status_code == 200 and "must be a single line" in refused.content.decode()


def test_the_admin_add_pages_load(staff_client: Client) -> None:
    for name in ("incidents_incident", "remediations_remediation", "incidents_failurecategory",
                 "incidents_service"):  # fmt: skip
        assert staff_client.get(reverse(f"admin:{name}_add")).status_code == 200, name


def test_the_admin_refuses_what_the_api_refuses_for_categories_and_services(
    staff_client: Client,
) -> None:
    staff_client.post(
        "/api/categories/", {"name": "Control plane"}, content_type="application/json"
    )
    add = reverse("admin:incidents_failurecategory_add")
    for name, message in [("Control plane", "There is already a category"),
                          ("Adm\nNewline", "must be a single line")]:  # fmt: skip
        response = staff_client.post(add, {"name": name, "description": ""})
        assert response.status_code == 200 and message in response.content.decode(), name
    staff_client.post("/api/services/", {"name": "etcd"}, content_type="application/json")
    add = reverse("admin:incidents_service_add")
    for name, message in [("ETCD", "There is already a service"),
                          ("Svc\nNewline", "must be a single line")]:  # fmt: skip
        response = staff_client.post(add, {"name": name, "description": ""})
        assert response.status_code == 200 and message in response.content.decode(), name


def test_the_admin_only_shows_what_it_cannot_route_through_an_action(staff_client: Client) -> None:
    for name in (
        "remediations_recurrenceflag",
        "remediations_recurrencelink",
        "reviews_reviewmeeting",
    ):
        assert staff_client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name
        assert staff_client.get(reverse(f"admin:{name}_add")).status_code == 403, name


def test_a_lone_surrogate_is_refused_by_the_api_and_reported_by_the_import(
    alice_client: Client, tmp_path: Any
) -> None:
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    body = '{"title": "x\\ud800y", "started_at": "2025-01-01"}'
    response = alice_client.post("/api/incidents/", body, content_type="application/json")
    assert response.status_code == 400
    assert "lone surrogate (U+D800)" in response.json()["title"][0]
    path = tmp_path / "in.jsonl"
    path.write_text(body + '\n{"title": "fine", "started_at": "2025-01-01"}\n', encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_incidents", str(path), stdout=io.StringIO(), stderr=err)
    assert "line 1: title must not contain a lone surrogate" in err.getvalue()
    assert list(Incident.objects.values_list("title", flat=True)) == ["fine"]


def test_text_from_any_way_in_is_stored_with_lf_line_ends(alice_client: Client) -> None:
    created = create(alice_client, body="one\r\ntwo\rthree", causes=[{"description": "a\r\nb"}])
    assert created["body"] == "one\ntwo\nthree" and created["causes"][0]["description"] == "a\nb"


def test_saving_an_unchanged_remediation_category_or_meeting_makes_no_version(
    alice_client: Client,
) -> None:
    remediation = alice_client.post(
        "/api/remediations/",
        {"title": "Cache DNS", "status": "done"},
        content_type="application/json",
    ).json()
    assert "." not in remediation["done_at"] and "." not in remediation["opened_at"]  # seconds
    same = alice_client.patch(
        f"/api/remediations/{remediation['id']}/", {"version": 1}, content_type="application/json"
    )
    assert same.status_code == 200 and same.json()["version"] == 1
    category = alice_client.post(
        "/api/categories/", {"name": "Network"}, content_type="application/json"
    ).json()
    same = alice_client.patch(
        f"/api/categories/{category['id']}/", {"version": 1, "name": "Network"},
        content_type="application/json",
    )  # fmt: skip
    assert same.status_code == 200 and same.json()["version"] == 1
    url = reverse("review_meeting", args=["2026-W10"])
    alice_client.post(url, {"notes": "Notes"})
    alice_client.post(url, {"notes": "Notes", "version": "1"})
    from reviews.models import ReviewMeeting

    assert ReviewMeeting.objects.get().version == 1


def test_a_path_in_other_letter_case_is_the_same_failure_mode(alice_client: Client) -> None:
    from incidents.models import FailureCategory

    create(alice_client, categories=["Networking > DNS"])
    create(alice_client, categories=["networking > dns"])
    assert list(FailureCategory.objects.values_list("path", flat=True)) == [
        "Networking", "Networking > DNS",
    ]  # fmt: skip
    response = alice_client.post(
        "/api/categories/", {"name": "networking"}, content_type="application/json"
    )
    assert response.status_code == 400


def test_a_cause_without_kind_is_a_root_cause_on_the_page_too(alice_client: Client) -> None:
    created = create(alice_client)
    url = reverse("incident_edit", args=[created["id"]])
    data = edit_data(alice_client, url)
    data.pop("causes-0-kind")
    assert alice_client.post(url, data).status_code == 302
    assert Incident.objects.get().causes.get().kind == "root_cause"


@pytest.mark.parametrize(
    "markdown",
    ["![e](&#x2F;&#x2F;evil.example/e.png)", "![g](h&#x0D;ttps://evil.example/g.png)",
     "![c](/&#x09;/evil.example/c.png)"],
)  # fmt: skip
def test_an_image_from_elsewhere_written_with_entities_is_a_link(markdown: str) -> None:
    from common.markdown import render_markdown

    html = render_markdown(markdown)
    assert "<img" not in html and "<a href=" in html


def test_two_people_editing_different_paragraphs_of_the_report_both_keep_them(
    alice_client: Client, bob_client: Client
) -> None:
    created = create(alice_client, body="## Impact\n\nDNS failed.\n\n## Fix\n\nRestarted it.\n")
    url = reverse("incident_edit", args=[created["id"]])
    alice, bob = edit_data(alice_client, url), edit_data(bob_client, url)
    alice["body"] = alice["body"].replace("DNS failed.", "DNS failed for 40 minutes.")
    assert alice_client.post(url, alice).status_code == 302
    bob["body"] = bob["body"].replace("Restarted it.", "Restarted CoreDNS with a bigger cache.")
    conflict = bob_client.post(url, bob)
    assert conflict.status_code == 409
    assert bob_client.post(url, conflict.context["form"].data).status_code == 302
    body = Incident.objects.get().body
    assert "DNS failed for 40 minutes." in body and "a bigger cache" in body


def test_the_same_paragraph_edited_by_both_keeps_the_later_text_and_says_so(
    alice_client: Client, bob_client: Client
) -> None:
    created = create(alice_client, body="DNS failed.\n")
    url = reverse("incident_edit", args=[created["id"]])
    alice, bob = edit_data(alice_client, url), edit_data(bob_client, url)
    alice["body"] = "DNS failed (alice).\n"
    assert alice_client.post(url, alice).status_code == 302
    bob["body"] = "DNS failed (bob).\n"
    conflict = bob_client.post(url, bob)
    html = conflict.content.decode()
    assert "you changed it too: yours is kept below" in html
    assert "DNS failed<ins> (alice)</ins>." in html  # their change, word by word
    assert conflict.context["form"].data["body"] == "DNS failed (bob).\n"
