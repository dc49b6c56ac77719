"""Finding game days by half-remembered words, on the list page and in the API."""

from __future__ import annotations

from typing import Any

import pytest

from common.validation import Errors
from gamedays.actions import save_game_day
from gamedays.models import GameDay
from gamedays.records import clean_game_day
from tests.api_helpers import api_client_for

pytestmark = pytest.mark.django_db


def _plan(title: str, injection: str, category: str, **fields: Any) -> GameDay:
    errors = Errors()
    record = clean_game_day(
        {"title": title, "scheduled_at": "2026-11-02T10:00:00Z", **fields,
         "scenarios": [{"category": category, "injection": injection, "services": ["etcd"]}]},
        errors,
    )  # fmt: skip
    assert not errors.items
    game_day = GameDay()
    save_game_day(game_day, record, by=None, expected_version=None)
    return game_day


@pytest.fixture
def game_days() -> dict[str, GameDay]:
    return {
        "etcd": _plan("Staging control plane day", "Terminate one etcd member",
                      "Control plane > etcd", environment="staging"),
        "config": _plan("Deploy path day", "Push an invalid Envoy route configuration",
                        "Configuration > Invalid configuration push", environment="production",
                        plan="Canary first."),
    }  # fmt: skip


def test_the_list_finds_game_days_by_words_anywhere_in_them(
    alice_client: Any, game_days: dict[str, GameDay]
) -> None:
    page = alice_client.get("/game-days/", {"q": "ETCD terminate"}).content.decode()
    assert "Staging control plane day" in page and "Deploy path day" not in page
    page = alice_client.get("/game-days/", {"q": "canary envoy"}).content.decode()
    assert "Deploy path day" in page and "Staging control plane day" not in page
    page = alice_client.get("/game-days/", {"q": "kafka"}).content.decode()
    assert "Deploy path day" not in page and "Staging control plane day" not in page
    assert 'value="kafka"' in page  # what was typed stays in the box
    # The empty rows say the words found nothing, not that there are no game days.
    assert "No game day planned or running mentions every one of these words." in page
    assert "No game day planned. Plan one" not in page


def test_the_api_filters_by_words_status_and_environment(
    alice: Any, game_days: dict[str, GameDay]
) -> None:
    api = api_client_for(alice)
    titles = lambda **q: [g["title"] for g in api.get("/api/game-days/", q).json()["results"]]  # noqa: E731
    assert titles(q="invalid configuration") == ["Deploy path day"]
    assert titles(environment="staging") == ["Staging control plane day"]
    assert titles(status="planned", q="terminate") == ["Staging control plane day"]
    assert titles(status="done", q="terminate") == []
    assert api.get("/api/game-days/", {"status": "bogus"}).status_code == 400
    assert api.get("/api/game-days/", {"q": "x" * 201}).status_code == 400
