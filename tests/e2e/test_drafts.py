"""Nothing typed is lost (issue 15): a draft survives a reload, and leaving a form with
unsaved changes asks first — in a real browser."""

from __future__ import annotations

import re
from typing import Any

import pytest

from incidents.models import Incident
from reports.models import Draft
from tests.e2e.test_write_report import log_in
from tests.factories import IncidentFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_draft_survives_a_reload_and_can_be_discarded(page: Any) -> None:
    UserFactory(username="alice")
    log_in(page, "alice", "password")
    page.goto("/incidents/new/")
    page.click("#id_title")
    page.keyboard.type("Pods stuck in ContainerCreating")
    page.fill("#id_body", "## Impact\n\nNew pods could not start for 40 minutes.")
    page.locator("[data-draft-status]", has_text="Draft saved").wait_for()

    dialogs: list[str] = []

    def leave(dialog: Any) -> None:
        dialogs.append(dialog.type)
        dialog.accept()

    page.on("dialog", leave)
    page.reload()
    assert dialogs == ["beforeunload"]  # it asked before throwing the page away

    notice = page.locator(".draft-notice")
    assert "Restored your unsaved draft from" in notice.inner_text()
    assert page.input_value("#id_title") == "Pods stuck in ContainerCreating"
    assert "for 40 minutes" in page.input_value("#id_body")

    # Discard: the form starts afresh from the template, and nothing asks first.
    notice.get_by_role("button", name="Discard").click()
    page.locator("text=Draft discarded.").wait_for()
    assert page.input_value("#id_title") == ""
    assert "## Lessons learned" in page.input_value("#id_body")
    assert not Draft.objects.exists()
    assert dialogs == ["beforeunload"]


def test_leaving_with_unsaved_changes_asks_first_but_saving_does_not(page: Any) -> None:
    UserFactory(username="alice")
    incident = IncidentFactory(title="etcd lost quorum")
    log_in(page, "alice", "password")
    page.goto(f"/incidents/{incident.pk}/edit/")

    dialogs: list[str] = []

    def stay(dialog: Any) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.click("#id_title")
    page.keyboard.press("End")
    page.keyboard.type(" (second time)")
    page.get_by_role("link", name="Cancel").click()
    assert dialogs == ["beforeunload"]
    assert page.url.endswith(f"/incidents/{incident.pk}/edit/")  # stayed, text still there
    assert page.input_value("#id_title") == "etcd lost quorum (second time)"

    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(rf"/incidents/{incident.pk}/$"))
    assert dialogs == ["beforeunload"]  # saving didn't ask
    assert Incident.objects.get().title == "etcd lost quorum (second time)"
    assert not Draft.objects.exists()  # the autosaved draft went with the save
