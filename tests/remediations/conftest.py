from __future__ import annotations

from collections.abc import Iterator

import pytest

from remediations import rows
from tests.celery_helpers import celery_broker


@pytest.fixture
def broker_down() -> Iterator[None]:
    """Celery pointed at a port where nothing listens, as when Redis is stopped."""
    transport = {"socket_connect_timeout": 1, "socket_timeout": 2}
    with celery_broker("redis://127.0.0.1:1/0", broker_transport_options=transport):
        yield


@pytest.fixture(params=["set-based", "portable"])
def writes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test runs twice: with the engine's PostgreSQL statements, and with the ORM writes
    it uses elsewhere (SQLite, the embedded default), here on PostgreSQL too."""
    if request.param == "portable":
        monkeypatch.setattr(rows, "set_based", lambda: False)
    return str(request.param)
