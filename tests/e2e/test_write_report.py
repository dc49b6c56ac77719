"""An engineer writes an incident report in a real browser, from login to the list."""

from __future__ import annotations

import re
from typing import Any

import pytest

from incidents.actions import get_or_create_category
from incidents.models import Incident
from remediations.models import Remediation
from tests.factories import IncidentFactory, RemediationFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page: Any, username: str, password: str) -> None:
    page.goto("/incidents/")
    assert "/accounts/login/" in page.url  # sent to the login page first
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/incidents/$"))


def test_writing_a_report_with_a_cause_and_a_remediation(page: Any) -> None:
    UserFactory(username="alice")
    iam = get_or_create_category("Containers don't start > IAM permissions")
    IncidentFactory(title="IAM throttling last spring", categories=[iam])
    RemediationFactory(title="Cache credentials on nodes", category=iam, status="in_progress")

    log_in(page, "alice", "password")
    page.click("text=New incident >> nth=0")
    page.wait_for_url("**/incidents/new/")
    # The report starts from the template, and its preview is already rendered.
    assert "## Lessons learned" in page.input_value("#id_body")

    page.fill("#id_title", "Pods stuck in ContainerCreating: IAM throttled")
    page.fill("#id_started_at", "2026-11-20T10:00")
    page.fill("#id_body", "## What broke\n\nNew pods could not get **credentials**.")
    # Live preview: rendered on the server by the sanitizing renderer, as you type.
    page.locator("#body-preview h2", has_text="What broke").wait_for()
    assert page.locator("#body-preview strong").inner_text() == "credentials"

    # Classifying shows what we already know about this failure mode.
    page.get_by_label("Containers don't start > IAM permissions", exact=True).check()
    context = page.locator("#category-context")
    context.get_by_text("IAM throttling last spring").wait_for()
    assert "Cache credentials on nodes" in context.inner_text()
    assert "already has open remediations" in context.inner_text()

    page.fill("#id_causes-0-description", "Every pod fetched credentials at start")
    page.select_option("#id_causes-0-kind", "root_cause")
    page.click("text=Add a timeline entry")
    page.fill("#id_timeline-0-at", "2026-11-20T10:00")
    page.fill("#id_timeline-0-text", "Scale-up begins")
    page.fill("#id_timeline-1-at", "2026-11-20T10:12")
    page.fill("#id_timeline-1-text", "CrashLoopBackOff alerts")
    page.fill("#id_remediations-0-title", "Jittered credential retries")
    page.click("button:has-text('Create incident')")

    page.wait_for_url(re.compile(r"/incidents/\d+/$"))
    incident = Incident.objects.get(title="Pods stuck in ContainerCreating: IAM throttled")
    assert page.locator("h1").inner_text().startswith(incident.reference)
    assert page.locator(".report h2").inner_text() == "What broke"
    assert "Every pod fetched credentials at start" in page.inner_text("body")
    assert [e.text for e in incident.timeline.all()] == [
        "Scale-up begins",
        "CrashLoopBackOff alerts",
    ]
    assert Remediation.objects.get(title="Jittered credential retries").incident == incident

    page.click("nav >> text=Incidents")
    page.locator("table.incidents").get_by_text(incident.title).wait_for()


def test_the_pages_fit_a_phone(page: Any) -> None:
    UserFactory(username="alice")
    IncidentFactory(title="A long incident title that has to wrap on a narrow phone screen")
    log_in(page, "alice", "password")
    page.set_viewport_size({"width": 360, "height": 740})
    for path in ["/incidents/", "/incidents/new/", "/remediations/", "/categories/"]:
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
