"""The periodic reconciliation: it re-evaluates only what changed since its last run, catches
every event a missing broker dropped, turns fixes *holding* by the clock alone, and gives the
same links and flags however many evaluations run at once."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from incidents.actions import get_or_create_category, record_of, save_category, save_incident
from incidents.models import FailureCategory, Incident
from remediations import recurrence
from remediations.actions import remediation_record_of, save_remediation
from remediations.models import FlagFix, FlagState, RecurrenceFlag, RecurrenceLink, Remediation
from remediations.recurrence import evaluate
from remediations.tasks import reconcile_recurrences
from tests.factories import IncidentFactory, RemediationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("writes")]


def ago(days: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def reconcile(*, full: bool = False) -> dict[str, Any]:
    return reconcile_recurrences.run(full=full)


def flagged() -> set[int]:
    """Incidents with a flag that holds."""
    holding = RecurrenceFlag.objects.exclude(state=FlagState.CLEARED)
    return set(holding.values_list("incident_id", flat=True))


def edit_categories(incident: Incident, *paths: str) -> None:
    """Reclassify through the one write path, as the form and the API do."""
    record = record_of(incident)
    record["categories"] = list(paths)
    save_incident(incident, record, by=None, expected_version=incident.version)


def mark_done(fix: Remediation, done_at: datetime.datetime) -> None:
    record = {**remediation_record_of(fix), "status": "done", "done_at": done_at}
    save_remediation(fix, record, by=None, expected_version=fix.version)


@pytest.fixture
def history(clock: Any) -> dict[str, Any]:
    """A knowledge base written a day before its first, full, reconciliation, an hour ago."""
    envoy = get_or_create_category("Networking > Envoy")
    dns = get_or_create_category("Networking > DNS")
    ebs = get_or_create_category("Storage > EBS latency")
    fix = RemediationFactory(
        title="Move to HTTP/2", category=envoy, kind="prevent", status="done",
        opened_at=ago(60), done_at=ago(30),
    )  # fmt: skip
    pending = RemediationFactory(
        title="Cache DNS on nodes", category=dns, kind="prevent", status="open", opened_at=ago(60)
    )
    in_dns = [IncidentFactory(started_at=ago(20 - n), categories=[dns]) for n in range(3)]
    in_ebs = [IncidentFactory(started_at=ago(20 - n), categories=[ebs]) for n in range(4)]
    clock.advance(days=1)
    assert reconcile()["full"] is True  # the first run is full: there is nothing to start from
    clock.advance(hours=1)
    return {"fix": fix, "pending": pending, "in_dns": in_dns, "in_ebs": in_ebs, "dns": dns}


def test_an_incremental_run_evaluates_only_the_incidents_saved_since_the_last_one(
    history: dict[str, Any], clock: Any
) -> None:
    first, second = history["in_ebs"][:2]
    # Saved with the events lost (this test runs no after-commit callbacks): not flagged yet.
    edit_categories(first, "Networking > Envoy")
    edit_categories(second, "Networking > Envoy", "Storage > EBS latency")
    assert flagged() == set()

    clock.advance(minutes=10)
    result = reconcile()
    assert (result["full"], result["incidents"], result["flags_raised"]) == (False, 2, 2)
    assert flagged() == {first.pk, second.pk}

    clock.advance(minutes=10)  # the next run looks back only 5 minutes before this one
    result = reconcile()
    assert (result["incidents"], result["remediations"]) == (0, 0)
    assert reconcile(full=True)["incidents"] == 7  # the daily full pass goes over everything


def test_a_fix_marked_done_with_the_broker_down_is_applied_by_the_next_incremental_run(
    history: dict[str, Any], broker_down: None, django_capture_on_commit_callbacks: Any,
    caplog: Any,
) -> None:  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        mark_done(history["pending"], ago(25))
    assert "the broker is unavailable" in caplog.text
    assert flagged() == set()
    assert RecurrenceLink.objects.count() == 3  # still linked as when the fix was open

    result = reconcile()
    # The incidents the fix covers, not the four in storage.
    assert (result["incidents"], result["remediations"]) == (3, 1)
    assert flagged() == {i.pk for i in history["in_dns"]}
    assert RecurrenceLink.objects.count() == 0  # it was done before they started
    history["pending"].refresh_from_db()
    assert history["pending"].effectiveness == "unverified"  # a recurrence awaits triage


def test_a_fix_moved_to_another_mode_clears_its_flags_at_the_next_incremental_run(
    history: dict[str, Any], clock: Any
) -> None:
    edit_categories(history["in_ebs"][0], "Networking > Envoy")
    reconcile()
    assert len(flagged()) == 1
    clock.advance(minutes=10)

    fix = history["fix"]
    record = {**remediation_record_of(fix), "category": "Networking > DNS"}
    save_remediation(fix, record, by=None, expected_version=fix.version)
    result = reconcile()
    # The incident it was flagged for, and the three of the mode it covers now.
    assert result["incidents"] == 4
    assert flagged() == {i.pk for i in history["in_dns"]}
    cleared = RecurrenceFlag.objects.get(state=FlagState.CLEARED)
    assert "“Move to HTTP/2” no longer addresses Networking > Envoy" in cleared.reason


def test_a_category_moved_with_the_broker_down_is_applied_by_the_next_incremental_run(
    history: dict[str, Any], clock: Any, broker_down: None,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    RemediationFactory(
        category=get_or_create_category("Networking"), kind="mitigate", status="done",
        opened_at=ago(90), done_at=ago(45),
    )  # fmt: skip
    clock.advance(minutes=10)
    reconcile()
    assert flagged() == {i.pk for i in history["in_dns"]}
    clock.advance(minutes=10)

    ebs = FailureCategory.objects.get(path="Storage > EBS latency")
    with django_capture_on_commit_callbacks(execute=True):
        ebs.parent = get_or_create_category("Networking")
        save_category(ebs, by=None)
    result = reconcile()
    assert result["incidents"] == 4  # those under the category moved
    assert flagged() == {i.pk for i in history["in_ebs"] + history["in_dns"]}
    assert set(RecurrenceFlag.objects.values_list("category__path", flat=True)) == {
        "Networking > EBS latency", "Networking > DNS",
    }  # fmt: skip


def test_holding_appears_by_the_clock_alone(settings: Any, clock: Any) -> None:
    settings.ONCE_HOLDING_DAYS = 90
    quiet = RemediationFactory(
        category=get_or_create_category("Storage > EBS latency"), kind="prevent",
        status="done", opened_at=ago(100), done_at=ago(80),
    )  # fmt: skip
    recurred = RemediationFactory(
        category=get_or_create_category("Networking > DNS"), kind="prevent", status="done",
        opened_at=ago(220), done_at=ago(200),
    )  # fmt: skip
    IncidentFactory(started_at=ago(10), categories=[recurred.category])
    clock.advance(hours=1)
    reconcile()
    quiet.refresh_from_db()
    assert quiet.effectiveness == "unverified"

    clock.advance(days=11)  # nobody saves anything
    result = reconcile()
    assert (result["incidents"], result["remediations"]) == (0, 1)
    quiet.refresh_from_db()
    assert quiet.effectiveness == "holding"
    assert quiet.done_at is not None
    assert quiet.effectiveness_since == quiet.done_at + datetime.timedelta(days=90)
    assert quiet.effectiveness_evidence.endswith("no recurrence held against it since.")
    recurred.refresh_from_db()  # its recurrence awaits triage: no time makes it holding
    assert recurred.effectiveness == "unverified"
    assert "awaits triage" in recurred.effectiveness_evidence

    clock.advance(days=1)
    assert reconcile()["remediations"] == 0  # each fix comes due once


def test_a_setting_changed_is_applied_by_the_next_full_run(settings: Any, clock: Any) -> None:
    fix = RemediationFactory(
        category=get_or_create_category("Networking > DNS"), kind="mitigate", status="done",
        opened_at=ago(60), done_at=ago(30),
    )  # fmt: skip
    incident = IncidentFactory(started_at=ago(10), categories=[fix.category])
    clock.advance(hours=1)
    reconcile()
    assert flagged() == {incident.pk}

    settings.ONCE_RECURRENCE_KINDS = ["prevent"]
    clock.advance(hours=1)
    assert reconcile()["incidents"] == 0  # nothing was saved: an incremental run sees nothing
    assert reconcile(full=True)["flags_cleared"] == 1
    assert flagged() == set()


@pytest.mark.django_db(transaction=True)
def test_two_evaluations_at_once_give_the_same_links_and_flags(
    writes: str, monkeypatch: Any
) -> None:
    if writes == "portable":
        pytest.skip("SQLite, where the portable writes run, writes one transaction at a time")
    envoy = get_or_create_category("Networking > Envoy")
    RemediationFactory(category=envoy, kind="prevent", status="done", opened_at=ago(60),
                       done_at=ago(30))  # fmt: skip
    RemediationFactory(category=envoy, kind="prevent", status="open", opened_at=ago(60))
    ids = [IncidentFactory(started_at=ago(10 - n), categories=[envoy]).pk for n in range(3)]

    # Both evaluations write at the same moment, each in its own transaction.
    together = threading.Barrier(2, timeout=10)
    apply_links = recurrence._apply_links

    def in_step(*args: Any) -> None:
        together.wait()
        apply_links(*args)

    monkeypatch.setattr(recurrence, "_apply_links", in_step)
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(evaluate(ids))
        except Exception as error:  # noqa: BLE001  (reported below, on the test's thread)
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert RecurrenceLink.objects.count() == 3 and RecurrenceFlag.objects.count() == 3
    assert FlagFix.objects.count() == 3
    # Each flag is raised, and so announced, by one of them only.
    assert sorted(pk for r in results for pk in r.flags_raised) == sorted(
        RecurrenceFlag.objects.values_list("pk", flat=True)
    )
    assert sum(r.links_added for r in results) == 3


@pytest.mark.django_db(transaction=True)
def test_a_large_evaluation_written_by_two_connections_gives_every_row_once(
    writes: str, monkeypatch: Any
) -> None:
    monkeypatch.setattr(recurrence, "CHUNK", 2)  # 7 incidents: 4 chunks
    written_apart: list[int] = []
    write_apart = recurrence._write_apart

    def counted(chunk: Any) -> Any:
        written_apart.append(len(chunk.ids))
        return write_apart(chunk)

    monkeypatch.setattr(recurrence, "_write_apart", counted)
    envoy = get_or_create_category("Networking > Envoy")
    RemediationFactory(category=envoy, kind="prevent", status="done", opened_at=ago(60),
                       done_at=ago(30))  # fmt: skip
    RemediationFactory(category=envoy, kind="prevent", status="open", opened_at=ago(60))
    ids = [IncidentFactory(started_at=ago(10 - n), categories=[envoy]).pk for n in range(7)]

    changes = evaluate(ids)
    # On PostgreSQL by the writer threads; the portable writes, SQLite's, one at a time.
    assert sorted(written_apart) == ([1, 2, 2, 2] if writes == "set-based" else [])
    assert (changes.links_added, len(changes.flags_raised)) == (7, 7)
    assert RecurrenceLink.objects.count() == 7 and FlagFix.objects.count() == 7
    assert sorted(changes.flags_raised) == sorted(
        RecurrenceFlag.objects.values_list("pk", flat=True)
    )
    again = evaluate(ids)
    assert (again.links_added, again.links_removed, again.flags_raised) == (0, 0, [])
