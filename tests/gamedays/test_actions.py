"""Game days through their one write path: scenarios, outcomes as evidence for fixes."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from common.concurrency import StaleVersion
from common.validation import Errors, RecordInvalid
from gamedays.actions import game_day_record_of, record_outcome, save_game_day
from gamedays.models import GameDay, Scenario
from gamedays.records import clean_game_day
from incidents.actions import get_or_create_category
from remediations.models import Effectiveness, Remediation
from tests.factories import RemediationFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def days(n: float) -> datetime.datetime:
    return NOW + datetime.timedelta(days=n)


def _fix(path: str = "Control plane > etcd", **fields: Any) -> Remediation:
    return RemediationFactory(
        **{"category": get_or_create_category(path), "kind": "prevent", "status": "done",
           "opened_at": days(-60), "done_at": days(-30), **fields},
    )  # fmt: skip


def _save(raw: dict[str, Any], game_day: GameDay | None = None, by: Any = None) -> GameDay:
    errors = Errors()
    record = clean_game_day(raw, errors)
    if errors:
        raise RecordInvalid(errors)
    game_day = game_day or GameDay()
    save_game_day(
        game_day, record, by=by, expected_version=game_day.version if game_day.pk else None
    )
    return game_day


def _plan(fix: Remediation, **scenario: Any) -> GameDay:
    return _save({
        "title": "Terminate an etcd member in staging", "scheduled_at": days(-1).isoformat(),
        "environment": "staging",
        "scenarios": [{
            "category": "Control plane > etcd", "injection": "Terminate one etcd member",
            "hypothesis": "The API keeps answering within 1 s", "verifies": [fix.pk],
            "services": ["etcd"], **scenario,
        }],
    })  # fmt: skip


def test_a_scenario_that_held_verifies_the_fix() -> None:
    fix = _fix()
    game_day = _plan(fix)
    scenario = game_day.scenarios.get()
    assert scenario.outcome == "pending" and scenario.ran_at is None
    record_outcome(
        scenario, outcome="held", observations="Leader moved in 2 s.", ran_at=None, by=None
    )
    fix.refresh_from_db()
    game_day.refresh_from_db()
    assert fix.effectiveness == Effectiveness.VERIFIED and fix.verified_at is not None
    assert "held" in fix.effectiveness_evidence and game_day.title in fix.effectiveness_evidence
    assert game_day.status == "running"  # recording a result starts the game day


def test_a_scenario_that_failed_regresses_the_fix_and_tells_its_owner(
    django_capture_on_commit_callbacks: Any,
) -> None:
    fix = _fix(owner=UserFactory(username="carol"))
    scenario = _plan(fix).scenarios.get()
    with django_capture_on_commit_callbacks(execute=True):
        record_outcome(
            scenario, outcome="failed", observations="Writes stalled 40 s.", ran_at=None, by=None
        )
        record_outcome(  # saved again: nobody is told twice
            Scenario.objects.get(pk=scenario.pk), outcome="failed",
            observations="Writes stalled 40 s. Rolled back.", ran_at=None, by=None,
        )  # fmt: skip
    fix.refresh_from_db()
    assert fix.effectiveness == Effectiveness.REGRESSED
    assert [m.to for m in mail.outbox] == [["carol@example.com"]]
    assert "Failed verification" in mail.outbox[0].body


def test_the_evidence_sentence_is_whole_whatever_the_titles() -> None:
    """The sentence beside a fix's effectiveness is kept in 300 characters: long game-day and
    scenario titles are shortened in it, never the date it ends with."""
    fix = _fix()
    game_day = _save({
        "title": "G" * 200, "scheduled_at": days(-1).isoformat(),
        "scenarios": [{"title": "S" * 200, "category": "Control plane > etcd",
                       "injection": "Terminate one etcd member", "verifies": [fix.pk]}],
    })  # fmt: skip
    record_outcome(game_day.scenarios.get(), outcome="held", observations="", ran_at=None, by=None)
    fix.refresh_from_db()
    assert fix.effectiveness == Effectiveness.VERIFIED
    assert fix.effectiveness_evidence.endswith(f"” held on {timezone.now():%Y-%m-%d}.")
    assert "G" * 40 in fix.effectiveness_evidence and "S" * 40 in fix.effectiveness_evidence


def test_a_scenario_before_the_fix_was_done_is_no_evidence() -> None:
    fix = _fix()
    scenario = _plan(fix).scenarios.get()
    record_outcome(scenario, outcome="held", observations="", ran_at=days(-45), by=None)
    fix.refresh_from_db()
    assert fix.effectiveness == Effectiveness.UNVERIFIED


def test_a_fix_must_cover_the_scenarios_failure_mode() -> None:
    elsewhere = _fix("Networking > DNS", title="Node-local DNS cache")
    with pytest.raises(RecordInvalid) as refused:
        _plan(elsewhere)
    assert refused.value.errors.as_lines() == [
        "scenarios[1].verifies[1]: “Node-local DNS cache” does not cover Control plane > etcd: "
        "a scenario verifies fixes on its failure mode or above it."
    ]
    above = _fix("Control plane", title="Five etcd members")
    assert _plan(above).scenarios.get().verifies.get() == above


def test_a_fix_moved_to_another_failure_mode_does_not_block_the_game_day(alice: Any) -> None:
    """Someone re-files a fix under another mode while a game day verifying it is planned:
    the game day can still start, record its results and close; only a new link to a fix
    that doesn't cover the mode is refused."""
    from django.test import Client

    from remediations.actions import remediation_record_of, save_remediation
    from remediations.records import clean_remediation
    from tests.conftest import MODEL_BACKEND

    fix = _fix()
    game_day = _plan(fix)
    record = game_day_record_of(game_day)
    record["scenarios"].append(
        {"id": None, "title": "", "category": "Storage > EBS latency", "services": [],
         "injection": "Throttle the volume", "hypothesis": "", "abort_conditions": "",
         "rollback_plan": "", "verifies": [], "outcome": "pending", "observations": "",
         "ran_at": None}
    )  # fmt: skip
    game_day = _save(record, game_day)
    errors = Errors()
    moved = clean_remediation(
        {**remediation_record_of(fix), "category": "Networking > DNS"}, errors
    )
    assert not errors
    save_remediation(fix, moved, by=None, expected_version=fix.version)

    client = Client()
    client.force_login(alice, backend=MODEL_BACKEND)
    assert client.post(f"/game-days/{game_day.pk}/start/").status_code == 302
    ebs = game_day.scenarios.get(category__path="Storage > EBS latency")
    record_outcome(ebs, outcome="held", observations="Latency alarm fired.", ran_at=None, by=None)
    assert Scenario.objects.get(pk=ebs.pk).outcome == "held"
    etcd = game_day.scenarios.get(category__path="Control plane > etcd")
    record_outcome(etcd, outcome="aborted", observations="", ran_at=None, by=None)
    assert Scenario.objects.get(pk=etcd.pk).verifies.get() == fix  # kept as it was planned

    record = game_day_record_of(GameDay.objects.get(pk=game_day.pk))
    other = _fix("Networking > DNS", title="Node-local DNS cache")
    record["scenarios"][0]["verifies"].append(other.pk)
    with pytest.raises(RecordInvalid, match="does not cover Control plane > etcd"):
        _save(record, GameDay.objects.get(pk=game_day.pk))


def test_a_scenario_that_ran_cannot_be_removed_but_a_pending_one_can() -> None:
    game_day = _plan(_fix())
    scenario = game_day.scenarios.get()
    record_outcome(scenario, outcome="aborted", observations="Alarm fired.", ran_at=None, by=None)
    record = game_day_record_of(GameDay.objects.get(pk=game_day.pk))
    with pytest.raises(RecordInvalid, match="can't be removed"):
        _save({**record, "scenarios": []}, GameDay.objects.get(pk=game_day.pk))
    assert Scenario.objects.filter(pk=scenario.pk).exists()


def test_two_people_record_two_scenarios_at_once_and_both_are_kept() -> None:
    fix = _fix()
    game_day = _plan(fix)
    record = game_day_record_of(game_day)
    record["scenarios"].append({**record["scenarios"][0], "id": None, "injection": "Fill the disk"})
    game_day = _save(record, GameDay.objects.get(pk=game_day.pk))
    first, second = game_day.scenarios.all()
    seen = {"outcome": "pending", "observations": ""}
    record_outcome(first, outcome="held", observations="ok", ran_at=None, by=None, seen=seen)
    record_outcome(second, outcome="failed", observations="no", ran_at=None, by=None, seen=seen)
    assert [(s.outcome, s.observations) for s in game_day.scenarios.all()] == [
        ("held", "ok"),
        ("failed", "no"),
    ]
    with pytest.raises(StaleVersion):  # someone recorded this one meanwhile: nothing is lost
        record_outcome(first, outcome="aborted", observations="", ran_at=None, by=None, seen=seen)
    assert Scenario.objects.get(pk=first.pk).outcome == "held"


def test_every_version_is_in_history_with_its_scenarios() -> None:
    game_day = _plan(_fix())
    record_outcome(
        game_day.scenarios.get(), outcome="held", observations="fine", ran_at=None, by=None
    )
    versions = list(GameDay.objects.get(pk=game_day.pk).history.order_by("history_id"))
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].parts["scenarios"][0]["outcome"] == "pending"
    assert versions[1].parts["scenarios"][0]["outcome"] == "held"
    assert versions[1].status == "running"


def test_the_validator_says_what_is_wrong_at_its_path() -> None:
    errors = Errors()
    clean_game_day(
        {"title": "x\ny", "scheduled_at": "3000-01-01", "environment": "prod",
         "scenarios": [{"injection": "", "verifies": ["1"], "outcome": "held", "ran_at": "soon"}]},
        errors,
    )  # fmt: skip
    lines = errors.as_lines()
    assert any(line.startswith("title must be a single line") for line in lines)
    assert any(line.startswith("scheduled_at ") for line in lines)
    assert any(
        line.startswith("environment must be one of qa, staging, production") for line in lines
    )
    assert any(line.startswith("scenarios[1].injection is required") for line in lines)
    assert any(line.startswith("scenarios[1].category is required") for line in lines)
    assert any(line.startswith("scenarios[1].verifies[1] must be a whole number") for line in lines)
    assert any(line.startswith("scenarios[1].ran_at ") for line in lines)


@pytest.mark.django_db(transaction=True)  # two people, two connections
def test_a_result_recorded_while_someone_reopens_the_fix_it_verifies() -> None:
    """On the review someone reopens a fix while, on a phone, someone records that the
    scenario verifying it held: both saves go through, and the reopened fix has no
    effectiveness (it is not done), never a constraint error for the second."""
    import threading
    import time

    from django.db import connection, transaction

    from remediations.actions import merged_changes, save_remediation
    from remediations.records import clean_remediation

    fix = _fix()
    scenario = _plan(fix).scenarios.get()
    reopened, failures = threading.Event(), []

    def reopen() -> None:
        try:
            with transaction.atomic():
                stored = Remediation.objects.get(pk=fix.pk)
                errors = Errors()
                record = clean_remediation(merged_changes(stored, {"status": "open"}), errors)
                save_remediation(stored, record, by=None, expected_version=stored.version)
                reopened.set()
                time.sleep(1)  # the other save reaches the fix meanwhile
        except Exception as error:  # noqa: BLE001  (reported below)
            failures.append(error)
        finally:
            reopened.set()
            connection.close()

    def record() -> None:
        reopened.wait()
        try:
            record_outcome(
                Scenario.objects.get(pk=scenario.pk), outcome="held", observations="",
                ran_at=None, by=None,
            )  # fmt: skip
        except Exception as error:  # noqa: BLE001
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=reopen), threading.Thread(target=record)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    fix.refresh_from_db()
    assert (fix.status, fix.effectiveness) == ("open", None)
    assert Scenario.objects.get(pk=scenario.pk).outcome == "held"


def test_the_backlog_follows_the_kinds_that_make_a_promise(settings: Any) -> None:
    from gamedays.actions import awaiting_verification
    from remediations import effectiveness

    fixes = [_fix(kind=kind, title=kind) for kind in ("prevent", "mitigate", "detect")]
    effectiveness.assess([f.pk for f in fixes])
    assert {f.title for f in awaiting_verification()} == {"prevent", "mitigate"}
    settings.ONCE_RECURRENCE_KINDS = ["prevent", "mitigate", "detect"]
    assert {f.title for f in awaiting_verification()} == {"prevent", "mitigate", "detect"}


def test_a_result_from_the_future_is_refused_on_every_way_in() -> None:
    fix = _fix()
    scenario = _plan(fix).scenarios.get()
    with pytest.raises(RecordInvalid, match=r"scenarios\[1\]\.ran_at is in the future"):
        record_outcome(scenario, outcome="held", observations="", ran_at=days(400), by=None)
    fix.refresh_from_db()
    assert Scenario.objects.get(pk=scenario.pk).outcome == "pending"
    assert fix.effectiveness != Effectiveness.VERIFIED
