"""The upgrade to one flag per (incident, failure mode): no decision a person made is lost."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from incidents.actions import get_or_create_category
from remediations.models import RecurrenceFlag
from remediations.tasks import reconcile_recurrences
from tests.factories import IncidentFactory, UserFactory

BEFORE = [("remediations", "0004_flag_claims_to_delivery_log")]
NOW = timezone.now().replace(microsecond=0)


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest() -> Any:
    return _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.fixture
def old(transactional_db: Any) -> Iterator[Any]:
    apps = _migrate(BEFORE)
    try:
        yield apps
    finally:
        _latest()


def _fix(old: Any, title: str, category: Any, kind: str = "prevent") -> Any:
    return old.get_model("remediations", "Remediation").objects.create(
        version=1, title=title, kind=kind, status="done", category_id=category.pk,
        opened_at=NOW - datetime.timedelta(days=60), done_at=NOW - datetime.timedelta(days=30),
    )  # fmt: skip


def test_flags_of_one_incident_and_mode_become_one_keeping_the_decisions(old: Any) -> None:
    alice = UserFactory(username="alice")
    dns = get_or_create_category("Networking > DNS")
    cache, limits, alert = (
        _fix(old, "Node-local DNS cache", dns),
        _fix(old, "Raise CoreDNS limits", dns, "mitigate"),
        _fix(old, "Alert on SERVFAIL", dns, "detect"),
    )
    incident = IncidentFactory(started_at=NOW - datetime.timedelta(days=1), categories=[dns])
    Flag = old.get_model("remediations", "RecurrenceFlag")

    def flag(fix: Any, state: str = "open", note: str = "", decided: int = 0) -> Any:
        return Flag.objects.create(
            incident_id=incident.pk, category_id=dns.pk, remediation_id=fix.pk, state=state,
            note=note, raised_at=NOW - datetime.timedelta(hours=5),
            resolved_at=NOW - datetime.timedelta(hours=decided) if decided else None,
            resolved_by_id=alice.pk if decided else None,
        )  # fmt: skip

    acknowledged = flag(cache, "acknowledged", "The cache missed external names.", decided=3)
    flag(limits)
    flag(alert, "dismissed", "Alerting never promised this.", decided=4)
    lone = IncidentFactory(started_at=NOW - datetime.timedelta(days=2), categories=[dns])
    untouched = Flag.objects.create(
        incident_id=lone.pk, category_id=dns.pk, remediation_id=cache.pk
    )

    _latest()

    merged = RecurrenceFlag.objects.get(incident=incident)
    # The latest decision is kept (an acknowledgement confirmed that the fix did not hold),
    # with every note, and the flag names all three fixes.
    assert merged.pk == acknowledged.pk
    assert (merged.state, merged.outcome, merged.resolved_by) == (
        "acknowledged",
        "fix_did_not_hold",
        alice,
    )
    assert merged.note == "Alerting never promised this.\n\nThe cache missed external names."
    assert sorted(f.title for f in merged.remediations.all()) == [
        "Alert on SERVFAIL",
        "Node-local DNS cache",
        "Raise CoreDNS limits",
    ]
    other = RecurrenceFlag.objects.get(incident=lone)
    assert (other.pk, other.state, other.outcome) == (untouched.pk, "open", None)

    # The new rule, applied by the next reconciliation: the detect fix is no longer named,
    # and the person's decision stands.
    reconcile_recurrences.run(full=True)
    merged.refresh_from_db()
    assert sorted(f.title for f in merged.remediations.all()) == [
        "Node-local DNS cache",
        "Raise CoreDNS limits",
    ]
    assert (merged.state, merged.outcome) == ("acknowledged", "fix_did_not_hold")


def test_the_downgrade_splits_flags_per_remediation_again(old: Any) -> None:
    dns = get_or_create_category("Networking > DNS")
    cache, limits = _fix(old, "Node-local DNS cache", dns), _fix(old, "Raise limits", dns)
    incident = IncidentFactory(started_at=NOW - datetime.timedelta(days=1), categories=[dns])
    Flag = old.get_model("remediations", "RecurrenceFlag")
    for fix in (cache, limits):
        Flag.objects.create(incident_id=incident.pk, category_id=dns.pk, remediation_id=fix.pk)
    _latest()
    assert RecurrenceFlag.objects.count() == 1
    back = _migrate(BEFORE)
    rows = back.get_model("remediations", "RecurrenceFlag").objects.order_by("remediation_id")
    assert [(r.remediation_id, r.state) for r in rows] == [(cache.pk, "open"), (limits.pk, "open")]
