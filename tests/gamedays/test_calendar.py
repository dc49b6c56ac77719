"""The game-day calendar: a secret per-person iCalendar address, made and revoked on
/account/tokens/, that calendar apps subscribe to without a login."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from accounts.models import CalendarFeed
from common.validation import Errors
from gamedays.actions import save_game_day
from gamedays.calendar import GAME_DAY_HOURS, PLAN_LINES
from gamedays.models import GameDay
from gamedays.records import clean_game_day

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def plan_game_day(**fields: Any) -> GameDay:
    errors = Errors()
    record = clean_game_day(
        {"title": "Lose an etcd member", "scheduled_at": NOW + datetime.timedelta(days=7),
         "environment": "production", "facilitator": "alice", "participants": ["bob"],
         "plan": "\n".join(f"Step {n}" for n in range(1, 12)),
         "scenarios": [{"title": "Terminate the leader", "category": "Control plane > etcd",
                        "injection": "Terminate the etcd leader"}],
         **fields},
        errors,
    )  # fmt: skip
    assert not errors, errors.as_lines()
    game_day = GameDay()
    save_game_day(game_day, record, by=None, expected_version=None)
    return game_day


def feed_url_of(client: Client) -> str:
    """Make a calendar address on /account/tokens/ and read it off the page."""
    response = client.post("/account/tokens/", {"action": "create"}, follow=True)
    assert response.status_code == 200
    found = re.search(r'value="(http://testserver/game-days/calendar/[^"]+\.ics)"',
                      response.content.decode())  # fmt: skip
    assert found, response.content.decode()
    return found.group(1).removeprefix("http://testserver")


def read_calendar(client: Client, url: str) -> Calendar:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Referrer-Policy"] == "no-referrer"
    return Calendar.from_ical(response.content)


def test_the_feed_holds_each_game_day_as_an_event(
    alice_client: Client, alice: Any, bob: Any
) -> None:
    game_day = plan_game_day()
    cancelled = plan_game_day(title="Registry outage", status="cancelled", participants=[])
    url = feed_url_of(alice_client)
    calendar = read_calendar(Client(), url)  # no login: a calendar app
    events = {str(e.get("summary")): e for e in calendar.walk("VEVENT")}
    assert set(events) == {
        "Game day: Lose an etcd member (Production)", "Game day: Registry outage (Production)",
    }  # fmt: skip
    event = events["Game day: Lose an etcd member (Production)"]
    assert event.decoded("dtstart") == game_day.scheduled_at
    assert event.decoded("dtend") - event.decoded("dtstart") == datetime.timedelta(
        hours=GAME_DAY_HOURS
    )
    assert str(event.get("url")) == f"http://testserver/game-days/{game_day.pk}/"
    assert str(event.get("status")) == "CONFIRMED"
    assert int(event.get("sequence")) == game_day.version
    description = str(event.get("description"))
    assert "Facilitator: alice" in description and "You facilitate it." in description
    assert "Step 1" in description and f"Step {PLAN_LINES}" in description
    assert f"Step {PLAN_LINES + 1}" not in description
    assert "- Terminate the leader (Control plane > etcd)" in description
    assert str(events["Game day: Registry outage (Production)"].get("status")) == "CANCELLED"
    assert str(events["Game day: Registry outage (Production)"].get("uid")) == (
        f"game-day-{cancelled.pk}@testserver"
    )


def test_the_address_is_per_person(alice_client: Client, bob_client: Client, bob: Any) -> None:
    plan_game_day()
    alices, bobs = feed_url_of(alice_client), feed_url_of(bob_client)
    assert alices != bobs
    (for_bob,) = read_calendar(Client(), bobs).walk("VEVENT")
    assert "You take part." in str(for_bob.get("description"))
    assert CalendarFeed.objects.active().count() == 2
    # Only hashes are stored: the address can't be rebuilt from the database.
    secret = bobs.rsplit("/", 1)[1].removesuffix(".ics")
    assert not CalendarFeed.objects.filter(key_hash__contains=secret).exists()
    alice_client.post("/account/tokens/", {"action": "revoke"})
    assert Client().get(alices).status_code == 404
    assert Client().get(bobs).status_code == 200  # bob's is his own


def test_a_wrong_revoked_or_replaced_address_is_not_found(alice_client: Client) -> None:
    first = feed_url_of(alice_client)
    assert Client().get("/game-days/calendar/not-the-secret.ics").status_code == 404
    second = feed_url_of(alice_client)  # a new address ends the old one
    assert Client().get(first).status_code == 404
    assert Client().get(second).status_code == 200
    page = alice_client.get("/account/tokens/").content.decode()
    assert "You have a calendar address" in page and second not in page  # shown only once
    response = alice_client.post("/account/tokens/", {"action": "revoke"}, follow=True)
    assert "Calendar feed revoked" in response.content.decode()
    assert Client().get(second).status_code == 404
    assert "You have no calendar address" in alice_client.get("/account/tokens/").content.decode()


def test_an_inactive_persons_address_is_not_found(alice_client: Client, alice: Any) -> None:
    url = feed_url_of(alice_client)
    alice.is_active = False
    alice.save()
    assert Client().get(url).status_code == 404


def test_the_tokens_page_needs_a_login(client: Client) -> None:
    response = client.get("/account/tokens/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.post("/account/tokens/", {"action": "create"}).status_code == 302
    assert not CalendarFeed.objects.exists()


def test_the_feed_reads_in_a_fixed_number_of_queries(
    alice_client: Client, django_assert_num_queries: Any
) -> None:
    for n in range(3):
        plan_game_day(title=f"Game day {n}")
    url = feed_url_of(alice_client)
    anonymous = Client()
    anonymous.get(url)  # records when it was last read
    # the feed, game days, participants, scenarios
    with django_assert_num_queries(4):
        assert anonymous.get(url).status_code == 200


@pytest.mark.django_db(transaction=True)  # each press commits in its own connection
def test_pressing_make_a_new_address_twice_at_once_leaves_one_working_address(alice: Any) -> None:
    """A double click (or two tabs) on "make a new address": both presses answer, and one
    address works afterwards, never a server error from the one-active-feed constraint."""
    import threading

    from django.db import connection

    from tests.conftest import MODEL_BACKEND

    answers: list[int] = []
    start = threading.Barrier(4)

    def press() -> None:
        client = Client(raise_request_exception=False)
        client.force_login(alice, backend=MODEL_BACKEND)
        start.wait()
        try:
            answers.append(client.post("/account/tokens/", {"action": "create"}).status_code)
        finally:
            connection.close()

    for _ in range(5):
        threads = [threading.Thread(target=press) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert answers == [302] * 20
    assert CalendarFeed.objects.active().filter(user=alice).count() == 1
