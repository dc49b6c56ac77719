"""ISO weeks as the review knows them: "2026-W48", Monday to Sunday in the site's time zone."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.utils import timezone

WEEK_LABEL = re.compile(r"^(\d{4})-W(\d{2})$")
# The ISO years a review week may be in: the range of times Once stores (PRODUCT.md).
FIRST_YEAR, LAST_YEAR = 1970, 2099
# 28 December always lies in its year's last ISO week.
LAST_WEEK = f"{LAST_YEAR}-W{datetime.date(LAST_YEAR, 12, 28).isocalendar()[1]:02d}"


@dataclass(frozen=True)
class Week:
    monday: datetime.date

    @classmethod
    def containing(cls, day: datetime.date) -> Week:
        return cls(day - datetime.timedelta(days=day.weekday()))

    @classmethod
    def current(cls) -> Week:
        return cls.containing(timezone.localdate())

    @classmethod
    def parse(cls, label: str) -> Week:
        """ "2026-W48" → that week; ValueError with a reason for anything else."""
        match = WEEK_LABEL.match(label)
        if not match:
            raise ValueError(f"“{label}” is not an ISO week like 2026-W48.")
        year, number = int(match[1]), int(match[2])
        if not FIRST_YEAR <= year <= LAST_YEAR:
            # Beyond these, a neighbour's link or the trend's weeks would leave what Python's
            # dates hold (years 1 to 9999), and Once stores no time outside 1970–2100 anyway.
            raise ValueError(
                f"{label} is outside the weeks Once keeps, {FIRST_YEAR}-W01 to {LAST_WEEK}."
            )
        try:
            return cls(datetime.date.fromisocalendar(year, number, 1))
        except ValueError:
            raise ValueError(f"{year} has no week {number}.") from None

    @property
    def label(self) -> str:
        year, number, _ = self.monday.isocalendar()
        return f"{year}-W{number:02d}"

    @property
    def sunday(self) -> datetime.date:
        return self.monday + datetime.timedelta(days=6)

    @property
    def starts_at(self) -> datetime.datetime:
        """Monday 00:00 in the site's time zone."""
        return timezone.make_aware(datetime.datetime.combine(self.monday, datetime.time()))

    @property
    def ends_at(self) -> datetime.datetime:
        """The next Monday 00:00: the week is [starts_at, ends_at)."""
        return self.next.starts_at

    @property
    def has_previous(self) -> bool:
        """False for the first week Once keeps: the page links no week before it."""
        return self.previous.monday.isocalendar()[0] >= FIRST_YEAR

    @property
    def has_next(self) -> bool:
        return self.next.monday.isocalendar()[0] <= LAST_YEAR

    @property
    def previous(self) -> Week:
        return Week(self.monday - datetime.timedelta(days=7))

    @property
    def next(self) -> Week:
        return Week(self.monday + datetime.timedelta(days=7))

    def back(self, weeks: int) -> Week:
        return Week(self.monday - datetime.timedelta(days=7 * weeks))

    @property
    def is_current(self) -> bool:
        return self == Week.current()

    def __str__(self) -> str:
        return self.label


class WeekLabel:
    """URL converter for "2026-W48" (week numbers are checked by the views, for a clear 404)."""

    regex = r"\d{4}-W\d{2}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
