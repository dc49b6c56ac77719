"""/healthz answers 503, not a hang, when the database does not answer (PRODUCT.md: within 5 s).

Neither test measures time: a hang would show as the test never finishing (pytest's own
limits, CI's timeout); what is asserted is the answer.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="connection and statement timeouts of PostgreSQL"
)


@pytest.mark.django_db(transaction=True)
def test_healthz_answers_503_while_the_table_it_reads_is_locked(client: Client) -> None:
    assert client.get("/healthz").status_code == 200
    params = connection.settings_dict
    with psycopg.connect(
        host=params["HOST"] or None, port=params["PORT"] or None, user=params["USER"],
        password=params["PASSWORD"] or None, dbname=params["NAME"],
    ) as other:  # fmt: skip
        other.execute("LOCK TABLE django_migrations IN ACCESS EXCLUSIVE MODE")
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.content == b"database unavailable\n"
        other.rollback()
    assert client.get("/healthz").status_code == 200  # nothing of the timeout stays behind


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A local port that accepts TCP connections and never says a word."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # the kernel completes handshakes into the backlog; nobody reads
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def test_healthz_answers_503_when_the_database_never_completes_a_connection(
    black_hole: int,
) -> None:
    # A process of its own: its settings read DATABASE_URL, as a deployment's would.
    script = (
        "import django; django.setup();"
        "from django.test import Client;"
        "print(Client().get('/healthz', HTTP_HOST='127.0.0.1').status_code)"
    )
    environment = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{black_hole}/once",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    done = subprocess.run(  # noqa: S603  (our interpreter, our script)
        [sys.executable, "-c", script], env=environment, cwd=settings.BASE_DIR,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.stdout.strip() == "503", done.stderr
