"""Pointing the test process's Celery app at another broker for one test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu import pools

from config.celery import app


def _drop_connections() -> None:
    # Forget every connection and producer pool (the app's and kombu's global ones): the next
    # publish opens new ones with the current settings.
    pools.reset()
    # Private attributes, absent from celery-types.
    app._pool = None  # type: ignore[attr-defined]
    app.amqp._producer_pool = None  # type: ignore[attr-defined]


@contextmanager
def celery_broker(url: str, **options: Any) -> Iterator[None]:
    """Send tasks to `url` instead of running them in-process, then restore."""
    saved = {
        key: app.conf[key]
        for key in ("task_always_eager", "broker_url", "broker_transport_options")
    }
    app.conf.update(task_always_eager=False, broker_url=url, **options)
    _drop_connections()
    try:
        yield
    finally:
        app.conf.update(saved)
        _drop_connections()
