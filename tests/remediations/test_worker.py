"""The engine on a real Celery worker (a subprocess) with the machine's Redis as broker."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from django.db import connection, transaction
from django.utils import timezone

from incidents.actions import get_or_create_category, save_incident
from incidents.models import Incident
from remediations.models import RecurrenceFlag
from remediations.records import clean_report
from remediations.tasks import evaluate_incidents
from tests.celery_helpers import celery_broker
from tests.factories import RemediationFactory

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = os.environ.get("ONCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
VISIBILITY_TIMEOUT = 3  # seconds before an unacknowledged task is delivered again
CELERY = str(Path(sys.executable).with_name("celery"))
ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def broker() -> Iterator[None]:
    redis.Redis.from_url(REDIS_URL).flushdb()
    options = {"broker_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT}}
    with celery_broker(REDIS_URL, **options):
        yield


class Worker:
    def __init__(self, log: Path, concurrency: int) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": REDIS_URL,
            "ONCE_TASK_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        }
        self.log = log
        self.process = subprocess.Popen(  # noqa: S603
            [CELERY, "-A", "config", "worker", "--loglevel=INFO", f"--concurrency={concurrency}",
             "--without-gossip", "--without-mingle", "-n", f"test-{uuid.uuid4().hex[:8]}@%h"],
            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed as a whole
        )  # fmt: skip
        self.wait_for(lambda text: "ready." in text, "the worker to start")

    def text(self) -> str:
        return self.log.read_text()

    def wait_for(self, condition: Callable[[str], bool], what: str, timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(self.text()):
                return
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited while waiting for {what}:\n{self.text()}")
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.text()[-3000:]}")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_worker(broker: None, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def start(concurrency: int = 1) -> Worker:
        workers.append(Worker(tmp_path / f"worker-{len(workers)}.log", concurrency))
        return workers[-1]

    yield start
    for worker in workers:
        worker.stop()


def _setup() -> Any:
    envoy = get_or_create_category("Networking > Envoy")
    RemediationFactory(
        category=envoy, status="done", opened_at=timezone.now() - datetime.timedelta(days=60),
        done_at=timezone.now() - datetime.timedelta(days=30),
    )  # fmt: skip
    return envoy


def _wait_for_flags(incident: Incident, worker: Worker, timeout: float = 30) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if RecurrenceFlag.objects.filter(incident=incident).exists():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"no flag appeared; the worker said:\n{worker.text()[-3000:]}")


def test_a_save_raises_the_flag_through_a_real_worker(start_worker: Any, capsys: Any) -> None:
    envoy = _setup()
    worker = start_worker()
    with transaction.atomic():
        incident = Incident()
        record = clean_report(
            {
                "title": "Pool exhausted again",
                "started_at": timezone.now(),
                "categories": [envoy.path],
            }
        )
        save_incident(incident, record, by=None, expected_version=None)
    elapsed = _wait_for_flags(incident, worker)
    with capsys.disabled():
        print(f"\n  save → flag with a real worker: {elapsed * 1000:.0f} ms")
    assert RecurrenceFlag.objects.filter(incident=incident).count() == 1


def test_the_same_task_delivered_twice_at_once_gives_one_flag(start_worker: Any) -> None:
    envoy = _setup()
    incident = Incident.objects.create(title="Twice", started_at=timezone.now())
    incident.categories.add(envoy)
    worker = start_worker(concurrency=2)
    evaluate_incidents.delay([incident.pk])
    evaluate_incidents.delay([incident.pk])
    worker.wait_for(lambda text: text.count("evaluate_incidents") >= 4 and text.count("succeeded") >= 2,
                    "both deliveries to finish")  # fmt: skip
    assert RecurrenceFlag.objects.filter(incident=incident).count() == 1


def test_a_task_whose_worker_dies_runs_again_with_one_flag(start_worker: Any) -> None:
    envoy = _setup()
    incident = Incident.objects.create(title="Killed", started_at=timezone.now())
    incident.categories.add(envoy)
    # Hold the links table from another connection: the task blocks mid-way, provably running.
    blocker = psycopg.connect(_database_url().replace("postgres://", "postgresql://"))
    blocker.execute("LOCK TABLE remediations_recurrencelink IN ACCESS EXCLUSIVE MODE")
    first = start_worker()
    evaluate_incidents.delay([incident.pk])
    first.wait_for(
        lambda text: "Task remediations.tasks.evaluate_incidents" in text, "the task to start"
    )
    time.sleep(1)
    first.kill()  # SIGKILL, mid-task: never acknowledged
    blocker.rollback()
    blocker.close()
    assert not RecurrenceFlag.objects.filter(incident=incident).exists()

    time.sleep(VISIBILITY_TIMEOUT + 1)
    second = start_worker()  # finds the unacknowledged task and runs it again
    _wait_for_flags(incident, second)
    assert RecurrenceFlag.objects.filter(incident=incident).count() == 1
