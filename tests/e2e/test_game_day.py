"""A team plans a game day in a real browser, runs a scenario that tests a done fix, records
that it held, and sees the fix verified and its failure mode tested; on a phone too."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.utils import timezone

from gamedays.models import GameDay
from incidents.actions import get_or_create_category
from remediations import effectiveness
from remediations.models import Remediation
from tests.e2e.test_write_report import log_in
from tests.factories import RemediationFactory, UserFactory
from tests.gamedays.test_pages import _game_day, _scenario

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _done_fix(path: str, title: str) -> Remediation:
    now = timezone.now()
    fix = RemediationFactory(
        title=title, category=get_or_create_category(path), kind="prevent", status="done",
        opened_at=now - datetime.timedelta(days=60), done_at=now - datetime.timedelta(days=30),
    )  # fmt: skip
    effectiveness.assess([fix.pk])
    return fix


def test_a_game_day_verifies_a_fix(page: Any) -> None:
    UserFactory(username="alice")
    UserFactory(username="bob")
    fix = _done_fix("Control plane > etcd", "Run five etcd members")
    get_or_create_category("Networking > Envoy config")

    log_in(page, "alice", "password")
    page.click("nav >> text=Game days")
    page.click("text=Plan a game day")
    page.wait_for_url("**/game-days/new/")
    page.fill("#id_title", "Break the control plane in staging")
    page.fill("#id_scheduled_at", "2030-05-04T10:00:00")
    page.select_option("#id_environment", "staging")
    page.fill("#id_facilitator", "alice")
    page.fill("input[name=participants] >> nth=0", "bob")
    page.fill("#id_plan", "## Goal\n\nSee whether **etcd** keeps quorum.")
    page.locator("#plan-preview strong", has_text="etcd").wait_for()

    # The failure mode brings the fixes that cover it, unverified first; one is checked.
    page.fill("#id_scenarios-0-title", "Terminate one etcd member")
    page.fill("#id_scenarios-0-category", "Control plane > etcd")
    choice = page.locator("#scenarios-0-verifies").get_by_label(fix.title)
    choice.wait_for()
    assert "awaiting verification" in page.inner_text("#scenarios-0-verifies")
    choice.check()
    page.fill("#id_scenarios-0-services_text", "etcd")
    page.fill("#id_scenarios-0-injection", "Terminate one etcd member's instance")
    page.fill("#id_scenarios-0-hypothesis", "The API server keeps answering within 1 s")

    page.click("text=Add a scenario")
    page.fill("#id_scenarios-1-category", "Networking > Envoy config")
    page.locator("#scenarios-1-verifies", has_text="No done fix covers").wait_for()
    page.fill("#id_scenarios-1-injection", "Push an invalid listener configuration")
    page.click("button:has-text('Plan the game day')")

    page.wait_for_url(re.compile(r"/game-days/\d+/$"))
    game_day = GameDay.objects.get()
    assert [s.title for s in game_day.scenarios.all()][0] == "Terminate one etcd member"
    first, second = game_day.scenarios.all()
    assert list(first.verifies.all()) == [fix]

    # Run it: record the first scenario as held, in place.
    page.click("text=Start the game day")
    page.locator(".game-day-status", has_text="Running").wait_for()
    card = page.locator(f"#scenario-{first.pk}")
    card.locator("textarea").fill("Leader election took 2 s; no client errors.")
    card.locator("button", has_text="Held").click()
    card = page.locator(f"#scenario-{first.pk}")
    card.locator(".message", has_text="Saved: held").wait_for()
    assert card.locator(".outcome").first.inner_text() == "Held"
    assert "Leader election took 2 s" in card.inner_text()

    # The fix is verified on its page, and the failure mode was tested today.
    page.goto(f"/remediations/{fix.pk}/")
    assert page.locator("#effectiveness .effectiveness").inner_text() == "Verified"
    assert "Break the control plane in staging" in page.inner_text("#effectiveness")
    page.goto(fix.category.get_absolute_url())
    today = timezone.now().strftime("%Y-%m-%d")
    assert f"Last tested: {today}" in page.inner_text(".last-tested")

    # A finding becomes work: a new remediation from the second scenario, linked back.
    page.goto(game_day.get_absolute_url())
    page.locator(f"#scenario-{second.pk}").get_by_text("New remediation").click()
    page.wait_for_url(re.compile(rf"/remediations/new/\?scenario={second.pk}$"))
    page.fill("#id_title", "Validate Envoy config before pushing it")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r"/remediations/\d+/$"))
    page.click("#origin-scenario a")
    page.wait_for_url(re.compile(rf"/game-days/{game_day.pk}/#scenario-{second.pk}$"))


def test_running_a_game_day_on_a_phone(page: Any) -> None:
    UserFactory(username="alice")
    fix = _done_fix("Control plane > etcd", "Run five etcd members")
    game_day = _game_day(
        _scenario(title="Terminate one etcd member and watch the leader move elsewhere",
                  injection="aws ec2 terminate-instances --instance-ids i-0123456789abcdef0 "
                            "--region eu-west-1 --profile staging-chaos-engineering",
                  verifies=[fix.pk]),
        _scenario(title="Fill the etcd data disk"),
    )  # fmt: skip
    # A title pasted as one long word (a runbook's address) wraps like any other.
    pasted = _game_day(
        title="https://runbooks.example.com/staging/etcd/terminate-the-leader-and-watch-it-move",
        scenarios=[_scenario(verifies=[fix.pk])],
    )
    log_in(page, "alice", "password")
    page.set_viewport_size({"width": 390, "height": 844})
    for path in [game_day.get_absolute_url(), "/game-days/", "/game-days/new/",
                 "/game-days/backlog/", f"/game-days/{game_day.pk}/edit/",
                 pasted.get_absolute_url(), f"/remediations/{fix.pk}/"]:  # fmt: skip
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 390 px"

    page.goto(game_day.get_absolute_url())
    second = game_day.scenarios.all()[1]
    card = page.locator(f"#scenario-{second.pk}")
    failed = card.locator("button", has_text="Failed")
    box = failed.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 90  # a thumb's target
    card.locator("textarea").fill("Writes stalled for 40 s.")
    failed.click()
    page.locator(f"#scenario-{second.pk} .message", has_text="Saved: failed").wait_for()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    second.refresh_from_db()
    assert (second.outcome, second.observations) == ("failed", "Writes stalled for 40 s.")
