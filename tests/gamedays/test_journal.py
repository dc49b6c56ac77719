"""Reading Chaos Toolkit journals (gamedays/journal.py): outcomes, odd and foreign JSON."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from common.markdown import render_markdown
from gamedays.journal import (
    MAX_ACTIVITIES,
    MAX_JOURNAL_BYTES,
    NotAJournal,
    parse_journal,
    read_journal,
)
from gamedays.models import Scenario
from gamedays.records import MAX_MARKDOWN
from tests.api_helpers import api_client_for

# A journal as chaostoolkit-lib 1.44 writes it (trimmed: no provider details).
PROBE = {"type": "probe", "name": "api-answers", "tolerance": 0,
         "provider": {"type": "process", "path": "curl"}}  # fmt: skip
JOURNAL: dict[str, Any] = {
    "chaoslib-version": "1.44.0",
    "platform": "Linux",
    "node": "runner",
    "experiment": {"title": "Lose an etcd member", "method": [], "dry": None},
    "start": "2026-03-02T14:05:07.123456+00:00",
    "end": "2026-03-02T14:06:00.000000+00:00",
    "duration": 52.9,
    "status": "completed",
    "deviated": False,
    "steady_states": {
        "before": {"steady_state_met": True, "probes": [
            {"activity": PROBE, "status": "succeeded", "tolerance_met": True,
             "output": {"status": 0, "stdout": "ok\n", "stderr": ""}},
        ]},
        "after": {"steady_state_met": True, "probes": [
            {"activity": PROBE, "status": "succeeded", "tolerance_met": True,
             "output": {"status": 0, "stdout": "ok\n", "stderr": ""}},
        ]},
        "during": [],
    },
    "run": [{"activity": {"type": "action", "name": "terminate-member"}, "status": "succeeded",
             "output": "i-0abc terminated"}],
    "rollbacks": [],
}  # fmt: skip


def journal(**changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(JOURNAL)
    result.update(changes)
    return result


def refusal(value: Any) -> list[str]:
    with pytest.raises(NotAJournal) as refused:
        parse_journal(value)
    return refused.value.errors.as_lines()


# --- outcomes --------------------------------------------------------------------------------


def test_a_completed_run_that_did_not_deviate_held() -> None:
    run = parse_journal(journal())
    assert run.outcome == "held"
    assert run.ran_at.isoformat() == "2026-03-02T14:05:07+00:00"  # its start, to the second
    assert "Lose an etcd member" in run.observations
    assert "probe `api-answers`: succeeded, tolerance met — `exit 0; stdout: ok`" in (
        run.observations
    )
    assert "action `terminate-member`: succeeded — `i-0abc terminated`" in run.observations


def test_a_deviated_run_failed() -> None:
    deviated = journal(deviated=True)
    after = deviated["steady_states"]["after"]
    after["steady_state_met"] = False
    after["probes"][0].update(tolerance_met=False, output={"status": 7, "stdout": "",
                                                           "stderr": "refused"})  # fmt: skip
    run = parse_journal(deviated)
    assert run.outcome == "failed"
    assert "**Steady state after** — **not met**" in run.observations
    assert "**tolerance not met** — `exit 7; stderr: refused`" in run.observations
    assert run.summary["steady_state_after"]["met"] is False


@pytest.mark.parametrize("status", ["failed", "aborted", "interrupted"])
def test_a_run_that_did_not_complete_was_aborted(status: str) -> None:
    run = parse_journal(journal(status=status))
    assert run.outcome == "aborted"
    assert f"the run ended {status}" in run.observations


def test_a_run_whose_steady_state_was_not_met_before_injected_nothing() -> None:
    gated = journal(run=[])
    gated["steady_states"]["before"]["steady_state_met"] = False
    gated["steady_states"]["after"] = None
    run = parse_journal(gated)
    assert run.outcome == "aborted"  # not "held": nothing was tested
    assert "not met before the method" in run.observations


def test_the_observations_render_and_stay_bounded() -> None:
    many = journal(run=[{"activity": {"type": "action", "name": f"step-{n}"},
                         "status": "failed", "exception": ["Traceback", "boom `x` *y*"],
                         "output": {"huge": "x" * 100_000}}
                        for n in range(MAX_ACTIVITIES * 3)])  # fmt: skip
    run = parse_journal(many)
    assert len(run.summary["method"]["activities"]) == MAX_ACTIVITIES
    assert run.summary["method"]["more"] == MAX_ACTIVITIES * 2
    assert f"… and {MAX_ACTIVITIES * 2} more" in run.observations
    assert len(run.observations) < 60_000 and len(json.dumps(run.summary)) < 60_000
    html = render_markdown(run.observations)
    assert "<code>boom `x` *y*</code>" in html.replace("&#96;", "`")


def test_a_byte_order_mark_is_ignored() -> None:
    assert read_journal(b"\xef\xbb\xbf" + json.dumps(journal()).encode()).outcome == "held"


# --- refusals --------------------------------------------------------------------------------


def test_foreign_json_is_named_as_such() -> None:
    assert refusal({"incidents": []}) == [
        "record: Not a Chaos Toolkit journal: no `experiment` (send the journal.json that "
        "`chaos run` writes)."
    ]
    assert "a journal is a JSON object, not a list" in refusal([1, 2])[0]
    assert "`experiment` is text" in refusal({"experiment": "x"})[0]


def test_each_problem_is_named_at_its_path() -> None:
    lines = refusal(journal(status="running", start="yesterday", deviated="no", run={}))
    assert lines == [
        "status must be one of completed, failed, aborted, interrupted, not 'running'.",
        "deviated must be true or false, not text.",
        "start must be a date or date-time in ISO 8601, not 'yesterday'.",
        "run must be a list of activity results, not an object.",
    ]
    assert refusal(journal(status=None, start=None)) == [
        "status must be one of completed, failed, aborted, interrupted, not null.",
        "start is required.",
    ]
    assert refusal(journal(run=[{"status": "succeeded"}]))[0].startswith(
        "run[1] must be an activity result"
    )


def test_a_dry_run_is_refused() -> None:
    dry = journal()
    dry["experiment"]["dry"] = "activities"
    assert "A dry run" in refusal(dry)[0]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{not json", "Not JSON (Expecting property name"),
        (b"\xff\xfe", "Not UTF-8"),
        (b"[" * 10_000 + b"]" * 10_000, "nested deeper than 64 levels"),
        (b"1" * 5000, "Not JSON Once can read"),
        (b" " * (MAX_JOURNAL_BYTES + 1), "the limit is 5,242,880"),
    ],
)
def test_bytes_that_are_not_json_are_named(data: bytes, reason: str) -> None:
    with pytest.raises(NotAJournal) as refused:
        read_journal(data)
    assert reason in str(refused.value)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    ["experiment", "status", "deviated", "start", "end", "duration", "steady_states", "run",
     "rollbacks", "chaoslib-version"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(value=JSON)
def test_any_json_is_read_or_refused_with_reasons(value: Any) -> None:
    try:
        parse_journal(value)
    except NotAJournal as refused:
        assert refused.errors.as_lines()


@settings(max_examples=300, deadline=None)
@given(changes=st.dictionaries(KEYS, JSON, max_size=4), drop=st.lists(KEYS, max_size=3))
def test_any_damage_to_a_journal_is_read_or_refused_with_reasons(
    changes: dict[str, Any], drop: list[str]
) -> None:
    damaged = journal(**changes)
    for key in drop:
        damaged.pop(key, None)
    try:
        run = parse_journal(damaged)
    except NotAJournal as refused:
        assert refused.errors.as_lines()
    else:
        assert run.outcome in ("held", "failed", "aborted")
        assert len(run.observations) <= MAX_MARKDOWN
        json.dumps(run.summary)  # storable as it is


# --- through the API and the command ---------------------------------------------------------


@pytest.fixture
def api(alice: Any) -> APIClient:
    return api_client_for(alice)


@pytest.fixture
def scenario(api: APIClient) -> Scenario:
    created = api.post(
        "/api/game-days/",
        {"title": "etcd", "scheduled_at": timezone.now().isoformat(),
         "scenarios": [{"category": "Control plane > etcd", "injection": "Terminate a member"}]},
        format="json",
    )  # fmt: skip
    return Scenario.objects.get(pk=created.json()["scenarios"][0]["id"])


def post(api: APIClient, scenario: Scenario, body: bytes) -> Any:
    return api.post(f"/api/scenarios/{scenario.pk}/journal/", body, content_type="application/json")


@pytest.mark.django_db
def test_the_api_answers_bad_journals_with_400_and_the_reason(
    api: APIClient, scenario: Scenario
) -> None:
    response = post(api, scenario, b'{"incidents": []}')
    assert response.status_code == 400
    assert "no `experiment`" in response.json()["non_field_errors"][0]
    response = post(api, scenario, json.dumps(journal(status="running")).encode())
    assert response.json() == {
        "status": ["This field must be one of completed, failed, aborted, interrupted, "
                   "not 'running'."]
    }  # fmt: skip
    assert "body is empty" in post(api, scenario, b"").json()["non_field_errors"][0]
    assert post(api, scenario, b"{").status_code == 400
    scenario.refresh_from_db()
    assert scenario.outcome == "pending" and scenario.journal is None


@pytest.mark.django_db
def test_the_api_takes_a_journal_larger_than_other_bodies_up_to_its_limit(
    api: APIClient, scenario: Scenario, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    padded = journal(platform="x" * 100_000)
    assert post(api, scenario, json.dumps(padded).encode()).status_code == 200
    response = post(api, scenario, b" " * (MAX_JOURNAL_BYTES + 1))
    assert response.status_code == 413
    assert "5,242,880" in response.json()["detail"]


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=st.dictionaries(KEYS, JSON, max_size=3))
def test_the_api_never_fails_on_a_damaged_journal(
    api: APIClient, scenario: Scenario, changes: dict[str, Any]
) -> None:
    response = post(api, scenario, json.dumps(journal(**changes)).encode())
    assert response.status_code in (200, 400), response.content


def import_journal(path: Path, scenario_id: int) -> tuple[str, str, int]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(
            "import_chaos_journal", str(path), scenario=scenario_id, stdout=out, stderr=err
        )
    except CommandError as error:
        return out.getvalue(), err.getvalue() + str(error), 1
    return out.getvalue(), err.getvalue(), 0


@pytest.mark.django_db
def test_the_command_names_what_is_wrong_and_exits_non_zero(
    tmp_path: Path, scenario: Scenario
) -> None:
    path = tmp_path / "journal.json"
    path.write_text(json.dumps({"status": "completed"}))
    _, err, code = import_journal(path, scenario.pk)
    assert code == 1 and "no `experiment`" in err and "was not recorded" in err
    _, err, code = import_journal(tmp_path / "missing.json", scenario.pk)
    assert code == 1 and "Can't read" in err
    path.write_text(json.dumps(journal()))
    _, err, code = import_journal(path, 987_654)
    assert code == 1 and "There is no scenario 987654" in err
    out, _, code = import_journal(path, scenario.pk)
    assert code == 0 and "held, ran at 2026-03-02 14:05 UTC" in out


def test_a_closed_game_day_takes_no_journal_on_any_way_in(
    api: APIClient, scenario: Scenario, tmp_path: Path
) -> None:
    from gamedays.models import GameDay

    GameDay.objects.filter(pk=scenario.game_day_id).update(status="done")
    body = json.dumps(journal()).encode()
    response = post(api, scenario, body)
    assert response.status_code == 409
    assert "This game day is done" in response.json()["detail"]
    path = tmp_path / "journal.json"
    path.write_bytes(body)
    with pytest.raises(CommandError, match="This game day is done"):
        call_command("import_chaos_journal", str(path), scenario=scenario.pk)
    assert Scenario.objects.get(pk=scenario.pk).outcome == "pending"
