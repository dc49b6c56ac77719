"""Nothing typed is lost: the later of two concurrent edits is refused, shown the difference,
and keeps its text to merge."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from common.validation import Errors
from incidents.models import Incident
from remediations.models import Remediation
from tests.factories import IncidentFactory, RemediationFactory

pytestmark = pytest.mark.django_db


def edit_data(client: Client, url: str) -> dict[str, Any]:
    """What the edit form would submit unchanged: its initial values, as a browser sees them."""
    response = client.get(url)
    data: dict[str, Any] = {}
    for form in [response.context["form"], *(response.context.get(k) for k in
                 ("causes", "timeline", "remediations"))]:  # fmt: skip
        if form is None:
            continue
        forms = [form.management_form, *form.forms] if hasattr(form, "forms") else [form]
        for f in forms:
            for name in f.fields:
                value = f[name].value()
                if value is None:
                    continue
                key = f.add_prefix(name)
                if isinstance(value, list):
                    data[key] = value
                elif hasattr(value, "strftime") and "date" in type(value).__name__.lower():
                    data[key] = value.strftime("%Y-%m-%dT%H:%M")
                else:
                    data[key] = value
    return data


def test_the_later_of_two_edits_is_refused_and_shown_the_difference(
    alice_client: Client, bob_client: Client, alice: Any, bob: Any
) -> None:
    incident = IncidentFactory(title="DNS timeouts", body="line one\nline two")
    url = reverse("incident_edit", args=[incident.pk])
    alice_form = edit_data(alice_client, url)
    bob_form = edit_data(bob_client, url)

    alice_form["body"] = "line one\nline two changed by alice"
    assert alice_client.post(url, alice_form).status_code == 302

    bob_form["title"] = "DNS timeouts in the cluster"
    bob_form["body"] = "line one\nline two\nbob's careful addition"
    response = bob_client.post(url, bob_form)
    html = response.content.decode()

    assert response.status_code == 409
    incident.refresh_from_db()
    assert incident.title == "DNS timeouts"  # nothing of bob's was saved
    assert incident.body == "line one\nline two changed by alice"
    assert incident.version == 2
    assert "Someone else saved this while you were editing" in html
    assert "<strong>alice</strong>" in html
    assert "line two<ins> changed by alice</ins>" in html  # what alice changed, word by word
    assert "bob&#x27;s careful addition" in html  # bob's text is still in the form
    assert 'value="DNS timeouts in the cluster"' in html

    # Bob merges and saves again: now based on the current version, it goes through.
    merged = response.context["form"].data.copy()
    merged["body"] = "line one\nline two changed by alice\nbob's careful addition"
    assert bob_client.post(url, merged).status_code == 302
    incident.refresh_from_db()
    assert incident.version == 3
    assert incident.title == "DNS timeouts in the cluster"
    assert incident.body.endswith("bob's careful addition")


def test_a_remediation_edit_conflict_is_refused_too(
    alice_client: Client, bob_client: Client
) -> None:
    remediation = RemediationFactory(title="Move to HTTP/2")
    url = reverse("remediation_edit", args=[remediation.pk])
    alice_form = edit_data(alice_client, url)
    bob_form = edit_data(bob_client, url)
    alice_form["status"] = "in_progress"
    assert alice_client.post(url, alice_form).status_code == 302
    bob_form["description"] = "Bob's plan"
    response = bob_client.post(url, bob_form)
    assert response.status_code == 409
    assert "In progress" in response.content.decode()
    remediation = Remediation.objects.get()
    assert remediation.status == "in_progress" and remediation.description == ""


def test_marking_a_remediation_done_records_when(alice_client: Client) -> None:
    remediation = RemediationFactory(title="Alert on etcd fsync")
    url = reverse("remediation_edit", args=[remediation.pk])
    form = edit_data(alice_client, url)
    form["status"] = "done"
    assert alice_client.post(url, form).status_code == 302
    remediation.refresh_from_db()
    assert remediation.status == "done" and remediation.done_at is not None
    form = edit_data(alice_client, url)
    form["status"] = "open"
    form.pop("done_at", None)
    assert alice_client.post(url, form).status_code == 302
    remediation.refresh_from_db()
    assert remediation.done_at is None


def test_edits_keep_history_with_who_changed_it(alice_client: Client, alice: Any) -> None:
    incident = IncidentFactory(title="Before")
    url = reverse("incident_edit", args=[incident.pk])
    form = edit_data(alice_client, url)
    form["title"] = "After"
    alice_client.post(url, form)
    latest = Incident.history.filter(id=incident.pk).order_by("-history_date").first()
    assert latest.title == "After" and latest.history_user == alice


def test_the_history_page_shows_each_version_with_its_author_and_a_report_diff(
    alice_client: Client, bob_client: Client
) -> None:
    incident = IncidentFactory(title="Before", body="## Impact\n\nSmall.")
    url = reverse("incident_edit", args=[incident.pk])
    form = edit_data(alice_client, url)
    form["body"] = "## Impact\n\nLarge: every deploy failed."
    alice_client.post(url, form)
    form = edit_data(bob_client, url)
    form["title"] = "After"
    bob_client.post(url, form)

    html = bob_client.get(reverse("incident_history", args=[incident.pk])).content.decode()
    assert html.index("Version 3") < html.index("Version 2") < html.index("Version 1")
    assert "by bob" in html and "by alice" in html
    # Only the changed line, with its context (issue 15, item 4: tests/incidents/
    # test_readable_history.py).
    assert 'diff-removed"><span class="diff-number">3</span><span class="diff-line">Small.<' in html
    assert (
        'diff-added"><span class="diff-number">3</span>'
        '<span class="diff-line">Large: every deploy failed.<'
    ) in html
    assert "<del>Before</del> → <ins>After</ins>" in html


def test_api_and_import_changes_are_in_the_history_too(alice: Any, tmp_path: Any) -> None:
    import json

    from django.core.management import call_command

    from tests.api_helpers import api_client_for

    incident = IncidentFactory(title="One")
    api_client_for(alice).patch(
        f"/api/incidents/{incident.pk}/", {"title": "Two", "version": 1}, format="json"
    )
    incident.external_id = "x-1"
    incident.save()
    path = tmp_path / "one.jsonl"
    path.write_text(
        json.dumps({"external_id": "x-1", "title": "Three", "started_at": "2020-01-01"})
    )
    call_command("import_incidents", str(path), stdout=None)
    titles = list(
        Incident.history.filter(id=incident.pk)
        .order_by("history_date")
        .values_list("title", flat=True)
    )
    assert titles[:2] == ["One", "Two"] and titles[-1] == "Three"


def test_the_remediation_history_page_names_owners_without_extra_queries(
    alice_client: Client, alice: Any, bob: Any, django_assert_max_num_queries: Any
) -> None:
    from remediations.actions import merged_changes, save_remediation
    from remediations.records import clean_remediation

    remediation = RemediationFactory(title="Fix")
    for n, owner in enumerate([alice, bob, alice, bob], start=1):
        errors = Errors()
        record = clean_remediation(merged_changes(remediation, {"owner": owner.username}), errors)
        save_remediation(remediation, record, by=alice, expected_version=n)
    with django_assert_max_num_queries(8):
        html = alice_client.get(
            reverse("remediation_history", args=[remediation.pk])
        ).content.decode()
    assert "<del>alice</del> → <ins>bob</ins>" in html


def test_a_cause_edit_and_a_title_edit_both_survive_the_conflict_page(
    alice_client: Client, bob_client: Client
) -> None:
    created = alice_client.post(
        "/api/incidents/",
        {"title": "DNS timeouts", "started_at": "2025-01-01T10:00:00Z",
         "causes": [{"kind": "trigger", "description": "A node pool was replaced"}]},
        content_type="application/json",
    ).json()  # fmt: skip
    incident = Incident.objects.get(pk=created["id"])
    url = reverse("incident_edit", args=[incident.pk])
    alice_form = edit_data(alice_client, url)
    bob_form = edit_data(bob_client, url)

    alice_form["causes-0-description"] = "A node pool was replaced without its DNS cache"
    assert alice_client.post(url, alice_form).status_code == 302

    bob_form["title"] = "DNS timeouts on new nodes"
    response = bob_client.post(url, bob_form)
    html = response.content.decode()
    assert response.status_code == 409
    assert "Causes" in html and "without its DNS cache" in html  # the conflict lists it

    # Saving from the conflict page as it stands keeps both people's work.
    assert bob_client.post(url, response.context["form"].data).status_code == 302
    incident.refresh_from_db()
    assert incident.title == "DNS timeouts on new nodes"
    assert [c.description for c in incident.causes.all()] == [
        "A node pool was replaced without its DNS cache"
    ]


def test_changing_only_causes_through_the_api_conflicts_like_a_title_change(
    alice_client: Client,
) -> None:
    incident = IncidentFactory()
    url = f"/api/incidents/{incident.pk}/"
    first = alice_client.patch(
        url, {"version": 1, "causes": [{"description": "first"}]}, content_type="application/json"
    )
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = alice_client.patch(
        url, {"version": 1, "timeline": [{"at": "2025-01-01T00:00:00Z", "text": "late"}]},
        content_type="application/json",
    )  # fmt: skip
    assert stale.status_code == 409
    assert [c["description"] for c in stale.json()["current"]["causes"]] == ["first"]
    assert Incident.objects.get().timeline.count() == 0


def test_history_shows_changes_of_causes_timeline_categories_and_services(
    alice_client: Client,
) -> None:
    created = alice_client.post(
        "/api/incidents/",
        {"title": "Pods pending", "started_at": "2025-01-01T10:00:00Z"},
        content_type="application/json",
    ).json()
    alice_client.patch(
        f"/api/incidents/{created['id']}/",
        {
            "version": 1, "categories": ["Scheduling > IAM"], "services": ["kube-scheduler"],
            "causes": [{"kind": "trigger", "description": "IAM rate limit"}],
            "timeline": [{"at": "2025-01-01T10:05:00Z", "text": "Pods stuck in Pending"}],
        },
        content_type="application/json",
    )  # fmt: skip
    html = alice_client.get(reverse("incident_history", args=[created["id"]])).content.decode()
    for label in ("Failure modes", "Services", "Causes", "Timeline"):
        assert f"<dt>{label}" in html
    assert "Scheduling &gt; IAM" in html and "kube-scheduler" in html
    assert "Trigger: IAM rate limit" in html and "Pods stuck in Pending" in html


def test_an_incident_with_the_most_timeline_entries_saves_from_the_form(
    alice_client: Client,
) -> None:
    from incidents.records import MAX_TIMELINE

    incident = IncidentFactory(title="Long night")
    url = reverse("incident_edit", args=[incident.pk])
    data = edit_data(alice_client, url)
    data.update({"timeline-TOTAL_FORMS": str(MAX_TIMELINE), "timeline-INITIAL_FORMS": "0"})
    for n in range(MAX_TIMELINE):
        data[f"timeline-{n}-at"] = f"2025-01-01T{n // 60 % 24:02d}:{n % 60:02d}"
        data[f"timeline-{n}-text"] = f"step {n}"
    response = alice_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Incident.objects.get().timeline.count() == MAX_TIMELINE
    data["timeline-TOTAL_FORMS"] = str(MAX_TIMELINE + 1)
    data[f"timeline-{MAX_TIMELINE}-at"], data[f"timeline-{MAX_TIMELINE}-text"] = (
        "2025-01-02T00:00",
        "one more",
    )
    data["version"] = "2"
    response = alice_client.post(url, data)
    assert response.status_code == 400
    assert f"the limit is {MAX_TIMELINE}" in response.content.decode()
