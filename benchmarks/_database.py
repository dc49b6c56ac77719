"""A throw-away PostgreSQL database for a benchmark run, migrated and ready."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import SplitResult, urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


BROKER = os.environ.get("ONCE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


@contextmanager
def fresh_database(name: str = "once_bench") -> Iterator[str]:
    """Create `name` on the server of DATABASE_URL, set Django up on it, drop it afterwards.

    Tasks go to a Redis database that no worker reads (flushed before and after), as in
    production where a save or an import only enqueues the recurrence evaluation: benchmarks
    time the command, and measure the evaluation on its own (reconcile_speed.py).
    """
    parts, admin_url = _point_at(name)

    import django
    import psycopg
    import redis

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    try:
        yield f"{parts.hostname}:{parts.port or 5432}"
    finally:
        redis.Redis.from_url(BROKER).flushdb()
        connection.close()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name}")


@contextmanager
def kept_database(name: str) -> Iterator[bool]:
    """Like fresh_database, but `name` is created once, migrated, and kept for the next run.

    Yields whether it already holds incidents (a fill from an earlier run to reuse).
    """
    parts, admin_url = _point_at(name)

    import django
    import psycopg
    import redis

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f"CREATE DATABASE {name}")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM incidents_incident)")
        filled = bool(cursor.fetchone()[0])
    try:
        yield filled
    finally:
        redis.Redis.from_url(BROKER).flushdb()
        connection.close()


def _point_at(name: str) -> tuple[SplitResult, str]:
    """Point DATABASE_URL at `name` on the server it names, tasks at BROKER (flushed).

    Returns the server's parsed URL and the URL of its maintenance database `postgres`.
    """
    import redis

    server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(server)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["CELERY_BROKER_URL"] = BROKER
    redis.Redis.from_url(BROKER).flushdb()
    return parts, admin_url
