"""An incident's existing remediations are edited from its form, through the same action
(remediations.actions.save_report → save_remediation), each against its own version (issue 15)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from incidents.models import Incident
from remediations.models import Remediation
from tests.factories import IncidentFactory, RemediationFactory, UserFactory

pytestmark = pytest.mark.django_db


def form_data(client: Client, incident: Incident) -> dict[str, Any]:
    """The edit form as the browser would send it untouched."""
    response = client.get(f"/incidents/{incident.pk}/edit/")
    form = response.context["existing"]
    data: dict[str, Any] = {
        "title": incident.title, "summary": incident.summary, "severity": incident.severity,
        "status": incident.status, "started_at": incident.started_at.strftime("%Y-%m-%dT%H:%M:%S"),
        "body": incident.body, "version": str(incident.version),
        "causes-TOTAL_FORMS": "0", "causes-INITIAL_FORMS": "0",
        "timeline-TOTAL_FORMS": "0", "timeline-INITIAL_FORMS": "0",
        "remediations-TOTAL_FORMS": "0", "remediations-INITIAL_FORMS": "0",
        "existing-TOTAL_FORMS": str(len(form.forms)),
        "existing-INITIAL_FORMS": str(len(form.forms)),
    }  # fmt: skip
    for f in form.forms:
        for name in f.fields:
            value = f.initial.get(name)
            data[f"{f.prefix}-{name}"] = "" if value is None else str(value)
    return data


def test_the_form_shows_the_incidents_remediations(alice_client: Client) -> None:
    incident = IncidentFactory()
    RemediationFactory(incident=incident, title="Alert on disk latency")
    RemediationFactory(title="Someone else's")
    html = alice_client.get(f"/incidents/{incident.pk}/edit/").content.decode()
    assert 'value="Alert on disk latency"' in html
    assert "Someone else" not in html


def test_a_remediation_is_edited_from_the_incident_form(alice_client: Client, alice: Any) -> None:
    incident = IncidentFactory()
    fix = RemediationFactory(incident=incident, title="Alert on disk latency")
    bob = UserFactory(username="bob")
    data = form_data(alice_client, incident)
    data.update({"existing-0-title": "Alert on p99 disk latency", "existing-0-status": "done",
                 "existing-0-owner": "bob"})  # fmt: skip
    response = alice_client.post(f"/incidents/{incident.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()
    fix.refresh_from_db()
    assert (fix.title, fix.status, fix.owner, fix.version) == (
        "Alert on p99 disk latency",
        "done",
        bob,
        2,
    )
    assert fix.done_at is not None  # the action set it in step with the status
    # It went through the action: its history has the new version by alice.
    assert fix.history.latest().history_user == alice


def test_untouched_remediations_get_no_new_version(alice_client: Client) -> None:
    incident = IncidentFactory()
    fix = RemediationFactory(incident=incident, title="Alert on disk latency")
    data = form_data(alice_client, incident)
    data["title"] = "A new title for the incident"
    assert alice_client.post(f"/incidents/{incident.pk}/edit/", data).status_code == 302
    fix.refresh_from_db()
    assert fix.version == 1


def test_a_remediation_changed_meanwhile_is_a_conflict_that_keeps_what_was_typed(
    alice_client: Client, bob_client: Client
) -> None:
    incident = IncidentFactory()
    fix = RemediationFactory(incident=incident, title="Alert on disk latency")
    data = form_data(alice_client, incident)
    # Bob changes the remediation on its own page meanwhile.
    bob_data = {
        "title": fix.title, "kind": fix.kind, "status": "in_progress",
        "opened_at": fix.opened_at.strftime("%Y-%m-%dT%H:%M:%S"), "version": str(fix.version),
    }  # fmt: skip
    response = bob_client.post(f"/remediations/{fix.pk}/edit/", bob_data)
    assert response.status_code == 302, response.content.decode()
    assert Remediation.objects.get().status == "in_progress"

    data["existing-0-title"] = "Alice's better title"
    data["title"] = "Alice's incident title"
    response = alice_client.post(f"/incidents/{incident.pk}/edit/", data)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone saved the remediation" in html and "in progress" in html
    assert 'value="Alice&#x27;s better title"' in html
    # Nothing of Alice's was saved, the incident included.
    fix.refresh_from_db()
    assert fix.title == "Alert on disk latency"
    assert Incident.objects.get().title != "Alice's incident title"
    # Saving again, from the page as it came back, goes through.
    version = re.search(r'name="existing-0-version" value="(\d+)"', html)
    assert version is not None and version.group(1) == str(fix.version)
    data["existing-0-version"] = version.group(1)
    assert alice_client.post(f"/incidents/{incident.pk}/edit/", data).status_code == 302
    fix.refresh_from_db()
    assert fix.title == "Alice's better title"


def test_a_bad_edit_is_refused_beside_its_row(alice_client: Client) -> None:
    incident = IncidentFactory()
    fix = RemediationFactory(incident=incident, title="Alert on disk latency")
    data = form_data(alice_client, incident)
    data["existing-0-title"] = ""
    response = alice_client.post(f"/incidents/{incident.pk}/edit/", data)
    assert response.status_code == 400
    assert "required" in response.content.decode()
    fix.refresh_from_db()
    assert fix.title == "Alert on disk latency"


def test_another_incidents_remediation_cant_be_edited_through_this_form(
    alice_client: Client,
) -> None:
    incident = IncidentFactory()
    RemediationFactory(incident=incident, title="Mine")
    other = RemediationFactory(incident=IncidentFactory(), title="Not this incident's")
    data = form_data(alice_client, incident)
    data.update({"existing-0-id": str(other.pk), "existing-0-title": "Hijacked"})
    response = alice_client.post(f"/incidents/{incident.pk}/edit/", data)
    assert response.status_code == 400
    assert "no longer a remediation of this incident" in response.content.decode()
    other.refresh_from_db()
    assert other.title == "Not this incident's"


def test_a_form_sent_without_the_remediation_rows_leaves_them_alone(
    alice_client: Client,
) -> None:
    incident = IncidentFactory()
    fix = RemediationFactory(incident=incident, title="Alert on disk latency")
    data = form_data(alice_client, incident)
    data = {k: v for k, v in data.items() if not k.startswith("existing-")}
    assert alice_client.post(f"/incidents/{incident.pk}/edit/", data).status_code == 302
    fix.refresh_from_db()
    assert (fix.title, fix.version) == ("Alert on disk latency", 1)


def test_a_mangled_row_is_refused_not_a_crash(alice_client: Client) -> None:
    incident = IncidentFactory()
    RemediationFactory(incident=incident, title="Mine")
    data = form_data(alice_client, incident)
    data.update({"existing-0-id": "abc", "existing-0-version": "²", "existing-0-title": "New"})
    response = alice_client.post(f"/incidents/{incident.pk}/edit/", data)
    assert response.status_code == 400
    assert "Enter a whole number." in response.content.decode()
