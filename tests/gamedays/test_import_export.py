"""import_game_days / export_game_days: the `game_days` JSON Lines file (docs/import-export.md)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamedays.models import GameDay, Scenario
from incidents.actions import get_or_create_category
from remediations.models import Effectiveness, Remediation
from tests.factories import IncidentFactory, RemediationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fixes(alice: Any) -> dict[str, Remediation]:
    etcd = get_or_create_category("Control plane > etcd")
    incident = IncidentFactory(external_id="pm-2019-014", categories=[etcd])
    done = {"kind": "prevent", "status": "done", "opened_at": "2019-03-03T09:00:00Z",
            "done_at": "2019-03-20T12:00:00Z", "category": etcd}  # fmt: skip
    return {
        "members": RemediationFactory(title="Five etcd members", incident=incident, **done),
        "iops": RemediationFactory(title="Provisioned IOPS", incident=incident, **done),
        "alone": RemediationFactory(title="Defragment nightly", **done),
    }


def game_day(**fields: Any) -> dict[str, Any]:
    return {
        "external_id": "gd-2026-03", "title": "etcd under pressure",
        "scheduled_at": "2026-03-02T09:00:00Z", "environment": "staging",
        "facilitator": "alice", "participants": ["alice"], "plan": "1. Terminate a member",
        "status": "done", "notes": "Went well.",
        "scenarios": [{
            "title": "Lose a member", "category": "Control plane > etcd",
            "injection": "Terminate one etcd member", "services": ["etcd"],
            "verifies": [{"title": "Five etcd members", "incident": "pm-2019-014"}],
            "outcome": "held", "observations": "Leader moved in 2 s.",
            "ran_at": "2026-03-02T10:00:00Z",
        }],
        **fields,
    }  # fmt: skip


def run_import(tmp_path: Path, lines: list[str], prefix: bytes = b"") -> tuple[str, str, int]:
    path = tmp_path / "game_days.jsonl"
    path.write_bytes(prefix + ("\n".join(lines) + "\n").encode())
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_game_days", str(path), stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue() + str(error), 1
    return out.getvalue(), err.getvalue(), 0


def export() -> str:
    out = io.StringIO()
    call_command("export_game_days", stdout=out)
    return out.getvalue()


def test_a_game_day_is_imported_with_its_scenarios_and_evidence(
    tmp_path: Path, fixes: dict[str, Remediation]
) -> None:
    out, err, code = run_import(tmp_path, [json.dumps(game_day())], prefix=b"\xef\xbb\xbf")
    assert code == 0, err
    assert "1 created, 0 updated, 0 unchanged, 0 failed" in out
    stored = GameDay.objects.get(external_id="gd-2026-03")
    scenario = stored.scenarios.get()
    assert list(scenario.verifies.all()) == [fixes["members"]]
    assert stored.history.count() == 1
    fixes["members"].refresh_from_db()
    assert fixes["members"].effectiveness == Effectiveness.VERIFIED


def test_importing_again_updates_in_place_or_changes_nothing(
    tmp_path: Path, fixes: dict[str, Remediation]
) -> None:
    run_import(tmp_path, [json.dumps(game_day())])
    scenario_id = Scenario.objects.get().pk
    out, _, code = run_import(tmp_path, [json.dumps(game_day())])
    assert code == 0 and "0 created, 0 updated, 1 unchanged" in out
    assert GameDay.objects.get().history.count() == 1  # no new version
    changed = game_day(notes="Went well; write it up.")
    changed["scenarios"][0]["injection"] = "Terminate one etcd member (the leader)"
    out, _, code = run_import(tmp_path, [json.dumps(changed)])
    assert code == 0 and "0 created, 1 updated" in out
    # The same scenario, edited: its result stays evidence, its id and links stay.
    assert Scenario.objects.get().pk == scenario_id
    assert GameDay.objects.get().version == 2


def test_bad_lines_are_named_with_reasons_and_good_ones_imported(
    tmp_path: Path, fixes: dict[str, Remediation]
) -> None:
    wrong_fix = game_day(external_id="gd-2")
    wrong_fix["scenarios"][0]["verifies"] = [
        {"title": "Nope", "incident": "pm-2019-014"},
        {"title": "Defragment nightly", "id": fixes["iops"].pk},
        "five",
    ]
    lines = [
        json.dumps(game_day()),
        "{not json",
        json.dumps({"title": "No time"}),
        json.dumps(game_day(external_id="gd-3", environment="moon")),
        json.dumps(wrong_fix),
        json.dumps(game_day(title="Twice")),
        "",
        json.dumps(["a list"]),
    ]
    out, err, code = run_import(tmp_path, lines)
    assert code == 1
    assert "1 created, 0 updated, 0 unchanged, 6 failed, 1 blank lines skipped" in out
    assert "line 2: not JSON (Expecting property name" in err
    assert "line 3: scheduled_at is required." in err
    assert "line 4: environment must be one of qa, staging, production, not 'moon'." in err
    assert (
        "line 5: scenarios[1].verifies[1] names no remediation: none called “Nope” on "
        "incident 'pm-2019-014'." in err
    )
    assert f"scenarios[1].verifies[2] names remediation {fixes['iops'].pk}, which is " in err
    assert "scenarios[1].verifies[3] must name a remediation" in err
    assert "line 6: external_id 'gd-2026-03' is also on line 1" in err
    assert "line 8: a line must hold a JSON object" in err
    assert list(GameDay.objects.values_list("external_id", flat=True)) == ["gd-2026-03"]


def test_a_fix_that_does_not_cover_the_scenario_is_refused_like_everywhere(
    tmp_path: Path, fixes: dict[str, Remediation]
) -> None:
    dns = RemediationFactory(title="Cache DNS", category=get_or_create_category("DNS"))
    line = game_day()
    line["scenarios"][0]["verifies"] = [dns.pk]
    _, err, code = run_import(tmp_path, [json.dumps(line)])
    assert code == 1
    assert "scenarios[1].verifies[1]: “Cache DNS” does not cover Control plane > etcd" in err
    assert not GameDay.objects.exists()


def test_a_ran_scenario_left_out_of_the_file_fails_the_line(
    tmp_path: Path, fixes: dict[str, Remediation]
) -> None:
    run_import(tmp_path, [json.dumps(game_day())])
    _, err, code = run_import(tmp_path, [json.dumps(game_day(scenarios=[]))])
    assert code == 1 and "can't be removed" in err
    assert Scenario.objects.count() == 1


def test_export_import_export_is_identical(tmp_path: Path, fixes: dict[str, Remediation]) -> None:
    UserFactory(username="bob")
    odd = 'Line\u2028separator, NUL-free \u00e9 \U0001f525 "quotes" \\ and <b>html</b>'
    second = game_day(external_id=None, title=odd, participants=["bob", "alice", "nobody"],
                      status="planned", scheduled_at="2026-04-01T09:00:00+02:00")  # fmt: skip
    second["scenarios"] = [
        {"category": "Control plane > etcd", "injection": odd, "verifies": [
            {"title": "Provisioned IOPS", "incident": "pm-2019-014"},
            {"title": "Defragment nightly", "id": fixes["alone"].pk},
            {"title": "Five etcd members", "incident": "pm-2019-014"}]},
        {"category": "Networking > DNS", "injection": "Drop DNS", "outcome": "failed",
         "ran_at": "2026-04-01T10:00:00Z", "observations": odd},
    ]  # fmt: skip
    _, err, code = run_import(tmp_path, [json.dumps(game_day()), json.dumps(second)])
    assert code == 0 and "warning: Nobody is called “nobody” in Once" in err
    first = export()
    GameDay.objects.all().delete()
    _, err, code = run_import(tmp_path, first.splitlines())
    assert code == 0, err
    assert export() == first
    lines = [json.loads(line) for line in first.splitlines()]
    assert len(lines) == 2 and "\\u2028" in first
    assert lines[1]["scenarios"][0]["verifies"] == [
        {"title": "Defragment nightly", "id": fixes["alone"].pk},
        {"title": "Five etcd members", "incident": "pm-2019-014"},
        {"title": "Provisioned IOPS", "incident": "pm-2019-014"},
    ]
    assert lines[1]["scheduled_at"] == "2026-04-01T07:00:00Z"


def test_export_writes_to_a_file(tmp_path: Path, fixes: dict[str, Remediation]) -> None:
    run_import(tmp_path, [json.dumps(game_day())])
    target = tmp_path / "out.jsonl"
    call_command("export_game_days", str(target))
    assert target.read_text(encoding="utf-8") == export()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=15),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
KEYS = st.sampled_from(
    ["external_id", "title", "scheduled_at", "environment", "status", "participants",
     "scenarios", "facilitator"]
)  # fmt: skip
SCENARIO_KEYS = st.sampled_from(["category", "injection", "verifies", "outcome", "ran_at", "id"])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    changes=st.dictionaries(KEYS, JSON, max_size=2),
    scenario=st.dictionaries(SCENARIO_KEYS, JSON, max_size=2),
)
def test_any_line_is_imported_or_named_with_a_reason(
    tmp_path: Path, fixes: dict[str, Remediation], changes: dict[str, Any], scenario: dict[str, Any]
) -> None:
    line = game_day(**{"external_id": "fuzz", **changes})
    if (
        isinstance(line.get("scenarios"), list)
        and line["scenarios"]
        and isinstance(line["scenarios"][0], dict)
    ):
        line["scenarios"][0].update(scenario)
    out, err, code = run_import(tmp_path, [json.dumps(line)])
    assert ("1 failed" in out and "line 1: " in err) or code == 0, (out, err)
