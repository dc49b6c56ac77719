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

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("writes")]

NOW = timezone.now().replace(microsecond=0)


def days(n: int) -> datetime.datetime:
    return NOW + datetime.timedelta(days=n)


# remediation on, kind, status, opened (days), done (days) | incident in, via, started (days)
# | link, flag
MATRIX = [
    ("open, opened before the incident: linked", "A", "prevent", "open", -10, None, "A", "category", -5, True, False),
    ("in progress, opened before: linked", "A", "prevent", "in_progress", -10, None, "A", "category", -5, True, False),
    ("open but opened after the incident started: nothing", "A", "prevent", "open", -1, None, "A", "category", -5, False, False),
    ("prevent done before the incident started: flag", "A", "prevent", "done", -30, -10, "A", "category", -5, False, True),
    ("mitigate done before the incident started: flag", "A", "mitigate", "done", -30, -10, "A", "category", -5, False, True),
    ("detect done before: no promise broken, nothing", "A", "detect", "done", -30, -10, "A", "category", -5, False, False),
    ("process done before: no promise broken, nothing", "A", "process", "done", -30, -10, "A", "category", -5, False, False),
    ("detect still open: linked all the same", "A", "detect", "open", -10, None, "A", "category", -5, True, False),
    ("done after the incident started: it was open then, linked", "A", "prevent", "done", -30, -1, "A", "category", -5, True, False),
    ("done on a parent category: covers the sub-category, flag", "A", "prevent", "done", -30, -10, "A > B", "category", -5, False, True),
    ("open on a parent category: linked", "A", "prevent", "open", -30, None, "A > B", "category", -5, True, False),
    ("done on a sub-category: does not cover the parent", "A > B", "prevent", "done", -30, -10, "A", "category", -5, False, False),
    ("classified only through a cause: flag", "A", "prevent", "done", -30, -10, "A", "cause", -5, False, True),
    ("won't do: neither", "A", "prevent", "wont_do", -30, None, "A", "category", -5, False, False),
    ("another failure mode: neither", "C", "prevent", "done", -30, -10, "A", "category", -5, False, False),
    ("done exactly when the incident started: not before, no flag", "A", "prevent", "done", -30, -5, "A", "category", -5, True, False),
]  # fmt: skip


@pytest.mark.parametrize(
    (
        "remediation_on",
        "kind",
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
    remediation_on: str, kind: str, status: str, opened: int, done: int | None,
    incident_in: str, via: str, started: int, linked: bool, flagged: bool,
) -> None:  # fmt: skip
    remediation = RemediationFactory(
        category=get_or_create_category(remediation_on), kind=kind, status=status,
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
    flags = RecurrenceFlag.objects.filter(incident=incident)
    assert flags.exists() == flagged
    if flagged:
        flag = flags.get()
        assert flag.state == FlagState.OPEN and flag.outcome is None
        assert flag.category == category
        assert list(flag.remediations.all()) == [remediation]


def _fix(path: str, *, done: int = -10, kind: str = "prevent", title: str = "") -> Any:
    return RemediationFactory(
        category=get_or_create_category(path), kind=kind, status="done",
        opened_at=days(done - 20), done_at=days(done), **({"title": title} if title else {}),
    )  # fmt: skip


def _incident(*paths: str, started: int = -5, causes: tuple[str, ...] = ()) -> Any:
    incident = IncidentFactory(
        started_at=days(started), categories=[get_or_create_category(p) for p in paths]
    )
    for path in causes:
        Cause.objects.create(
            incident=incident, description="why", category=get_or_create_category(path)
        )
    evaluate([incident.pk])
    return incident


def _flags(incident: Any) -> dict[str, list[str]]:
    """Flags of an incident as {category path: [titles of the named fixes]}."""
    return {
        flag.category.path: sorted(fix.title for fix in flag.remediations.all())
        for flag in RecurrenceFlag.objects.filter(incident=incident).exclude(state="cleared")
    }


def test_one_flag_names_every_done_fix_covering_the_mode() -> None:
    _fix("Control plane", title="Alert on quorum loss", kind="detect")
    _fix("Control plane", title="Run etcd on five members")
    _fix("Control plane > etcd", title="Move etcd to local NVMe", kind="mitigate")
    _fix("Control plane > etcd", title="Defragment nightly", done=-1)  # after the incident
    incident = _incident("Control plane > etcd")
    assert _flags(incident) == {
        "Control plane > etcd": ["Move etcd to local NVMe", "Run etcd on five members"]
    }


def test_on_one_branch_only_the_narrowest_mode_is_flagged() -> None:
    _fix("Control plane", title="Run etcd on five members")
    _fix("Control plane > etcd", title="Move etcd to local NVMe")
    incident = _incident("Control plane", "Control plane > etcd", causes=("Control plane",))
    assert _flags(incident) == {
        "Control plane > etcd": ["Move etcd to local NVMe", "Run etcd on five members"]
    }


def test_two_branches_get_a_flag_each() -> None:
    _fix("Control plane > etcd", title="Move etcd to local NVMe")
    _fix("Storage > EBS latency", title="Provisioned IOPS for etcd volumes")
    incident = _incident("Control plane > etcd", causes=("Storage > EBS latency",))
    assert _flags(incident) == {
        "Control plane > etcd": ["Move etcd to local NVMe"],
        "Storage > EBS latency": ["Provisioned IOPS for etcd volumes"],
    }


def test_the_kinds_that_raise_flags_are_configurable(settings: Any) -> None:
    settings.ONCE_RECURRENCE_KINDS = ["prevent"]
    _fix("Networking > DNS", title="Cache DNS on nodes", kind="mitigate")
    assert _flags(_incident("Networking > DNS")) == {}
    settings.ONCE_RECURRENCE_KINDS = ["prevent", "mitigate", "detect"]
    _fix("Networking > DNS", title="Alert on SERVFAIL", kind="detect")
    assert _flags(_incident("Networking > DNS")) == {
        "Networking > DNS": ["Alert on SERVFAIL", "Cache DNS on nodes"]
    }


def test_a_fix_that_turns_detect_clears_the_flag_with_the_reason() -> None:
    fix = _fix("Networking > DNS", title="Cache DNS on nodes")
    incident = _incident("Networking > DNS")
    fix.kind = "detect"
    fix.save()
    evaluate([incident.pk])
    flag = RecurrenceFlag.objects.get()
    assert flag.state == FlagState.CLEARED
    assert "“Cache DNS on nodes” is a detect fix" in flag.reason


def test_a_narrower_classification_moves_the_flag_down() -> None:
    _fix("Control plane", title="Run etcd on five members")
    incident = _incident("Control plane")
    assert _flags(incident) == {"Control plane": ["Run etcd on five members"]}
    incident.categories.add(get_or_create_category("Control plane > etcd"))
    evaluate([incident.pk])
    assert _flags(incident) == {"Control plane > etcd": ["Run etcd on five members"]}
    old = RecurrenceFlag.objects.get(category__path="Control plane")
    assert old.state == FlagState.CLEARED and "narrower Control plane > etcd" in old.reason


def _recurrence() -> tuple[Any, Any, Any]:
    envoy = get_or_create_category("Networking > Envoy")
    remediation = RemediationFactory(
        category=envoy, kind="prevent", status="done", opened_at=days(-60), done_at=days(-30)
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
    assert flag.state == FlagState.CLEARED and "now started before “" in flag.reason


def test_a_decision_stands_while_the_recurrence_holds_and_comes_back_with_it() -> None:
    envoy, _, incident = _recurrence()
    RecurrenceFlag.objects.update(
        state=FlagState.ACKNOWLEDGED, outcome="partial", note="billing missed"
    )
    evaluate([incident.pk])
    assert RecurrenceFlag.objects.get().state == FlagState.ACKNOWLEDGED

    incident.categories.set([get_or_create_category("Networking > DNS")])
    evaluate([incident.pk])
    flag = RecurrenceFlag.objects.get()
    assert (flag.state, flag.outcome, flag.note) == (FlagState.CLEARED, "partial", "billing missed")

    incident.categories.set([envoy])
    changes = evaluate([incident.pk])
    flag.refresh_from_db()
    assert (flag.state, flag.outcome) == (FlagState.ACKNOWLEDGED, "partial")
    assert "decision made on it stands" in flag.reason
    assert changes.flags_raised == []  # nobody is told again about a decided recurrence


def test_moving_a_category_under_a_fixed_parent_raises_flags() -> None:
    networking = get_or_create_category("Networking")
    RemediationFactory(
        category=networking, kind="prevent", status="done", opened_at=days(-60), done_at=days(-30)
    )
    orphan = get_or_create_category("Proxies")
    incident = IncidentFactory(started_at=days(-2), categories=[orphan])
    evaluate([incident.pk])
    assert not RecurrenceFlag.objects.exists()
    orphan.parent = networking
    save_category(orphan, by=None)
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

    RemediationFactory(
        category=envoy, kind="prevent", status="done", opened_at=days(-60), done_at=days(-30)
    )
    RemediationFactory(category=envoy, status="open", opened_at=days(-60))
    few = queries_for_new_incident()
    for n in range(30):
        IncidentFactory(started_at=days(-3 - n), categories=[envoy])
        RemediationFactory(
            category=envoy, kind="prevent", status="done", opened_at=days(-90),
            done_at=days(-50 - n),
        )  # fmt: skip
        RemediationFactory(category=envoy, status="open", opened_at=days(-90))
    assert queries_for_new_incident() == few
