"""When was a failure mode last tested? — the game days' side of the category page, the
categories list and the categories API (PRODUCT.md, `last_tested_at`; issue 12, "The category
page shows when the mode was last tested and its scenarios; the categories list can be sorted
by never tested").

A mode is tested by a scenario that ran (held, failed or aborted) on it or on a mode below
it: a test of "etcd > Leader elections" is a test of "etcd". Pending scenarios test nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Max, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Concat

from gamedays.models import Scenario
from incidents.models import PATH_SEPARATOR, FailureCategory
from remediations.impact import ModeStanding
from remediations.models import Remediation
from remediations.recurrence import ancestor_paths

SHOWN_SCENARIOS = 20  # on the category page, most recent first; the rest are counted

# The categories list sorted by testing, beside remediations.impact.SORTS.
SORTS = {"never_tested": "Never tested"}


def last_tested_subquery(user: Any) -> Subquery:
    """For a FailureCategory queryset: when a scenario `user` may see on the category or below
    it last ran (None if never). One correlated subquery, so a list costs no extra query."""
    below = Concat(OuterRef("path"), Value(PATH_SEPARATOR))
    latest = (
        Scenario.objects.visible_to(user)
        .ran()
        .filter(Q(category__path=OuterRef("path")) | Q(category__path__startswith=below))
        .order_by("-ran_at")
        .values("ran_at")[:1]
    )
    return Subquery(latest)


def last_tested_at(category: FailureCategory, user: Any) -> datetime.datetime | None:
    """When a scenario `user` may see on `category` or below it last ran; None if never."""
    found: datetime.datetime | None = (
        Scenario.objects.visible_to(user)
        .ran()
        .in_category(category)
        .aggregate(at=Max("ran_at"))["at"]
    )
    return found


def last_tested_by_path(user: Any) -> dict[str, datetime.datetime]:
    """{category path: when a scenario on it or below it last ran}, for every tested mode, in
    one query: the latest run per mode, carried up to the modes above it."""
    latest: dict[str, datetime.datetime] = {}
    rows = (
        Scenario.objects.visible_to(user)
        .ran()
        .order_by()
        .values("category__path")
        .annotate(at=Max("ran_at"))
        .values_list("category__path", "at")
    )
    for path, at in rows:
        for above in ancestor_paths(path):
            if above not in latest or latest[above] < at:
                latest[above] = at
    return latest


@dataclass(frozen=True)
class ModeScenarios:
    """The scenarios that tested (or will test) a failure mode, for its page."""

    last_tested: Scenario | None  # the one that ran last, on it or below it
    scenarios: list[Scenario]  # the most recent first, with their game day and fixes
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.scenarios)


def mode_scenarios(category: FailureCategory, user: Any) -> ModeScenarios:
    """The scenarios `user` may see on the mode or below it, the most recent first: those
    still to run (the latest planned first), then those that ran (the latest first). Four
    queries."""
    scenarios = Scenario.objects.visible_to(user).in_category(category)
    shown = (
        scenarios.select_related("game_day", "category")
        .prefetch_related(
            Prefetch("verifies", Remediation.objects.visible_to(user).select_related("category"))
        )
        .order_by(F("ran_at").desc(nulls_first=True), "-game_day__scheduled_at", "position", "pk")[
            :SHOWN_SCENARIOS
        ]
    )
    last = scenarios.ran().select_related("game_day").order_by("-ran_at", "-pk").first()
    return ModeScenarios(last, list(shown), scenarios.count())


@dataclass(frozen=True)
class TestedStanding:
    """A failure mode in the sorted categories list, with when it was last tested."""

    standing: ModeStanding
    last_tested_at: datetime.datetime | None

    @property
    def never_tested(self) -> bool:
        """It has incidents (directly or through a cause) and no scenario ran on it or below."""
        return self.standing.has_incidents and self.last_tested_at is None


def with_tests(rows: list[ModeStanding], sort: str, user: Any) -> list[TestedStanding]:
    """The standings with when each mode was last tested; sorted by `sort` when it is a key
    of SORTS, else left in their order:

    - *never_tested*: modes with incidents that no scenario ran on (or below) first, most
      incidents first; then the tested ones, least recently tested first; then the modes
      without incidents that nobody tested.
    """
    tested = last_tested_by_path(user)
    found = [TestedStanding(row, tested.get(row.category.path)) for row in rows]
    if sort == "never_tested":
        oldest = datetime.datetime.min.replace(tzinfo=datetime.UTC)

        def key(row: TestedStanding) -> tuple[int, int, datetime.datetime, str]:
            if row.never_tested:
                return (0, -row.standing.incidents, oldest, row.standing.category.path)
            if row.last_tested_at is not None:
                return (1, 0, row.last_tested_at, row.standing.category.path)
            return (2, 0, oldest, row.standing.category.path)

        found.sort(key=key)
    return found
