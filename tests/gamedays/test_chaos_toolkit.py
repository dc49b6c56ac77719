"""Real Chaos Toolkit runs recorded in Once: `chaos run` of our own experiments
(tests/gamedays/chaos/, every probe and action a local process) writes real journals, which
go through `POST /api/scenarios/<id>/journal/` and `import_chaos_journal`."""

from __future__ import annotations

import datetime
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from gamedays.models import GameDay
from incidents.actions import get_or_create_category
from remediations.models import Effectiveness, Remediation
from tests.api_helpers import api_client_for
from tests.factories import RemediationFactory

pytestmark = pytest.mark.django_db

EXPERIMENTS = Path(__file__).with_name("chaos")
CHAOS = Path(sys.executable).with_name("chaos")  # the venv's, from requirements-dev.txt


def chaos_run(experiment: str, tmp_path: Path) -> dict[str, Any]:
    """`chaos run` of one of our experiments against two replicas in tmp_path; its journal."""
    workdir = tmp_path / f"{experiment}-replicas"
    workdir.mkdir()
    for name in ("a", "b"):
        (workdir / f"replica-{name}.up").touch()
    journal = tmp_path / f"{experiment}-journal.json"
    # The experiments call `python3`: this venv's, whatever the machine has on its PATH.
    env = {**os.environ, "PATH": f"{CHAOS.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [
        str(CHAOS), "--no-version-check", "--no-log-file", "run",
        "--journal-path", str(journal), "--rollback-strategy", "always",
        "--var", f"workdir={workdir}", str(EXPERIMENTS / f"{experiment}.json"),
    ]  # fmt: skip
    done = subprocess.run(  # noqa: S603 - our own command line
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert journal.exists(), done.stdout + done.stderr
    # The rollback ran: both replicas are back.
    assert sorted(p.name for p in workdir.iterdir()) == ["replica-a.up", "replica-b.up"]
    result: dict[str, Any] = json.loads(journal.read_text())
    return result


@pytest.fixture
def fix() -> Remediation:
    now = timezone.now()
    return RemediationFactory(
        title="Two replicas behind the load balancer", kind="prevent", status="done",
        category=get_or_create_category("Compute > Replica loss"),
        opened_at=now - datetime.timedelta(days=20), done_at=now - datetime.timedelta(days=10),
    )  # fmt: skip


@pytest.fixture
def api(alice: Any) -> APIClient:
    return api_client_for(alice)


def _game_day(api: APIClient, fix: Remediation) -> GameDay:
    created = api.post(
        "/api/game-days/",
        {"title": "Replica loss", "scheduled_at": timezone.now().isoformat(),
         "scenarios": [
             {"title": "One replica", "category": "Compute > Replica loss",
              "injection": "Terminate replica a", "verifies": [fix.pk]},
             {"title": "Every replica", "category": "Compute > Replica loss",
              "injection": "Terminate every replica", "verifies": [fix.pk]},
         ]},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    return GameDay.objects.get(pk=created.json()["id"])


def test_real_journals_record_held_and_failed(
    tmp_path: Path, api: APIClient, fix: Remediation
) -> None:
    held_journal = chaos_run("holds", tmp_path)
    failed_journal = chaos_run("deviates", tmp_path)
    assert held_journal["status"] == "completed" and held_journal["deviated"] is False
    assert failed_journal["status"] == "completed" and failed_journal["deviated"] is True

    game_day = _game_day(api, fix)
    one, every = game_day.scenarios.order_by("position")
    body = json.dumps(held_journal).encode()
    response = api.post(f"/api/scenarios/{one.pk}/journal/", body, content_type="application/json")
    assert response.status_code == 200, response.json()
    scenario = response.json()
    assert scenario["outcome"] == "held"
    started = datetime.datetime.fromisoformat(held_journal["start"]).replace(microsecond=0)
    assert datetime.datetime.fromisoformat(scenario["ran_at"]) == started
    assert "a-replica-answers" in scenario["observations"]
    assert "terminate-replica-a" in scenario["observations"]
    assert "restart-replica-a" in scenario["observations"]
    assert "1 up: replica-b.up" in scenario["observations"]  # the probe's output, after
    assert scenario["has_journal"] is True
    fix.refresh_from_db()
    assert fix.effectiveness == Effectiveness.VERIFIED
    game_day.refresh_from_db()
    assert game_day.status == "running"

    # The deviating run, from a file, through the command.
    path = tmp_path / "deviates-journal.json"
    out = io.StringIO()
    call_command("import_chaos_journal", str(path), scenario=every.pk, stdout=out)
    assert "failed" in out.getvalue()
    every.refresh_from_db()
    assert every.outcome == "failed"
    assert every.ran_at == datetime.datetime.fromisoformat(failed_journal["start"]).replace(
        microsecond=0
    )
    assert "**tolerance not met**" in every.observations
    assert "terminate-every-replica" in every.observations
    assert every.journal is not None and every.journal["deviated"] is True
    assert every.journal["steady_state_after"]["met"] is False
    # Whether the fix is now verified or regressed depends on which run started later (the
    # two may share a second): that rule is tested in test_actions.py.


def test_a_journal_is_kept_below_what_people_wrote(
    tmp_path: Path, api: APIClient, fix: Remediation
) -> None:
    journal = chaos_run("holds", tmp_path)
    game_day = _game_day(api, fix)
    scenario = game_day.scenarios.order_by("position")[0]
    written = api.patch(
        f"/api/game-days/{game_day.pk}/",
        {"version": game_day.version,
         "scenarios": [{"id": s.pk, "observations": "Pager stayed quiet."}
                       for s in game_day.scenarios.order_by("position")]},
        format="json",
    )  # fmt: skip
    assert written.status_code == 200, written.json()
    url = f"/api/scenarios/{scenario.pk}/journal/"
    body = json.dumps(journal).encode()
    api.post(url, body, content_type="application/json")
    second = api.post(url, body, content_type="application/json").json()  # the same run again
    assert second["observations"].startswith("Pager stayed quiet.\n\n#### Chaos Toolkit run")
    assert second["observations"].count("#### Chaos Toolkit run") == 1
