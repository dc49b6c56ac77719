"""A game-day scenario names the fixes it verifies by id. A fix of a restricted incident shares
its visibility (PRODUCT.md, "Who may see and change what"), so for charlie its id must be as
unknown as an id nobody has: its title must not appear in an error, and he must not be able to
tie it to his scenario (a failed scenario would mark that hidden fix regressed). Every way in
goes through gamedays.actions.save_game_day, which is told who writes."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from common.validation import Errors, RecordInvalid
from gamedays.actions import save_game_day
from gamedays.models import GameDay
from gamedays.records import clean_game_day
from remediations.models import Remediation
from tests.hidden_fix import CANARY, HiddenIncident

pytestmark = pytest.mark.django_db

MODE = "Secrets > Keys"


@pytest.fixture
def fix(hidden_incident: HiddenIncident) -> Remediation:
    """The done fix of an incident restricted to Security (bob is in it, charlie is not)."""
    fix = hidden_incident(MODE).remediations.get()
    Remediation.objects.filter(pk=fix.pk).update(status="done", done_at=timezone.now())
    return fix


def _plan(category: str, fix_id: int) -> dict[str, Any]:
    scenario = {"category": category, "injection": "Pull the plug.", "verifies": [fix_id]}
    return {"title": "Probe", "scheduled_at": "2030-01-10T10:00:00Z", "scenarios": [scenario]}


def test_an_error_about_a_verified_fix_does_not_name_a_hidden_fix(
    fix: Remediation, charlie_client: Client, bob_client: Client
) -> None:
    answer = charlie_client.post(
        "/api/game-days/", _plan("Storage", fix.pk), content_type="application/json"
    )
    assert answer.status_code == 400
    assert CANARY not in answer.content.decode().lower()
    assert f"There is no remediation {fix.pk}." in answer.content.decode()
    # bob may see it: he is told why it does not fit.
    answer = bob_client.post(
        "/api/game-days/", _plan("Storage", fix.pk), content_type="application/json"
    )
    assert answer.status_code == 400
    assert "does not cover Storage" in answer.content.decode()


def test_a_hidden_fix_is_refused_as_if_it_did_not_exist(
    fix: Remediation, charlie_client: Client, bob_client: Client
) -> None:
    answer = charlie_client.post(
        "/api/game-days/", _plan(MODE, fix.pk), content_type="application/json"
    )
    assert answer.status_code == 400, answer.json()
    assert f"There is no remediation {fix.pk}." in answer.content.decode()
    nobody = charlie_client.post(
        "/api/game-days/", _plan(MODE, 999_999), content_type="application/json"
    )
    # The same answer, word for word, as for an id nobody has.
    assert nobody.content.decode().replace("999999", str(fix.pk)) == answer.content.decode()
    assert not GameDay.objects.exists()
    # bob may tie it to his scenario.
    mine = bob_client.post("/api/game-days/", _plan(MODE, fix.pk), content_type="application/json")
    assert mine.status_code == 201, mine.json()
    assert mine.json()["scenarios"][0]["verifies"] == [fix.pk]


def test_the_plan_form_refuses_a_hidden_fix_like_an_unknown_one(
    fix: Remediation, charlie_client: Client
) -> None:
    data = {
        "title": "Probe", "scheduled_at": "2030-05-04T10:00:00", "environment": "staging",
        "facilitator": "", "participants": [], "plan": "",
        "scenarios-TOTAL_FORMS": "1", "scenarios-INITIAL_FORMS": "0",
        "scenarios-0-category": MODE, "scenarios-0-injection": "Pull the plug.",
        "scenarios-0-services_text": "", "scenarios-0-verifies": [str(fix.pk)],
    }  # fmt: skip
    answer = charlie_client.post("/game-days/new/", data)
    assert answer.status_code == 400
    page = answer.content.decode()
    assert f"There is no remediation {fix.pk}." in page
    assert CANARY not in page.lower()
    assert not GameDay.objects.exists()


def test_the_write_path_refuses_a_hidden_fix_for_the_writer_only(
    fix: Remediation, charlie: User
) -> None:
    errors = Errors()
    record = clean_game_day(_plan(MODE, fix.pk), errors)
    assert not errors
    with pytest.raises(RecordInvalid) as refused:
        save_game_day(GameDay(), record, by=charlie, expected_version=None)
    assert f"There is no remediation {fix.pk}." in " ".join(refused.value.errors.as_lines())
    # An import (import_game_days) is the system's: it sees every fix.
    game_day = GameDay()
    save_game_day(game_day, record, by=None, expected_version=None)
    assert [f.pk for f in game_day.scenarios.get().verifies.all()] == [fix.pk]


def test_a_scenario_keeps_verifying_a_hidden_fix_when_an_outsider_edits_it(
    fix: Remediation, bob_client: Client, charlie_client: Client
) -> None:
    """What charlie was not shown he can't uncheck: his edit keeps bob's hidden link."""
    made = bob_client.post("/api/game-days/", _plan(MODE, fix.pk), content_type="application/json")
    game_day = made.json()
    (scenario,) = game_day["scenarios"]
    seen = charlie_client.get(f"/api/game-days/{game_day['id']}/").json()
    assert seen["scenarios"][0]["verifies"] == []
    edit = {
        "version": seen["version"],
        "scenarios": [{"id": scenario["id"], "hypothesis": "It holds.", "verifies": []}],
    }
    answer = charlie_client.patch(
        f"/api/game-days/{game_day['id']}/", edit, content_type="application/json"
    )
    assert answer.status_code == 200, answer.json()
    assert CANARY not in answer.content.decode().lower()
    assert answer.json()["scenarios"][0]["verifies"] == []
    stored = GameDay.objects.get(pk=game_day["id"]).scenarios.get()
    assert stored.hypothesis == "It holds."
    assert [f.pk for f in stored.verifies.all()] == [fix.pk]
