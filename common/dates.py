"""How Once writes a date or a time for a person to read: one way, everywhere (issue 16).

Every page, email, webhook text, history entry and chart label writes a day as `day()` and a
moment as `moment()`; templates use the `day` and `moment` filters (common/templatetags/once.py),
which wrap the same text in a `<time>` element that never breaks across lines.

    day(2026-11-20 10:05 UTC)     → "2026-11-20"
    moment(2026-11-20 10:05 UTC)  → "2026-11-20 10:05 UTC"
    month(2026-11-20)             → "2026-11"

Times are shown in TIME_ZONE (settings: UTC, PRODUCT.md "stored in UTC"), named after the
minutes so nobody has to guess; a `datetime.date` (a due date) has no time zone and is written
as it is. Machine formats (ISO 8601 in the API, exports, `datetime=""` attributes, form inputs)
are not display formats and stay where they are.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

DAY_FORMAT = "%Y-%m-%d"
MINUTES_FORMAT = "%H:%M"
MONTH_FORMAT = "%Y-%m"


def _local(value: datetime.datetime) -> datetime.datetime:
    """An aware time in TIME_ZONE; a naive one is taken to be in TIME_ZONE already."""
    if timezone.is_naive(value):
        return value
    return timezone.localtime(value)


NOTHING = "—"  # what a missing date reads as, as history.display() writes it


def day(value: datetime.date | datetime.datetime | None) -> str:
    """The day of `value` as "2026-11-20": for a time, the day it is in TIME_ZONE."""
    if value is None:
        return NOTHING
    if isinstance(value, datetime.datetime):
        value = _local(value)
    return value.strftime(DAY_FORMAT)


def moment(value: datetime.datetime | None) -> str:
    """A time to the minute, with its zone: "2026-11-20 10:05 UTC"."""
    if value is None:
        return NOTHING
    local = _local(value)
    zone = local.tzname() or timezone.get_current_timezone_name()
    return f"{local.strftime(DAY_FORMAT)} {local.strftime(MINUTES_FORMAT)} {zone}"


def month(value: datetime.date | datetime.datetime) -> str:
    """A month as "2026-11" (the service page's and charts' spans)."""
    if isinstance(value, datetime.datetime):
        value = _local(value)
    return value.strftime(MONTH_FORMAT)


def iso(value: datetime.date | datetime.datetime) -> str:
    """The machine-readable value of a `<time datetime="…">`: ISO 8601, UTC for a time."""
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(datetime.UTC)
        return value.isoformat().replace("+00:00", "Z")
    return value.isoformat()
