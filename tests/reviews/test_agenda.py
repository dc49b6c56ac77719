"""The agenda the page, the API and the digest share: what goes in each section."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from incidents.actions import get_or_create_category
from remediations import effectiveness
from remediations.recurrence import evaluate
from reviews import agenda
from reviews.actions import record_decision
from reviews.models import DecisionKind
from reviews.weeks import Week
from tests.clock import Clock
from tests.factories import IncidentFactory, RemediationFactory
from tests.reviews.conftest import at, game_day

pytestmark = pytest.mark.django_db


def titles(rows: list[Any]) -> list[str]:
    return [row.title for row in rows]


def test_each_section_holds_what_the_meeting_decides_on(kb: dict[str, Any], week: Week) -> None:
    built = agenda.build(week, viewer=None)
    assert [(s, titles(rows)) for s, rows in built.new_by_severity()] == [
        ("SEV1", ["Checkout down"]), ("SEV3", ["Slow search"]),
    ]  # fmt: skip
    # Resolved but unreviewed from earlier weeks; this week's and reviewed ones are elsewhere.
    assert titles(built.unreviewed_incidents.rows) == ["DNS timeouts last week"]
    assert [[fix.title for fix in f.remediations.all()] for f in built.open_flags.rows] == [
        ["Defragment etcd nightly"]
    ]
    assert [(owner, titles(rows)) for owner, rows in built.overdue_groups] == [
        ("bob", ["Alert on DNS latency"]), ("", ["Write the runbook"]),
    ]  # fmt: skip
    assert titles(built.due_remediations.rows) == ["Upgrade CoreDNS"]
    assert titles(built.done_remediations.rows) == ["Raise etcd quota"]


def test_last_weeks_agenda_is_about_last_week(kb: dict[str, Any], week: Week) -> None:
    built = agenda.build(week.previous, viewer=None)
    assert titles(built.new_incidents.rows) == ["DNS timeouts last week"]
    assert titles(built.done_remediations.rows) == []
    assert titles(built.due_remediations.rows) == ["Alert on DNS latency"]


def test_trends_count_incidents_per_week_for_the_busiest_categories(
    kb: dict[str, Any], week: Week
) -> None:
    IncidentFactory(title="DNS again", started_at=at(week, -8), categories=[kb["dns"]])
    built = agenda.build(week, viewer=None)
    assert [w.label for w in built.trend_weeks][-1] == week.label
    assert len(built.trend_weeks) == 12
    dns = next(t for t in built.trends if t.path == "Networking > DNS")
    assert dns.counts[-3:] == [1, 1, 1]  # two weeks ago, last week, this week
    assert built.trends[0].path == "Networking > DNS"  # the most incidents first


def test_categories_without_any_remediation_above_or_on_them(
    kb: dict[str, Any], week: Week
) -> None:
    envoy = get_or_create_category("Networking > Envoy")
    IncidentFactory(title="Envoy pool exhausted", started_at=at(week, -2), categories=[envoy])
    storage = get_or_create_category("Storage > EBS")
    IncidentFactory(title="EBS latency", started_at=at(week, -2), categories=[storage])
    RemediationFactory(title="Storage review", category=get_or_create_category("Storage"))
    paths = [c.path for c in agenda.build(week, viewer=None).uncovered_categories]
    assert paths == ["Networking > Envoy"]  # EBS is covered by the remediation on Storage


def test_long_sections_show_their_first_rows_and_count_the_rest(week: Week, db: Any) -> None:
    for n in range(agenda.SHOWN + 7):
        IncidentFactory(title=f"Old {n}", started_at=at(week, -3), status="resolved")
    section = agenda.build(week, viewer=None).unreviewed_incidents
    assert len(section.rows) == agenda.SHOWN and section.total == agenda.SHOWN + 7
    assert section.more == 7


def _page_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_page_costs_the_same_queries_whatever_the_data(
    alice_client: Client, kb: dict[str, Any], drills: dict[str, Any], week: Week, clock: Clock
) -> None:
    url = f"/review/{week.label}/"
    before = _page_queries(alice_client, url)
    real_now, clock.now = clock.now, max(clock.now, at(week, 6.5))  # results are in the past
    etcd, dns = kb["etcd"], kb["dns"]
    for n in range(10):
        fix = RemediationFactory(
            title=f"Untested {n}", category=etcd, kind="mitigate", status="done",
            opened_at=at(week, -30), done_at=at(week, -10),
        )  # fmt: skip
        effectiveness.assess([fix.pk])
        game_day(f"Drill {n}", at(week, n % 6), [
            {"title": f"Held {n}", "outcome": "held", "ran_at": at(week, n % 6)},
            {"title": f"Failed {n}", "outcome": "failed", "ran_at": at(week, n % 6),
             "verifies": [fix.pk, kb["fix"].pk]},
            {"title": f"Pending {n}"},
        ], status="running")  # fmt: skip
    for n in range(30):
        incident = IncidentFactory(
            title=f"More {n}", started_at=at(week, n % 6), categories=[etcd, dns], status="resolved"
        )
        IncidentFactory(
            title=f"Older {n}", started_at=at(week, -7 - n), categories=[dns], status="resolved"
        )
        RemediationFactory(
            title=f"Due {n}",
            category=dns,
            status="open",
            owner=kb["fix"].owner,
            opened_at=at(week, -20),
            due_date=at(week, -1 - n).date(),
        )
        RemediationFactory(
            title=f"Done {n}",
            category=etcd,
            status="done",
            opened_at=at(week, -30),
            done_at=at(week, 1),
        )
        evaluate([incident.pk])
    clock.now = real_now  # or the signed-in session would have timed out
    after = _page_queries(alice_client, url)
    assert after == before
    # 20 before game days; 7 more for them: the week's game days (rows with their outcomes
    # counted, and their count), failed verifications (rows, their fixes, the count) and the
    # fixes awaiting verification (the oldest rows and the count); 1 asks whether the reader
    # is a viewer (the decisions' forms are for writers: common/roles.py).
    assert before == 28, f"the agenda page issues {before} queries"


def test_the_minutes_cost_one_query_however_long(
    alice_client: Client, kb: dict[str, Any], week: Week, alice: Any
) -> None:
    url = f"/review/{week.label}/"
    record_decision(week, DecisionKind.REVIEWED, by=alice, subject="INC-1 First")
    before = _page_queries(alice_client, url)
    for n in range(30):
        record_decision(week, DecisionKind.REASSIGNED, by=alice, subject=f"Fix {n}", detail="a → b")
    page = alice_client.get(url).content.decode()
    assert page.count('class="decision-reassigned"') == 30
    assert _page_queries(alice_client, url) == before
