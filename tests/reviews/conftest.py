"""A week's worth of knowledge base for the review tests."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from common.validation import Errors
from gamedays.actions import save_game_day
from gamedays.models import GameDay
from gamedays.records import clean_game_day
from incidents.actions import get_or_create_category
from remediations import effectiveness
from remediations.models import RecurrenceFlag
from remediations.recurrence import evaluate
from reviews.weeks import Week
from tests.clock import Clock
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


def game_day(
    title: str, when: datetime.datetime, scenarios: list[dict[str, Any]], **fields: Any
) -> GameDay:
    """A game day saved through its one write path; scenarios are on etcd unless they say."""
    raw = {"title": title, "scheduled_at": when, **fields,
           "scenarios": [{"category": "Control plane > etcd", "injection": "Terminate a member",
                          **s} for s in scenarios]}  # fmt: skip
    errors = Errors()
    record = clean_game_day(raw, errors)
    errors.raise_if_any()
    saved = GameDay()
    save_game_day(saved, record, by=None, expected_version=None)
    return saved


@pytest.fixture
def drills(kb: dict[str, Any], week: Week, clock: Clock) -> dict[str, Any]:
    """Game days around the week: two this week (one done, whose scenarios held, failed and
    were aborted; one planned), one last week whose scenario failed, one next week; and done
    fixes, one of them still awaiting verification.

    The clock stands at the week's Sunday noon while they are recorded: results of the week's
    scenarios are in the past whatever day the suite runs (a result can't be dated ahead of
    the clock).
    """
    real_now, clock.now = clock.now, max(clock.now, at(week, 6.5))
    config = get_or_create_category("Configuration > Invalid configuration push")
    drills: dict[str, Any] = {
        "canary": RemediationFactory(
            title="Canary config pushes", kind="prevent", category=config, status="done",
            opened_at=at(week, -90), done_at=at(week, -50),
        ),
        "untested": RemediationFactory(
            title="Validate configs in CI", kind="mitigate", category=config, status="done",
            opened_at=at(week, -60), done_at=at(week, -20),
        ),
        "detect": RemediationFactory(
            title="Alert on config push errors", kind="detect", category=config, status="done",
            opened_at=at(week, -60), done_at=at(week, -20),
        ),
    }  # fmt: skip
    effectiveness.assess(r.pk for r in drills.values())
    fix = kb["fix"].pk
    drills["earlier"] = game_day("Last week's drill", at(week, -4), [
        {"title": "Fill the etcd disk", "outcome": "failed", "ran_at": at(week, -4),
         "verifies": [fix]},
    ], status="done")  # fmt: skip
    drills["done"] = game_day("Break etcd and the config path", at(week, 1), [
        {"title": "Terminate the etcd leader", "outcome": "held", "ran_at": at(week, 1),
         "verifies": [fix]},
        {"title": "Push a valid but wrong route", "category": config.path, "outcome": "failed",
         "ran_at": at(week, 1.1), "verifies": [drills["canary"].pk]},
        {"title": "Kill the config server", "category": config.path, "outcome": "aborted",
         "ran_at": at(week, 1.2)},
    ], status="done")  # fmt: skip
    drills["planned"] = game_day(
        "Evict every pod", at(week, 3), [{"title": "Drain every node at once"}]
    )
    drills["next"] = game_day("Next week's drill", at(week, 8), [{"title": "Later"}])
    clock.now = real_now  # back, or the signed-in test clients' sessions would have timed out
    return drills
