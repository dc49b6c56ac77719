"""Adding a failure mode or an owner from the incident form, in place (issue 15, item 2):
nothing typed is lost, and what was added is chosen at once."""

from __future__ import annotations

import re
from typing import Any

import pytest

from incidents.actions import get_or_create_category
from incidents.models import Incident
from remediations.models import Remediation
from tests.e2e.test_write_report import log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BODY = "## Impact\n\nEvery new connection was **dropped** for twenty minutes."


def test_adding_a_failure_mode_in_place_keeps_what_was_typed(page: Any) -> None:
    UserFactory(username="alice")
    get_or_create_category("Networking")
    log_in(page, "alice", "password")
    page.goto("/incidents/new/")
    page.fill("#id_title", "Conntrack table full on the edge nodes")
    page.fill("#id_body", BODY)
    page.locator("#body-preview strong", has_text="dropped").wait_for()
    form_url = page.url

    page.click("text=Add a failure mode")
    dialog = page.locator("dialog#add-mode")
    dialog.locator("#id_mode-name").fill("Conntrack table full")
    dialog.locator("#id_mode-parent").select_option(label="Networking")
    dialog.locator("button:has-text('Add the failure mode')").click()
    dialog.wait_for(state="hidden")

    # No reload, no other tab: the same page, the text as typed, and the new mode chosen.
    assert page.url == form_url and len(page.context.pages) == 1
    assert page.input_value("#id_title") == "Conntrack table full on the edge nodes"
    assert page.input_value("#id_body") == BODY
    mode = page.get_by_label("Networking > Conntrack table full", exact=True)
    assert mode.is_checked()
    # It can be a cause's failure mode too, and the knowledge-base panel asked about it.
    causes = page.locator("#id_causes-0-category option", has_text="Conntrack table full")
    assert causes.count() == 1
    page.locator("#category-context", has_text="Conntrack table full").wait_for()

    page.fill("#id_started_at", "2026-11-20T10:00")
    page.click("button:has-text('Create incident')")
    page.wait_for_url(re.compile(r"/incidents/\d+/$"))
    incident = Incident.objects.get(title="Conntrack table full on the edge nodes")
    assert [c.path for c in incident.categories.all()] == ["Networking > Conntrack table full"]
    assert incident.body == BODY


@pytest.mark.browser_logs("status of 400 (Bad Request)")  # the refusal, answered 400
def test_a_refused_failure_mode_says_why_in_the_dialog(page: Any) -> None:
    UserFactory(username="alice")
    get_or_create_category("Networking")
    log_in(page, "alice", "password")
    page.goto("/incidents/new/")
    page.fill("#id_title", "Typed before")
    page.click("text=Add a failure mode")
    dialog = page.locator("dialog#add-mode")
    dialog.locator("#id_mode-name").fill("Networking")
    dialog.locator("button:has-text('Add the failure mode')").click()
    dialog.get_by_text("There is already a category “Networking”.").wait_for()
    dialog.locator("button:has-text('Cancel')").click()
    dialog.wait_for(state="hidden")
    assert page.input_value("#id_title") == "Typed before"


def test_staff_add_an_owner_in_place_and_it_is_chosen(page: Any) -> None:
    UserFactory(username="alice", is_staff=True)
    log_in(page, "alice", "password")
    page.goto("/incidents/new/")
    page.fill("#id_title", "Disk full on the build hosts")
    page.fill("#id_started_at", "2026-11-20T10:00")
    page.fill("#id_remediations-0-title", "Alert at 80% disk")
    page.click("text=Add a person")
    dialog = page.locator("dialog#add-person")
    dialog.locator("#id_person-username").fill("dave")
    dialog.locator("button:has-text('Add the person')").click()
    dialog.wait_for(state="hidden")
    assert page.input_value("#id_remediations-0-owner") == "dave"
    assert page.input_value("#id_remediations-0-title") == "Alert at 80% disk"
    page.click("button:has-text('Create incident')")
    page.wait_for_url(re.compile(r"/incidents/\d+/$"))
    assert Remediation.objects.get(title="Alert at 80% disk").owner.username == "dave"


def test_a_writer_who_isnt_staff_reads_who_can_add_people(page: Any) -> None:
    UserFactory(username="alice")
    log_in(page, "alice", "password")
    page.goto("/incidents/new/")
    page.fill("#id_title", "Typed before")
    page.click("text=Add a person")
    dialog = page.locator("dialog#add-person")
    dialog.get_by_text("Only staff can add people to Once.").wait_for()
    dialog.locator("button:has-text('Close')").click()
    dialog.wait_for(state="hidden")
    assert page.input_value("#id_title") == "Typed before"


@pytest.mark.browser_logs("status of 400 (Bad Request)")  # the refusal, answered 400
def test_an_unknown_owner_on_the_incident_form_is_explained_kept_and_staff_can_add_them(
    page: Any,
) -> None:
    UserFactory(username="alice", is_staff=True)
    log_in(page, "alice", "password")
    page.goto("/incidents/new/")
    page.fill("#id_title", "Disk full on the build hosts")
    page.fill("#id_started_at", "2026-11-20T10:00")
    page.fill("#id_remediations-0-title", "Alert at 80% disk")
    page.fill("#id_remediations-0-owner", "mallory")
    page.click("button:has-text('Create incident')")
    page.get_by_text("Nobody is called “mallory” in Once.").wait_for()
    assert page.input_value("#id_remediations-0-owner") == "mallory"
    assert page.locator(".hint.add-person a", has_text="Add a person").count() == 1
    # Added in place, the person is typed in and the incident saves.
    page.click("text=Owner not in the list? >> a")
    dialog = page.locator("dialog#add-person")
    dialog.locator("#id_person-username").fill("mallory")
    dialog.locator("button:has-text('Add the person')").click()
    dialog.wait_for(state="hidden")
    assert page.input_value("#id_remediations-0-owner") == "mallory"
    page.click("button:has-text('Create incident')")
    page.wait_for_url(re.compile(r"/incidents/\d+/$"))
    assert Remediation.objects.get(title="Alert at 80% disk").owner.username == "mallory"
