"""Schemathesis: requests generated from the live OpenAPI schema, sent to a live server.

No answer may be a 5xx, and every answer must match the schema (status code, content type,
body). Runs in `make test`, authenticated with a token: a few hundred cases in all. The
schemathesis CLI drives the run (its pytest plugin does not support pytest 9 yet).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from common.validation import Errors
from gamedays.actions import save_game_day
from gamedays.models import GameDay
from gamedays.records import clean_game_day
from incidents.actions import get_or_create_category
from tests.api_helpers import api_key_for
from tests.factories import IncidentFactory, RemediationFactory, UserFactory, make_flag

pytestmark = pytest.mark.django_db(transaction=True)

# Cases per API operation (there are about 25 operations), from a fixed seed so that a CI
# failure reproduces locally with the same command.
EXAMPLES = 25
SEED = 20261127
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def test_the_api_never_fails_and_matches_its_schema(live_server: Any) -> None:
    token = api_key_for(UserFactory(username="alice"))
    # Objects for the generated ids to find now and then (ids start low in a fresh database).
    category = get_or_create_category("Networking > Envoy")
    incident = IncidentFactory(categories=[category])
    remediation = RemediationFactory(category=category, incident=incident, status="done",
                                     opened_at="2019-01-01T00:00:00Z", done_at="2019-02-01T00:00:00Z")  # fmt: skip
    make_flag(incident, category, remediation)
    errors = Errors()
    game_day = clean_game_day(
        {"title": "Envoy control plane down", "scheduled_at": "2026-06-01T09:00:00Z",
         "scenarios": [{"category": "Networking > Envoy", "injection": "Stop the control plane",
                        "verifies": [remediation.pk]}]},
        errors,
    )  # fmt: skip
    save_game_day(GameDay(), game_day, by=None, expected_version=None)

    ARTIFACTS.mkdir(exist_ok=True)
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run",
        f"{live_server.url}/api/schema/",
        "--header", f"Authorization: Token {token}",
        "--checks", CHECKS,
        "--max-examples", str(EXAMPLES),
        "--seed", str(SEED),
        "--workers", "1",
        "--request-timeout", "30",
        "--report", "junit", "--report-dir", str(ARTIFACTS),
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)  # noqa: S603
    (ARTIFACTS / "schemathesis.txt").write_text(run.stdout + run.stderr)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
