"""Did the fix work? — per failure mode, on the category page: incidents before and after each
done fix, a timeline drawn on the server, and the categories list sorted by how the fixes
fared. Incidents and fixes go through the recurrence engine, as they do in use."""

from __future__ import annotations

import datetime
import html
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents.actions import get_or_create_category
from incidents.models import Cause, Incident
from remediations import effectiveness, impact
from remediations.actions import triage_flag
from remediations.models import RecurrenceFlag, Remediation
from remediations.recurrence import evaluate
from tests.api_helpers import api_client_for
from tests.factories import IncidentFactory, RemediationFactory

pytestmark = pytest.mark.django_db


def days(n: float) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=n)


def _fix(title: str, path: str, *, done: int, kind: str = "prevent") -> Remediation:
    return RemediationFactory(
        title=title, category=get_or_create_category(path), kind=kind, status="done",
        opened_at=days(done - 30), done_at=days(done),
    )  # fmt: skip


def _incident(title: str, path: str, *, started: float, cause_in: str = "") -> Incident:
    incident = IncidentFactory(
        title=title, started_at=days(started), categories=[get_or_create_category(path)]
    )
    if cause_in:
        Cause.objects.create(
            incident=incident, description="why", category=get_or_create_category(cause_in)
        )
    return incident


def _text(markup: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)).strip())


def _impact_rows(page: str) -> dict[str, str]:
    """The "did the fix work?" table as {fix title: the row's text}."""
    table = page[page.index('class="list fix-impact"') :]
    table = table[: table.index("</table>")]
    rows = {}
    for row in re.findall(r"<tr id=\"fix-\d+\">(.*?)</tr>", table, flags=re.S):
        title = re.search(r'<a href="/remediations/\d+/">([^<]+)</a>', row)
        assert title is not None
        rows[title.group(1)] = _text(row)
    return rows


@pytest.fixture
def envoy(alice: Any) -> dict[str, Any]:
    """Envoy's failure mode with a fix on it, one above it and one below it, and incidents
    before and after each, run through the engine and the reconciliation's assessment:

    - "Move to HTTP/2" (prevent, on it) recurred, triaged "the fix did not hold": regressed;
    - "Review retry budgets" (process, above it) promises no fewer incidents: holding;
    - "Alert on pool saturation" (detect, below it), done 20 days ago: unverified.
    """
    on_it = _fix("Move to HTTP/2", "Networking > Envoy", done=-60)
    above = _fix("Review retry budgets", "Networking", done=-200, kind="process")
    below = _fix(
        "Alert on pool saturation", "Networking > Envoy > Connection pools", done=-20, kind="detect"
    )
    incidents = [
        _incident("Too early to count", "Networking > Envoy", started=-130),  # before both windows
        _incident("Pool exhausted", "Networking > Envoy > Connection pools", started=-100),
        _incident("Envoy crash loop", "Networking > Envoy", started=-80),
        _incident("Cert reload", "Certificates", started=-70, cause_in="Networking > Envoy"),
        _incident("Pool exhausted again", "Networking > Envoy > Connection pools", started=-10),
        _incident("DNS timeouts", "Networking > DNS", started=-50),  # another mode
    ]
    evaluate([i.pk for i in incidents])
    again = RecurrenceFlag.objects.get(incident__title="Pool exhausted again")
    triage_flag(again, outcome="fix_did_not_hold", by=alice)
    effectiveness.assess(effectiveness.due_for_holding())  # as the reconciliation does
    return {"on": on_it, "above": above, "below": below, "incidents": incidents}


def test_each_done_fix_shows_incidents_in_equal_windows_before_and_after_it(
    alice_client: Client, envoy: dict[str, Any]
) -> None:
    page = alice_client.get(get_or_create_category("Networking > Envoy").get_absolute_url())
    rows = _impact_rows(page.content.decode())
    # Done 60 days ago: the 60 days before (Pool exhausted, Envoy crash loop, and Cert reload
    # through its cause) against the 60 since (Pool exhausted again, in the sub-category).
    on_it = rows["Move to HTTP/2"]
    assert "3 before → 1 after, in 60 days each" in on_it
    assert "Prevent · on this failure mode" in on_it
    assert "Regressed since" in on_it and "the fix did not hold" in on_it
    # Above it, done 200 days ago: 180 days each way, counted in Envoy's part of Networking
    # (DNS timeouts is not Envoy's): the four from 130 to 70 days ago are after it.
    above = rows["Review retry budgets"]
    assert "0 before → 4 after, in 180 days each" in above
    assert "Process · above it: Networking" in above and "Holding since" in above
    # Below it, done 20 days ago: only what it covers, the connection pools.
    below = rows["Alert on pool saturation"]
    assert "0 before → 1 after, in 20 days each (in Connection pools)" in below
    assert "below it: Networking > Envoy > Connection pools" in below
    assert "Unverified since" in below and "Done; no evidence yet." in below
    # Numbered by when they were done, as on the timeline.
    assert list(rows) == ["Review retry budgets", "Move to HTTP/2", "Alert on pool saturation"]


def test_a_fix_done_today_has_nothing_to_compare_yet(alice_client: Client) -> None:
    fix = _fix("Alert on pool saturation", "Networking > Envoy", done=0)
    fix.done_at = timezone.now() - datetime.timedelta(hours=2)
    fix.save()
    page = alice_client.get(fix.category.get_absolute_url()).content.decode()
    assert "done less than a day ago: nothing to compare yet" in _impact_rows(page)[fix.title]


def test_a_mode_without_done_fixes_says_so(alice_client: Client) -> None:
    incident = _incident("Expired cert", "Certificates", started=-3)
    RemediationFactory(title="Automate renewals", category=incident.categories.get())
    page = alice_client.get(incident.categories.get().get_absolute_url()).content.decode()
    assert "No fix covering this failure mode is done yet." in page


def _svg(page: str) -> str:
    match = re.search(r"<svg class=\"fix-timeline\".*?</svg>", page, flags=re.S)
    assert match is not None, "no timeline on the page"
    return match.group(0)


def test_the_timeline_has_a_dot_per_incident_and_a_mark_per_done_fix(
    alice_client: Client, envoy: dict[str, Any]
) -> None:
    _incident("Two years and more ago", "Networking > Envoy", started=-800)
    page = alice_client.get(get_or_create_category("Networking > Envoy").get_absolute_url())
    svg = _svg(page.content.decode())
    # Envoy's five incidents of the last two years (not DNS's, not the one before that).
    dots = re.findall(r'<circle class="dot"[^>]*><title>([^<]*)</title>', svg)
    assert len(dots) == 5
    assert any(
        t.startswith(f"INC-{envoy['incidents'][2].pk} Envoy crash loop (SEV3, ") for t in dots
    )
    marks = re.findall(r'<g class="fix-mark eff-(\w+)" data-fix="(\d)"><title>([^<]*)</title>', svg)
    assert [(eff, n) for eff, n, _ in marks] == [
        ("holding", "1"), ("regressed", "2"), ("unverified", "3"),
    ]  # fmt: skip
    assert marks[1][2].startswith("Fix 2: Move to HTTP/2, done ")
    assert marks[1][2].endswith("regressed; 3 before → 1 after, in 60 days each")
    # Regressed is red and dashed, so it reads in black and white too.
    assert 'stroke="#b3261e" stroke-width="2" stroke-dasharray="6 3"' in svg
    # Accessible, and scales to a phone's width.
    assert 'role="img" aria-labelledby="fix-timeline-title fix-timeline-desc"' in svg
    assert 'viewBox="0 0 600 ' in svg
    assert '<title id="fix-timeline-title">Incidents of Networking &gt; Envoy over time' in svg
    desc = re.search(r'<desc id="fix-timeline-desc">([^<]*)</desc>', svg)
    assert desc is not None
    assert desc.group(1).startswith("5 incidents of Networking &gt; Envoy from ")
    assert "Fix 2, “Move to HTTP/2”" in desc.group(1)


def test_past_a_bound_the_timeline_draws_weekly_counts_and_the_page_costs_the_same(
    alice_client: Client, monkeypatch: Any
) -> None:
    envoy = get_or_create_category("Networking > Envoy")
    _fix("Move to HTTP/2", envoy.path, done=-60)

    def queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            response = alice_client.get(envoy.get_absolute_url())
        return len(captured), _svg(response.content.decode())

    for n in range(3):
        _incident(f"Early {n}", envoy.path, started=-100 - n)
    few, svg = queries()
    assert svg.count('<circle class="dot"') == 3

    monkeypatch.setattr(impact, "MAX_DOTS", 10)
    for n in range(30):  # 33 incidents over three weeks or so, three a day
        _incident(f"Storm {n}", envoy.path, started=-10 - n / 3)
    many, svg = queries()
    assert many == few + 1  # one grouped query for the weekly counts, whatever the number
    dots = re.findall(r'<circle class="dot"[^>]*><title>([^<]*)</title>', svg)
    assert 1 < len(dots) <= 10
    assert sum(int(t.split()[0]) for t in dots) == 33
    assert "drawn as weekly counts" in svg


def test_the_categories_list_sorts_by_recurred_after_fix_and_never_fixed(
    alice: Any, alice_client: Client
) -> None:
    ebs, etcd = "Storage > EBS", "Control plane > etcd"
    _fix("Provisioned IOPS", ebs, done=-60)
    _fix("Local NVMe for etcd", etcd, done=-60)
    incidents = [
        _incident("EBS stall", ebs, started=-10),
        _incident("EBS stall again", ebs, started=-5),
        _incident("Leader elections", etcd, started=-3),
        _incident("Quorum lost", etcd, started=-2),
        _incident("Expired cert", "Certificates", started=-20),
        _incident("Expired cert again", "Certificates", started=-9, cause_in="Networking > DNS"),
    ]
    evaluate([i.pk for i in incidents])
    flag = RecurrenceFlag.objects.get
    triage_flag(flag(incident=incidents[2]), outcome="fix_did_not_hold", by=alice)
    triage_flag(flag(incident=incidents[3]), outcome="partial", by=alice, note="expected")

    def rows(sort: str) -> list[str]:
        page = alice_client.get(reverse("category_tree"), {"sort": sort}).content.decode()
        body = page[page.index('<table class="list modes">') :]
        return [_text(r) for r in re.findall(r'<tr id="mode-[^"]+">(.*?)</tr>', body, flags=re.S)]

    recurred = rows("recurred")
    # Two open flags on EBS; one confirmed "did not hold" on etcd (a partly expected one
    # doesn't count); then the rest by path.
    # No game day tested any of them: each says so, and when it was last tested (never).
    assert recurred[0] == (
        "Storage > EBS recurred after fix never tested 2 2 (2 open, 0 did not hold) 1 never"
    )
    assert recurred[1] == "Control plane > etcd never tested 2 1 (0 open, 1 did not hold) 1 never"
    assert [r.split(" ")[0] for r in recurred[2:]] == [
        "Certificates", "Control", "Networking", "Networking", "Storage",
    ]  # fmt: skip

    never = rows("never_fixed")
    # Incidents and no done fix on them, above or below: most incidents first. DNS has one
    # through a cause, and so Networking above it; Storage and Control plane count their
    # children's incidents, whose fixes (below them) are theirs too.
    assert never[0] == "Certificates never fixed never tested 2 0 0 never"
    assert never[1] == "Networking never fixed never tested 1 0 0 never"
    assert never[2] == "Networking > DNS never fixed never tested 1 0 0 never"
    assert all("never fixed" not in r for r in never[3:])
    assert "Storage never tested 2 0 1 never" in never

    # The tree stays the default, with the badge while flags are open.
    tree = alice_client.get(reverse("category_tree")).content.decode()
    assert '<ul class="tree">' in tree and 'aria-current="page">As a tree' in tree
    assert tree.count("recurred after fix</span>") == 1
    # The API says the same: flagged while it has open flags.
    api = api_client_for(alice)
    flagged = {c["path"]: c["flagged"] for c in api.get("/api/categories/").json()["results"]}
    assert flagged[ebs] is True and flagged[etcd] is False
    for open_flag in RecurrenceFlag.objects.filter(category__path=ebs):
        triage_flag(open_flag, outcome="fix_did_not_hold", by=alice)
    flagged = {c["path"]: c["flagged"] for c in api.get("/api/categories/").json()["results"]}
    assert flagged[ebs] is False
    tree = alice_client.get(reverse("category_tree")).content.decode()
    assert "recurred after fix</span>" not in tree
    assert rows("recurred")[0] == "Storage > EBS never tested 2 2 (0 open, 2 did not hold) 1 never"


def test_the_category_page_badge_says_recurred_after_fix_while_flags_are_open(
    alice: Any, alice_client: Client
) -> None:
    _fix("Provisioned IOPS", "Storage > EBS", done=-60)
    incident = _incident("EBS stall", "Storage > EBS", started=-10)
    evaluate([incident.pk])
    url = get_or_create_category("Storage > EBS").get_absolute_url()
    badge = '<span class="recurred">recurred after fix</span>'
    assert badge in alice_client.get(url).content.decode()
    triage_flag(RecurrenceFlag.objects.get(), outcome="fix_did_not_hold", by=alice)
    assert "recurred after fix</span>" not in alice_client.get(url).content.decode()


@pytest.mark.parametrize("sort", ["recurred", "never_fixed", "never_tested"])
def test_the_sorted_categories_list_costs_the_same_queries_for_more_rows(
    alice_client: Client, sort: str
) -> None:
    def add(n: int) -> None:
        for _ in range(n):
            path = f"Mode {Incident.objects.count()}"
            _fix(f"Fix for {path}", path, done=-30)
            evaluate([_incident(f"Back in {path}", path, started=-3).pk])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get(reverse("category_tree"), {"sort": sort}).status_code == 200
        return len(captured)

    add(2)
    few = queries()
    add(10)
    assert queries() == few
