"""Game days in the weekly review: the week's game days, the verifications that failed, and
the fixes still awaiting verification — on the page, in the API and in the digest."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from gamedays.actions import awaiting_verification
from remediations.models import Effectiveness, Remediation
from reviews import agenda
from reviews.tasks import send_weekly_digest
from reviews.weeks import Week
from tests.clock import Clock
from tests.reviews.conftest import at, game_day

pytestmark = pytest.mark.django_db


def _text(markup: str) -> str:
    inline = re.sub(r"</?(a|time)\b[^>]*>", "", markup)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", inline)).strip())


def _section(page: str, anchor: str) -> str:
    start = page.index(f'<section id="{anchor}"')
    return page[start : page.index("</section>", start)]


def test_the_agenda_holds_the_weeks_game_days_with_their_outcomes(
    drills: dict[str, Any], week: Week
) -> None:
    built = agenda.build(week, viewer=None)
    assert [g.title for g in built.game_days.rows] == [
        "Break etcd and the config path", "Evict every pod",
    ]  # fmt: skip
    done = built.game_days.rows[0]
    assert (done.held, done.failed, done.aborted, done.pending) == (1, 1, 1, 0)
    # Only this week's failures, with the fixes they verify.
    (failed,) = built.failed_verifications.rows
    assert failed.name == "Push a valid but wrong route"
    assert [f.title for f in failed.verifies.all()] == ["Canary config pushes"]
    # Done prevent and mitigate fixes nothing has shown to work yet; a detect fix is not one.
    assert [r.title for r in built.awaiting_verification.rows] == ["Validate configs in CI"]
    assert built.awaiting_verification.total == awaiting_verification().count() == 1
    # Last week's agenda has last week's failure, and the same fixes awaiting verification.
    earlier = agenda.build(week.previous, viewer=None)
    assert [g.title for g in earlier.game_days.rows] == ["Last week's drill"]
    assert [s.name for s in earlier.failed_verifications.rows] == ["Fill the etcd disk"]


def test_the_page_shows_them_with_jump_links_and_counts(
    alice_client: Client, drills: dict[str, Any], week: Week
) -> None:
    page = alice_client.get(f"/review/{week.label}/").content.decode()
    jump = _text(page[page.index('<nav class="jump') : page.index("</nav>", page.index("jump"))])
    assert "Game days 2" in jump and "Failed tests 1" in jump and "Untested 1" in jump

    game_days = _text(_section(page, "game-days"))
    assert "Game days this week 2" in game_days
    assert "Break etcd and the config path Staging" in game_days
    assert "1 held 1 failed 1 aborted Done" in game_days
    assert "Evict every pod Staging" in game_days and "1 pending Planned" in game_days
    assert "Next week's drill" not in page and "Last week's drill" not in game_days

    failed = _section(page, "failed")
    canary = drills["canary"]
    # The fix it verified is regressed, and a follow-up of it is one click away.
    assert "Push a valid but wrong route Break etcd and the config path" in _text(failed)
    assert "Canary config pushes Regressed Open a follow-up" in _text(failed)
    assert f'href="/remediations/new/?follow_up={canary.pk}"' in failed
    assert "Fill the etcd disk" not in failed  # it failed last week
    follow_up = alice_client.get(f"/remediations/new/?follow_up={canary.pk}")
    assert "Follow-up: Canary config pushes" in follow_up.content.decode()

    untested = _text(_section(page, "untested"))
    assert "Fixes awaiting verification 1" in untested
    assert "1 done prevent or mitigate fix still unverified" in untested
    assert "The oldest, Validate configs in CI, was done" in untested
    assert 'href="/game-days/backlog/"' in _section(page, "untested")


def test_a_week_without_game_days_says_so(alice_client: Client, week: Week) -> None:
    page = alice_client.get(f"/review/{week.next.next.label}/").content.decode()
    assert "No game day this week." in _section(page, "game-days")
    assert "No game-day scenario failed this week." in _section(page, "failed")
    assert "No done prevent or mitigate fix is waiting for evidence." in page


def test_a_fix_verified_by_a_game_day_no_longer_awaits_verification(
    alice_client: Client, drills: dict[str, Any], week: Week, clock: Clock
) -> None:
    untested = drills["untested"]
    real_now, clock.now = clock.now, max(clock.now, at(week, 6.5))  # the result is in the past
    game_day("Test the CI validation", at(week, 2), [
        {"title": "Push an unparseable config", "outcome": "held", "ran_at": at(week, 2),
         "category": "Configuration > Invalid configuration push", "verifies": [untested.pk]},
    ], status="done")  # fmt: skip
    clock.now = real_now
    assert Remediation.objects.get(pk=untested.pk).effectiveness == Effectiveness.VERIFIED
    page = alice_client.get(f"/review/{week.label}/").content.decode()
    assert "Untested 0" in _text(page)
    assert "Game days 3" in _text(page)


def test_the_review_api_carries_them_as_ids_with_titles(
    alice_client: Client, drills: dict[str, Any], week: Week
) -> None:
    body = alice_client.get(f"/api/review/{week.label}/").json()
    done, planned = drills["done"], drills["planned"]
    assert [(g["id"], g["title"], g["status"]) for g in body["game_days"]] == [
        (done.pk, done.title, "done"), (planned.pk, planned.title, "planned"),
    ]  # fmt: skip
    assert body["game_days"][0]["outcomes"] == {"held": 1, "failed": 1, "aborted": 1, "pending": 0}
    assert body["game_days"][0]["url"] == f"/game-days/{done.pk}/"
    (failed,) = body["failed_verifications"]
    assert failed["title"] == "Push a valid but wrong route"
    assert failed["game_day"] == {"id": done.pk, "title": done.title}
    assert failed["category"] == "Configuration > Invalid configuration push"
    assert failed["remediations"] == [{"id": drills["canary"].pk, "title": "Canary config pushes"}]
    assert body["awaiting_verification"] == {
        "count": 1,
        "remediations": [{"id": drills["untested"].pk, "title": "Validate configs in CI"}],
    }
    totals = body["totals"]
    assert (totals["game_days"], totals["failed_verifications"]) == (2, 1)
    assert totals["awaiting_verification"] == 1


def test_the_digest_carries_them_with_the_links_to_act(
    drills: dict[str, Any], week: Week, webhook: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        send_weekly_digest()
    body = mail.outbox[0].body
    assert "Game days this week: 2" in body
    assert "  - Break etcd and the config path (" in body
    assert "Staging, done): 1 held, 1 failed, 1 aborted" in body
    assert "Staging, planned): 1 pending" in body
    assert "Failed verifications: 1" in body
    assert (
        "“Push a valid but wrong route” failed in “Break etcd and the config path” "
        "(Configuration > Invalid configuration push)"
    ) in body
    canary = drills["canary"].pk
    assert (
        "“Canary config pushes” did not hold: open a follow-up "
        f"http://127.0.0.1:8000/remediations/new/?follow_up={canary}"
    ) in body
    assert "Fixes awaiting verification: 1" in body
    assert "http://127.0.0.1:8000/game-days/backlog/" in body
    (posted,) = webhook.received
    totals = posted["review"]["totals"]
    assert (totals["game_days"], totals["failed_verifications"]) == (2, 1)
    assert totals["awaiting_verification"] == 1
