"""A week's worth of knowledge base for the review tests."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from incidents.actions import get_or_create_category
from remediations.models import RecurrenceFlag
from remediations.recurrence import evaluate
from reviews.weeks import Week
from tests.factories import IncidentFactory, RemediationFactory


@pytest.fixture
def week() -> Week:
    return Week.current()


def at(week: Week, days: float) -> datetime.datetime:
    """A moment `days` after the week's Monday 00:00 (negative: before the week)."""
    return week.starts_at + datetime.timedelta(days=days)


@pytest.fixture
def kb(db: Any, week: Week, alice: Any, bob: Any) -> dict[str, Any]:
    """New, unreviewed and reviewed incidents, a recurrence flag, and remediations due,
    overdue and done, spread around the current week."""
    etcd = get_or_create_category("Control plane > etcd")
    dns = get_or_create_category("Networking > DNS")
    get_or_create_category("Networking > Envoy")
    kb: dict[str, Any] = {"etcd": etcd, "dns": dns}
    kb["new_sev1"] = IncidentFactory(
        title="Checkout down",
        severity="SEV1",
        started_at=at(week, 1),
        categories=[etcd],
        status="investigating",
    )
    kb["new_sev3"] = IncidentFactory(
        title="Slow search",
        severity="SEV3",
        started_at=at(week, 2),
        categories=[dns],
        status="resolved",
    )
    kb["unreviewed"] = IncidentFactory(
        title="DNS timeouts last week", started_at=at(week, -5), categories=[dns], status="resolved"
    )
    kb["reviewed"] = IncidentFactory(
        title="Old and reviewed", started_at=at(week, -30), categories=[etcd], status="reviewed"
    )
    kb["fix"] = RemediationFactory(
        title="Defragment etcd nightly",
        category=etcd,
        status="done",
        owner=alice,
        opened_at=at(week, -60),
        done_at=at(week, -40),
    )
    evaluate([kb["new_sev1"].pk])  # the real engine raises the flag: etcd came back
    kb["flag"] = RecurrenceFlag.objects.get(incident=kb["new_sev1"], category=etcd)
    kb["overdue"] = RemediationFactory(
        title="Alert on DNS latency",
        category=dns,
        status="open",
        owner=bob,
        opened_at=at(week, -20),
        due_date=(at(week, -3)).date(),
    )
    kb["overdue_unowned"] = RemediationFactory(
        title="Write the runbook",
        status="in_progress",
        opened_at=at(week, -20),
        due_date=(at(week, -10)).date(),
    )
    kb["due"] = RemediationFactory(
        title="Upgrade CoreDNS",
        category=dns,
        status="open",
        owner=alice,
        opened_at=at(week, -5),
        due_date=(at(week, 4)).date(),
    )
    kb["done"] = RemediationFactory(
        title="Raise etcd quota",
        category=etcd,
        status="done",
        owner=alice,
        opened_at=at(week, -9),
        done_at=at(week, 1.5),
    )
    return kb
