"""Smoke test of the production shape: gunicorn, a Celery worker and Celery beat as separate
processes on PostgreSQL and Redis, exactly as the Procfile runs them. A recurrence created
through the API must come back as a flag; beat must schedule the reconciliation."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from django.db import connection

from tests.api_helpers import api_key_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("ONCE_TEST_SHAPE_REDIS_URL", "redis://127.0.0.1:6379/14")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


@pytest.fixture
def production(tmp_path: Path) -> Iterator[dict[str, Any]]:
    redis.Redis.from_url(REDIS_URL).flushdb()
    s = connection.settings_dict
    port = _free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DATABASE_URL": f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}",
        "CELERY_BROKER_URL": REDIS_URL,
        "DJANGO_DEBUG": "off",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "off",
        "ONCE_RECONCILE_SECONDS": "3",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "CELERY_BEAT_SCHEDULE_FILE": str(tmp_path / "beat-schedule"),
    }
    processes = {}
    for name, command in _procfile().items():
        log = tmp_path / f"{name}.log"
        processes[name] = (
            subprocess.Popen(  # noqa: S602 - the Procfile's own command lines
                command, shell=True, cwd=ROOT, env=env, stdout=log.open("w"),
                stderr=subprocess.STDOUT, start_new_session=True,
            ),
            log,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not listening, or still booting
                pass
            if time.monotonic() > deadline:
                raise AssertionError((tmp_path / "web.log").read_text())
            time.sleep(0.2)
        yield {"base": base, "logs": {name: log for name, (_, log) in processes.items()}}
    finally:
        for process, _ in processes.values():
            os.killpg(process.pid, signal.SIGTERM)
        for process, _ in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def test_a_recurrence_made_through_the_api_is_flagged(production: dict[str, Any]) -> None:
    token = api_key_for(UserFactory(username="alice"))
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    base = production["base"]
    response = api.post(f"{base}/api/remediations/", json={
        "title": "Move to HTTP/2", "category": "Networking > Envoy", "status": "done",
        "opened_at": "2026-01-01T00:00:00Z", "done_at": "2026-02-01T00:00:00Z"}, timeout=10)  # fmt: skip
    assert response.status_code == 201, response.text
    response = api.post(f"{base}/api/incidents/", json={
        "title": "Pool exhausted again", "started_at": "2026-03-01T00:00:00Z",
        "categories": ["Networking > Envoy > HTTP/1.1 connection pool exhaustion"]}, timeout=10)  # fmt: skip
    assert response.status_code == 201, response.text
    incident_url = f"{base}/api/incidents/{response.json()['id']}/"

    deadline = time.monotonic() + 30
    while not api.get(incident_url, timeout=10).json()["open_flags"]:
        assert time.monotonic() < deadline, production["logs"]["worker"].read_text()[-3000:]
        time.sleep(0.2)
    flags = api.get(f"{base}/api/flags/", params={"state": "open"}, timeout=10).json()
    assert flags["count"] == 1

    # Beat schedules the reconciliation, and the worker runs it.
    logs = production["logs"]
    deadline = time.monotonic() + 30
    while "Sending due task reconcile-recurrences" not in logs["beat"].read_text():
        assert time.monotonic() < deadline, logs["beat"].read_text()[-3000:]
        time.sleep(0.5)
    finished = re.compile(r"Task remediations\.tasks\.reconcile_recurrences\[[^]]+\] succeeded")
    while not finished.search(logs["worker"].read_text()):
        assert time.monotonic() < deadline, logs["worker"].read_text()[-3000:]
        time.sleep(0.5)
