"""Writing an incident report in the browser: create, validate, keep what was typed."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from incidents.models import Incident
from remediations.models import Remediation
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db


def incident_post(**overrides: Any) -> dict[str, Any]:
    """A complete New-incident submission as the browser sends it."""
    data: dict[str, Any] = {
        "title": "etcd lost quorum",
        "summary": "Two members down.",
        "severity": "SEV2",
        "status": "resolved",
        "started_at": "2026-03-02T14:05",
        "detected_at": "2026-03-02T14:10",
        "resolved_at": "2026-03-02T16:40",
        "services_text": "etcd, EBS",
        "body": "## Impact\n\nDeploys failed.",
        "causes-TOTAL_FORMS": "1", "causes-INITIAL_FORMS": "0",
        "causes-0-kind": "trigger", "causes-0-description": "EBS volume degraded",
        "timeline-TOTAL_FORMS": "1", "timeline-INITIAL_FORMS": "0",
        "timeline-0-at": "2026-03-02T14:05", "timeline-0-text": "Latency rises",
        "remediations-TOTAL_FORMS": "1", "remediations-INITIAL_FORMS": "0",
        "remediations-0-title": "Move etcd to io2", "remediations-0-kind": "prevent",
        "remediations-0-status": "open",
    }  # fmt: skip
    data.update(overrides)
    return data


def test_new_incident_starts_from_the_report_template(alice_client: Client) -> None:
    html = alice_client.get(reverse("incident_create")).content.decode()
    for heading in ["Impact", "Detection", "Resolution", "What went well", "What went wrong",
                    "Where we got lucky", "Lessons learned"]:  # fmt: skip
        assert f"## {heading}" in html


def test_the_template_asks_for_nothing_the_form_has_a_field_for(alice_client: Client) -> None:
    response = alice_client.get(reverse("incident_create"))
    body = response.context["form"].initial["body"]
    # Summary, Timeline and Causes have inputs of their own on the same page.
    for heading in ["Summary", "Timeline", "Root causes", "Causes", "Trigger"]:
        assert f"## {heading}\n" not in body


def test_it_creates_an_incident_with_causes_timeline_and_remediation(
    alice_client: Client, alice: Any
) -> None:
    category = CategoryFactory(name="etcd")
    response = alice_client.post(
        reverse("incident_create"), incident_post(categories=[category.pk])
    )
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == incident.get_absolute_url()
    assert incident.author == alice
    assert incident.version == 1
    assert [c.path for c in incident.categories.all()] == ["etcd"]
    assert sorted(s.name for s in incident.services.all()) == ["EBS", "etcd"]
    assert incident.causes.get().description == "EBS volume degraded"
    assert incident.timeline.get().text == "Latency rises"
    remediation = Remediation.objects.get()
    assert remediation.incident == incident and remediation.created_by == alice

    page = alice_client.get(incident.get_absolute_url()).content.decode()
    assert "<h2>Impact</h2>" in page  # the report is rendered
    assert "EBS volume degraded" in page and "Latency rises" in page and "Move etcd to io2" in page
    assert f"INC-{incident.pk}" in page


def test_errors_rerender_with_everything_typed(alice_client: Client) -> None:
    data = incident_post(title="", detected_at="2026-03-02T13:00", body="## My careful notes")
    response = alice_client.post(reverse("incident_create"), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert Incident.objects.count() == 0
    assert "This field is required." in html
    assert "An incident can&#x27;t be detected before it started." in html
    assert "## My careful notes" in html
    assert "EBS volume degraded" in html and "Latency rises" in html and "Move etcd to io2" in html
    assert 'value="etcd, EBS"' in html


def test_resolved_before_detected_is_explained(alice_client: Client) -> None:
    response = alice_client.post(
        reverse("incident_create"), incident_post(resolved_at="2026-03-02T14:07")
    )
    assert "resolved before it was detected" in response.content.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [("severity", "SEV9"), ("status", "closed"), ("causes-0-kind", "gremlins"),
     ("remediations-0-kind", "pray"), ("remediations-0-status", "maybe")],
)  # fmt: skip
def test_values_outside_their_lists_are_refused(
    alice_client: Client, field: str, value: str
) -> None:
    response = alice_client.post(reverse("incident_create"), incident_post(**{field: value}))
    assert response.status_code == 400
    assert f"Select a valid choice. {value} is not one of the available choices." in (
        response.content.decode()
    )
    assert Incident.objects.count() == 0


def test_an_oversized_report_is_refused_with_the_limit(alice_client: Client, settings: Any) -> None:
    settings.ONCE_MAX_REPORT_CHARS = 1000
    response = alice_client.post(reverse("incident_create"), incident_post(body="x" * 1001))
    assert response.status_code == 400
    assert "the limit is 1,000" in response.content.decode()


def test_live_preview_renders_sanitized_markdown(alice_client: Client) -> None:
    response = alice_client.post(
        reverse("markdown_preview") + "?field=body",
        {"body": "## Heading\n\n<script>alert(1)</script>[x](javascript:alert(1))"},
    )
    html = response.content.decode()
    assert "<h2>Heading</h2>" in html
    assert "<script" not in html and "javascript:" not in html


def test_choosing_a_category_shows_its_earlier_incidents_and_open_remediations(
    alice_client: Client,
) -> None:
    from tests.factories import IncidentFactory, RemediationFactory

    parent = CategoryFactory(name="Networking")
    child = CategoryFactory(name="DNS", parent=parent)
    IncidentFactory(title="CoreDNS overloaded", categories=[child])
    RemediationFactory(title="Node-local DNS cache", category=parent, status="in_progress")
    RemediationFactory(title="Already done thing", category=parent, status="done",
                       done_at="2030-01-01T00:00Z")  # fmt: skip
    html = alice_client.get(
        reverse("category_context"), {"categories": [child.pk]}
    ).content.decode()
    assert "CoreDNS overloaded" in html
    assert "already has open remediations" in html
    assert "Node-local DNS cache" in html  # on the parent: it covers DNS
    assert "Already done thing" not in html
