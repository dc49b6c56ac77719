"""A fix from a restricted incident shares its visibility (PRODUCT.md, "Who may see and change
what"). When a public incident recurs in the fix's failure mode, charlie (outside the group)
must neither learn of that fix nor change it by triaging the public incident's flag."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from incidents.models import Incident
from remediations.actions import save_report
from remediations.models import RecurrenceFlag, Remediation
from remediations.records import clean_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def recurrence(
    hidden: Incident, charlie: User, django_capture_on_commit_callbacks: Callable[..., Any]
) -> RecurrenceFlag:
    """The hidden incident's fix is done; then charlie's public incident recurs in its mode."""
    fix = hidden.remediations.get()
    now = timezone.now()
    Remediation.objects.filter(pk=fix.pk).update(
        status="done",
        opened_at=now - datetime.timedelta(days=2),
        done_at=now - datetime.timedelta(days=1),
    )
    record = {"title": "It happened again", "started_at": now, "categories": [fix.category.path]}
    with django_capture_on_commit_callbacks(execute=True):
        save_report(Incident(), clean_report(record, by=charlie), by=charlie, expected_version=None)
    flag = RecurrenceFlag.objects.get()
    assert list(flag.fixes.values_list("remediation_id", flat=True)) == [fix.pk]
    return flag


def test_acknowledging_a_flag_does_not_name_a_fix_from_a_restricted_incident(
    recurrence: RecurrenceFlag, hidden: Incident, charlie_client: Client
) -> None:
    fix = hidden.remediations.get()
    answer = charlie_client.post(
        f"/api/flags/{recurrence.pk}/acknowledge/",
        {"outcome": "partial", "note": "Seen it."},
        content_type="application/json",
    )
    assert answer.status_code == 200
    assert answer.json()["remediations"] == [], "the answer names the hidden fix's id"
    assert fix.pk not in answer.json()["remediations"]


def test_an_outsiders_triage_does_not_mark_a_hidden_fix_as_regressed(
    recurrence: RecurrenceFlag, hidden: Incident, charlie_client: Client
) -> None:
    charlie_client.post(
        f"/api/flags/{recurrence.pk}/acknowledge/",
        {"outcome": "fix_did_not_hold", "note": "Did not hold."},
        content_type="application/json",
    )
    assert hidden.remediations.get().effectiveness != "regressed"


def test_no_open_flag_an_outsider_sees_exists_only_because_of_a_hidden_fix(
    recurrence: RecurrenceFlag, charlie_client: Client
) -> None:
    # The flag says "a fix did not hold" and names none: its count betrays the hidden fix.
    flags = charlie_client.get("/api/flags/?state=open").json()
    assert flags["count"] == 0, flags["results"]
