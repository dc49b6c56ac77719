"""A clock the test moves: `timezone.now()` as the code under test reads it."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone


class Clock:
    def __init__(self) -> None:
        self.now = timezone.now()

    def advance(self, **delta: float) -> datetime.datetime:
        self.now += datetime.timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch: Any) -> Iterator[Clock]:
    clock = Clock()
    monkeypatch.setattr(timezone, "now", lambda: clock.now)
    yield clock
