"""When was a failure mode last tested: the category page's scenarios, the categories list
sorted by "never tested", and `last_tested_at` in the categories API."""

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

from common.validation import Errors, RecordInvalid
from gamedays.actions import save_game_day
from gamedays.models import GameDay
from gamedays.records import clean_game_day
from incidents.actions import get_or_create_category
from remediations import effectiveness
from remediations.models import Remediation
from tests.api_helpers import api_client_for
from tests.factories import IncidentFactory, RemediationFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def days(n: float) -> datetime.datetime:
    return NOW + datetime.timedelta(days=n)


def _text(markup: str) -> str:
    """What a reader sees: inline tags vanish, the others separate words."""
    inline = re.sub(r"</?(a|time)\b[^>]*>", "", markup)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", inline)).strip())


def _fix(title: str, path: str, done: float = -60) -> Remediation:
    fix = RemediationFactory(
        title=title, category=get_or_create_category(path), kind="prevent", status="done",
        opened_at=days(done - 30), done_at=days(done),
    )  # fmt: skip
    effectiveness.assess([fix.pk])
    return fix


def _game_day(title: str, when: float, *scenarios: dict[str, Any], **fields: Any) -> GameDay:
    raw = {"title": title, "scheduled_at": days(when), "status": "done", **fields,
           "scenarios": [{"injection": "Break it", **s} for s in scenarios]}  # fmt: skip
    errors = Errors()
    record = clean_game_day(raw, errors)
    if errors:
        raise RecordInvalid(errors)
    game_day = GameDay()
    save_game_day(game_day, record, by=None, expected_version=None)
    return game_day


def _ran(path: str, outcome: str, at: float, **fields: Any) -> dict[str, Any]:
    return {"category": path, "outcome": outcome, "ran_at": days(at), **fields}


def test_the_category_page_lists_its_scenarios_most_recent_first(alice_client: Client) -> None:
    fix = _fix("Put etcd on local NVMe", "Control plane > etcd")
    _game_day("Staging, last month", -30,
              _ran("Control plane > etcd > Leader elections", "held", -30,
                   title="Terminate the etcd leader", verifies=[fix.pk]))  # fmt: skip
    _game_day("Production, this week", -2,
              _ran("Control plane > etcd", "failed", -2, title="Fill the etcd disk",
                   verifies=[fix.pk]))  # fmt: skip
    _game_day("Next week", 7, {"category": "Control plane > etcd", "title": "Evict etcd pods"},
              status="planned")  # fmt: skip
    _game_day("Elsewhere", -1, _ran("Networking > DNS", "held", -1, title="Kill CoreDNS"))

    page = alice_client.get(get_or_create_category("Control plane > etcd").get_absolute_url())
    body = page.content.decode()
    assert f"Last tested: {days(-2):%Y-%m-%d} (Production, this week: failed)" in _text(
        body[body.index('class="last-tested"') :][:600]
    )
    table = body[body.index('class="list mode-scenarios"') :]
    table = table[: table.index("</table>")]
    rows = [_text(r) for r in re.findall(r'<tr id="scenario-\d+">(.*?)</tr>', table, re.S)]
    # What is planned next, then what ran, the latest first; each with its outcome and the
    # fixes it verifies, with their effectiveness (the failure after the hold wins).
    assert [r.split(" Break")[0] for r in rows] == [
        f"planned {days(7):%Y-%m-%d} Evict etcd pods Next week · Staging Pending —",
        f"{days(-2):%Y-%m-%d} Fill the etcd disk Production, this week · Staging Failed "
        "Put etcd on local NVMe Regressed",
        f"{days(-30):%Y-%m-%d} Terminate the etcd leader Staging, last month · Staging · "
        "Control plane > etcd > Leader elections Held Put etcd on local NVMe Regressed",
    ]
    assert "Kill CoreDNS" not in body  # another failure mode


def test_a_mode_nobody_tested_says_so_and_offers_a_game_day(alice_client: Client) -> None:
    _game_day("Planned only", 3, {"category": "Networking > DNS"}, status="planned")
    body = alice_client.get(get_or_create_category("Networking > DNS").get_absolute_url())
    text = _text(body.content.decode())
    assert "Last tested: never. Plan a game day" in text  # a pending scenario tested nothing
    assert "Pending" in text


def _sorted_rows(client: Client, sort: str) -> list[str]:
    page = client.get(reverse("category_tree"), {"sort": sort}).content.decode()
    body = page[page.index('<table class="list modes">') :]
    return [_text(r) for r in re.findall(r'<tr id="mode-[^"]+">(.*?)</tr>', body, flags=re.S)]


def test_the_categories_list_sorts_never_tested_first(alice_client: Client) -> None:
    for title, path in [("Expired cert", "Certificates"), ("Expired again", "Certificates"),
                        ("DNS timeouts", "Networking > DNS"),
                        ("Elections", "Control plane > etcd > Leader elections"),
                        ("Pool exhausted", "Networking > Envoy")]:  # fmt: skip
        IncidentFactory(
            title=title, started_at=days(-40), categories=[get_or_create_category(path)]
        )
    get_or_create_category("Storage > EBS")  # no incident, never tested
    _game_day("Old", -90, _ran("Networking > Envoy", "aborted", -90))  # aborted still ran
    _game_day("Recent", -5, _ran("Control plane > etcd > Leader elections", "held", -5))

    rows = _sorted_rows(alice_client, "never_tested")
    # Modes with incidents that no scenario ran on, or below: the most incidents first.
    assert rows[0] == "Certificates never fixed never tested 2 0 0 never"
    assert rows[1] == "Networking > DNS never fixed never tested 1 0 0 never"
    # Then the tested ones, least recently tested first (a test below a mode tests it too).
    tested = [(re.split(r" never| \d", r)[0], r.rsplit(" ", 1)[1]) for r in rows[2:7]]
    assert tested == [
        ("Networking", f"{days(-90):%Y-%m-%d}"),
        ("Networking > Envoy", f"{days(-90):%Y-%m-%d}"),
        ("Control plane", f"{days(-5):%Y-%m-%d}"),
        ("Control plane > etcd", f"{days(-5):%Y-%m-%d}"),
        ("Control plane > etcd > Leader elections", f"{days(-5):%Y-%m-%d}"),
    ]
    # Then the modes without incidents nobody tested; the badge only where there are incidents.
    assert rows[-2:] == ["Storage 0 0 0 never", "Storage > EBS 0 0 0 never"]
    assert sum("never tested" in r for r in rows) == 2
    assert "Never tested first" in alice_client.get(reverse("category_tree")).content.decode()


def test_sorting_by_never_tested_costs_the_same_queries_for_more_rows(
    alice_client: Client,
) -> None:
    def add(n: int) -> None:
        for _ in range(n):
            path = f"Mode {GameDay.objects.count()}"
            IncidentFactory(started_at=days(-3), categories=[get_or_create_category(path)])
            fix = _fix(f"Fix for {path}", path)
            _game_day(f"Test {path}", -1, _ran(path, "held", -1, verifies=[fix.pk]))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = alice_client.get(reverse("category_tree"), {"sort": "never_tested"})
            assert response.status_code == 200
        return len(captured)

    add(2)
    few = queries()
    add(8)
    assert queries() == few


def test_the_categories_api_says_when_each_was_last_tested(alice: Any) -> None:
    api = api_client_for(alice)
    _game_day("Recent", -5, _ran("Control plane > etcd > Leader elections", "failed", -5))
    _game_day("Older", -20, _ran("Control plane > etcd", "held", -20))
    _game_day("Planned", 5, {"category": "Networking > DNS"}, status="planned")

    def tested() -> dict[str, Any]:
        results = api.get("/api/categories/", {"limit": 200}).json()["results"]
        return {c["path"]: c["last_tested_at"] for c in results}

    found = tested()
    recent = days(-5).isoformat().replace("+00:00", "Z")
    assert found["Control plane"] == found["Control plane > etcd"] == recent
    assert found["Control plane > etcd > Leader elections"] == recent
    assert found["Networking"] is None and found["Networking > DNS"] is None  # pending only
    etcd = get_or_create_category("Control plane > etcd")
    assert api.get(f"/api/categories/{etcd.pk}/").json()["last_tested_at"] == recent

    # Moved below Networking, etcd takes its tests along: the answer to the move says so.
    networking = get_or_create_category("Networking")
    moved = api.patch(f"/api/categories/{etcd.pk}/", {"parent": networking.pk}, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["last_tested_at"] == recent
    found = tested()
    assert found["Networking"] == recent and found["Control plane"] is None
    created = api.post("/api/categories/", {"name": "Fresh"}, format="json").json()
    assert created["last_tested_at"] is None


def test_the_categories_api_costs_the_same_queries_with_more_tests(alice: Any) -> None:
    api = api_client_for(alice)

    def add(n: int) -> None:
        for _ in range(n):
            path = f"Mode {GameDay.objects.count()} > Part"
            _game_day(f"Test {path}", -1, _ran(path, "held", -1))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/api/categories/").status_code == 200
        return len(captured)

    add(2)
    api.get("/api/categories/")  # the token's first use is noted (one write): not the list's cost
    few = queries()
    add(8)
    assert queries() == few
