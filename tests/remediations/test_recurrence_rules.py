"""The recurrence rules of PRODUCT.md, as a table, and how they follow changing facts."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.actions import get_or_create_category, save_category
from incidents.models import Cause
from remediations.models import FlagState, RecurrenceFlag, RecurrenceLink
from remediations.recurrence import evaluate
from tests.factories import IncidentFactory, RemediationFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def days(n: int) -> datetime.datetime:
    return NOW + datetime.timedelta(days=n)


# remediation on, status, opened (days), done (days) | incident in, via, started (days) | link, flag
MATRIX = [
    ("open, opened before the incident: linked", "A", "open", -10, None, "A", "category", -5, True, False),
    ("in progress, opened before: linked", "A", "in_progress", -10, None, "A", "category", -5, True, False),
    ("open but opened after the incident started: nothing", "A", "open", -1, None, "A", "category", -5, False, False),
    ("done before the incident started: flag", "A", "done", -30, -10, "A", "category", -5, False, True),
    ("done after the incident started: it was open then, linked", "A", "done", -30, -1, "A", "category", -5, True, False),
    ("done on a parent category: covers the sub-category, flag", "A", "done", -30, -10, "A > B", "category", -5, False, True),
    ("open on a parent category: linked", "A", "open", -30, None, "A > B", "category", -5, True, False),
    ("done on a sub-category: does not cover the parent", "A > B", "done", -30, -10, "A", "category", -5, False, False),
    ("classified only through a cause: flag", "A", "done", -30, -10, "A", "cause", -5, False, True),
    ("won't do: neither", "A", "wont_do", -30, None, "A", "category", -5, False, False),
    ("another failure mode: neither", "C", "done", -30, -10, "A", "category", -5, False, False),
    ("done exactly when the incident started: not before, no flag", "A", "done", -30, -5, "A", "category", -5, True, False),
]  # fmt: skip


@pytest.mark.parametrize(
    (
        "remediation_on",
        "status",
        "opened",
        "done",
        "incident_in",
        "via",
        "started",
        "linked",
        "flagged",
    ),
    [case[1:] for case in MATRIX],
    ids=[case[0] for case in MATRIX],
)
def test_the_rules(
    remediation_on: str, status: str, opened: int, done: int | None, incident_in: str,
    via: str, started: int, linked: bool, flagged: bool,
) -> None:  # fmt: skip
    remediation = RemediationFactory(
        category=get_or_create_category(remediation_on), status=status,
        opened_at=days(opened), done_at=days(done) if done is not None else None,
    )  # fmt: skip
    category = get_or_create_category(incident_in)
    incident = IncidentFactory(started_at=days(started))
    if via == "category":
        incident.categories.add(category)
    else:
        Cause.objects.create(incident=incident, description="why", category=category)

    evaluate([incident.pk])

    assert (
        RecurrenceLink.objects.filter(incident=incident, remediation=remediation).exists() == linked
    )
    flags = RecurrenceFlag.objects.filter(incident=incident, remediation=remediation)
    assert flags.exists() == flagged
    if flagged:
        assert flags.get().state == FlagState.OPEN
        assert flags.get().category == category


def _recurrence() -> tuple[Any, Any, Any]:
    envoy = get_or_create_category("Networking > Envoy")
    remediation = RemediationFactory(
        category=envoy, status="done", opened_at=days(-60), done_at=days(-30)
    )
    incident = IncidentFactory(started_at=days(-2), categories=[envoy])
    evaluate([incident.pk])
    return envoy, remediation, incident


def test_a_flag_is_cleared_with_the_reason_and_reopened_never_deleted() -> None:
    envoy, remediation, incident = _recurrence()
    flag = RecurrenceFlag.objects.get()

    incident.categories.set([get_or_create_category("Networking > DNS")])
    evaluate([incident.pk])
    flag.refresh_from_db()
    assert flag.state == FlagState.CLEARED
    assert f"INC-{incident.pk} is no longer classified under Networking > Envoy" in flag.reason

    incident.categories.set([envoy])
    evaluate([incident.pk])
    flag.refresh_from_db()
    assert flag.state == FlagState.OPEN and "holds again" in flag.reason
    assert RecurrenceFlag.objects.count() == 1


def test_reopening_the_remediation_clears_the_flag_and_links_instead() -> None:
    _, remediation, incident = _recurrence()
    remediation.status, remediation.done_at = "in_progress", None
    remediation.save()
    evaluate([incident.pk])
    flag = RecurrenceFlag.objects.get()
    assert flag.state == FlagState.CLEARED
    assert "no longer done (now in progress)" in flag.reason
    assert RecurrenceLink.objects.filter(incident=incident, remediation=remediation).exists()


def test_moving_the_start_before_the_fix_clears_the_flag() -> None:
    _, _, incident = _recurrence()
    incident.started_at = days(-45)
    incident.save()
    evaluate([incident.pk])
    flag = RecurrenceFlag.objects.get()
    assert (
        flag.state == FlagState.CLEARED and "started before the remediation was done" in flag.reason
    )


def test_a_decision_stands_while_the_recurrence_holds() -> None:
    _, _, incident = _recurrence()
    RecurrenceFlag.objects.update(state=FlagState.ACKNOWLEDGED, note="billing missed")
    evaluate([incident.pk])
    assert RecurrenceFlag.objects.get().state == FlagState.ACKNOWLEDGED


def test_moving_a_category_under_a_fixed_parent_raises_flags() -> None:
    networking = get_or_create_category("Networking")
    RemediationFactory(category=networking, status="done", opened_at=days(-60), done_at=days(-30))
    orphan = get_or_create_category("Proxies")
    incident = IncidentFactory(started_at=days(-2), categories=[orphan])
    evaluate([incident.pk])
    assert not RecurrenceFlag.objects.exists()
    orphan.parent = networking
    save_category(orphan)
    evaluate([incident.pk])
    assert RecurrenceFlag.objects.get().category.path == "Networking > Proxies"


def test_evaluating_again_changes_nothing() -> None:
    _, _, incident = _recurrence()
    before = list(RecurrenceFlag.objects.values())
    changes = evaluate([incident.pk])
    assert list(RecurrenceFlag.objects.values()) == before
    assert changes.flags_raised == [] and changes.links_added == 0


def test_one_evaluation_costs_the_same_queries_whatever_the_history() -> None:
    envoy = get_or_create_category("Networking > Envoy")

    def queries_for_new_incident() -> int:
        incident = IncidentFactory(started_at=days(-1), categories=[envoy])
        with CaptureQueriesContext(connection) as captured:
            evaluate([incident.pk])
        return len(captured)

    RemediationFactory(category=envoy, status="done", opened_at=days(-60), done_at=days(-30))
    RemediationFactory(category=envoy, status="open", opened_at=days(-60))
    few = queries_for_new_incident()
    for n in range(30):
        IncidentFactory(started_at=days(-3 - n), categories=[envoy])
        RemediationFactory(
            category=envoy, status="done", opened_at=days(-90), done_at=days(-50 - n)
        )
        RemediationFactory(category=envoy, status="open", opened_at=days(-90))
    assert queries_for_new_incident() == few
