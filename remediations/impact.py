"""Did the fix work? — per failure mode (the category page; PRODUCT.md, "Effectiveness of a
done fix" gives the verdict, this gives the numbers a team checks it against).

For a failure mode, every done fix that covers it or a part of it — a remediation on the
category, above it, or below it, of any kind (the kind is shown: only prevent and mitigate
promise fewer incidents) — with the incidents of the mode in two equal windows, before and
after the fix was done:

- **Window**: as long as the fix has been done, in whole days, at most WINDOW_CAP (180 days).
  A fix done 40 days ago compares the 40 days before it with the 40 since; one done a year
  ago, 180 and 180. A fix done less than a day ago has nothing to compare yet. Before is
  [done − window, done), after is [done, done + window): an incident that starts the moment
  the fix is done is after it, as for the recurrence rules.
- **Incidents counted**: those of the part of the mode the fix covers — this category's
  subtree for a fix on it or above it, the fix's own subtree for a fix below it — classified
  directly or through a cause (`Incident.objects.in_category`).
- **Timeline**: the mode's incidents of the last two years (TIMELINE_SPAN), or since the first
  one, with the fixes done in that time, for `remediations.impact_chart` to draw.

Bounded whatever the mode holds: at most MAX_FIXES fixes (the most recently done), counted by
one aggregate query per distinct part of the mode; the timeline reads at most MAX_DOTS
incidents, and past that their counts per week and severity (one grouped query). A mode of
100,000 incidents with 30 fixes: six queries, about half a second.

`standings(sort)` serves the categories list sorted by "recurred after fix" or "never fixed".
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from common import dates
from incidents.models import (
    PATH_SEPARATOR,
    FailureCategory,
    Incident,
)
from remediations.models import (
    FlagOutcome,
    FlagState,
    RecurrenceFlag,
    Remediation,
    RemediationStatus,
)

WINDOW_CAP = datetime.timedelta(days=180)
TIMELINE_SPAN = datetime.timedelta(days=730)
MIN_TIMELINE_SPAN = datetime.timedelta(days=30)
MAX_FIXES = 20
MAX_DOTS = 400


@dataclass(frozen=True)
class FixImpact:
    """One done fix and the incidents of the mode it covers, before and after it was done."""

    number: int  # as marked on the timeline: 1 is the earliest done
    fix: Remediation
    relation: str  # "on", "above" or "below" the failure mode of the page
    scope: FailureCategory  # where its incidents are counted
    window: datetime.timedelta | None  # None: done less than a day ago
    before: int = 0
    after: int = 0

    @property
    def window_days(self) -> int:
        return self.window.days if self.window else 0

    @property
    def summary(self) -> str:
        """ "3 before → 0 after, in 90 days each"."""
        if self.window is None:
            return "done less than a day ago: nothing to compare yet"
        days = f"{self.window_days} day{'s' if self.window_days != 1 else ''}"
        return f"{self.before} before → {self.after} after, in {days} each"


@dataclass(frozen=True)
class Dot:
    """One incident on the timeline, or (past MAX_DOTS) a week's incidents of one severity."""

    at: datetime.datetime
    severity: str
    count: int
    label: str


@dataclass(frozen=True)
class Timeline:
    start: datetime.datetime
    end: datetime.datetime
    dots: list[Dot]
    incidents: int  # how many incidents the dots stand for
    weekly: bool  # dots are weekly counts, not single incidents
    fixes: list[FixImpact]  # those done between start and end


@dataclass(frozen=True)
class ModeImpact:
    fixes: list[FixImpact]  # earliest done first
    more: int  # done fixes covering the mode left out (older than the MAX_FIXES shown)
    timeline: Timeline | None  # None: no incident and no fix in the span


def mode_impact(
    category: FailureCategory, user: Any, now: datetime.datetime | None = None
) -> ModeImpact:
    """What `user` may see of the mode's fixes and incidents (restricted incidents hidden
    from them, and their remediations, are neither shown nor counted)."""
    now = now or timezone.now()
    fixes, more = _done_fixes(category, user)
    impacts = _count(category, fixes, now, user)
    return ModeImpact(impacts, more, _timeline(category, impacts, now, user))


def _done_fixes(category: FailureCategory, user: Any) -> tuple[list[Remediation], int]:
    """The most recently done fixes on the mode, above it or below it; how many more."""
    done = (
        Remediation.objects.visible_to(user)
        .filter(status=RemediationStatus.DONE)
        .filter(
            Q(category__in=FailureCategory.objects.ancestors_of(category))
            | Q(category__in=category.descendants())
        )
        .select_related("category", "owner")
        .order_by("-done_at", "-id")
    )
    rows = list(done[: MAX_FIXES + 1])
    more = done.count() - MAX_FIXES if len(rows) > MAX_FIXES else 0
    return rows[:MAX_FIXES][::-1], more


def _relation(category: FailureCategory, fix: Remediation) -> str:
    assert fix.category is not None  # _done_fixes reads only fixes with a category
    if fix.category.path == category.path:
        return "on"
    return "above" if category.path.startswith(fix.category.path + PATH_SEPARATOR) else "below"


def window_for(done_at: datetime.datetime, now: datetime.datetime) -> datetime.timedelta | None:
    """As long as the fix has been done, in whole days, at most WINDOW_CAP; None under a day."""
    days = min((now - done_at).days, WINDOW_CAP.days)
    return datetime.timedelta(days=days) if days >= 1 else None


def _count(
    category: FailureCategory, fixes: list[Remediation], now: datetime.datetime, user: Any
) -> list[FixImpact]:
    pending: dict[int, list[FixImpact]] = defaultdict(list)  # scope id → its fixes
    for number, fix in enumerate(fixes, start=1):
        assert fix.category is not None and fix.done_at is not None
        relation = _relation(category, fix)
        scope = fix.category if relation == "below" else category
        impact = FixImpact(number, fix, relation, scope, window_for(fix.done_at, now))
        pending[scope.pk].append(impact)
    counted: dict[int, FixImpact] = {}
    for impacts in pending.values():
        measured = [i for i in impacts if i.window is not None]
        counts: dict[str, int] = {}
        if measured:
            aggregates = {}
            for i in measured:
                assert i.window is not None and i.fix.done_at is not None
                done, window = i.fix.done_at, i.window
                aggregates[f"before_{i.number}"] = Count(
                    "pk", filter=Q(started_at__gte=done - window, started_at__lt=done)
                )
                aggregates[f"after_{i.number}"] = Count(
                    "pk", filter=Q(started_at__gte=done, started_at__lt=done + window)
                )
            lowest = min(i.fix.done_at - i.window for i in measured)  # type: ignore[operator]
            highest = max(i.fix.done_at + i.window for i in measured)  # type: ignore[operator]
            counts = (
                Incident.objects.visible_to(user)
                .in_category(impacts[0].scope)
                .filter(started_at__gte=lowest, started_at__lt=highest)
                .aggregate(**aggregates)
            )
        for i in impacts:
            counted[i.number] = FixImpact(
                i.number, i.fix, i.relation, i.scope, i.window,
                before=counts.get(f"before_{i.number}", 0),
                after=counts.get(f"after_{i.number}", 0),
            )  # fmt: skip
    return [counted[number] for number in sorted(counted)]


def _timeline(
    category: FailureCategory, fixes: list[FixImpact], now: datetime.datetime, user: Any
) -> Timeline | None:
    since = now - TIMELINE_SPAN
    incidents = (
        Incident.objects.visible_to(user)
        .in_category(category)
        .filter(started_at__gte=since, started_at__lte=now)
    )
    rows = list(
        incidents.order_by("started_at", "id").values_list("id", "title", "started_at", "severity")[
            : MAX_DOTS + 1
        ]
    )
    weekly = len(rows) > MAX_DOTS
    if not weekly:
        dots = [
            Dot(started_at, severity, 1, f"INC-{pk} {title} ({severity}, {dates.day(started_at)})")
            for pk, title, started_at, severity in rows
        ]
    else:
        # Too many to draw one by one: a dot per week and severity, sized by its count.
        weeks = (
            incidents.annotate(week=TruncWeek("started_at"))
            .order_by()
            .values_list("week", "severity")
            .annotate(n=Count("pk"))
        )
        dots = [
            Dot(
                week + datetime.timedelta(days=3, hours=12),
                severity,
                n,
                f"{n} {severity} incident{'s' if n != 1 else ''} in the week of {dates.day(week)}",
            )  # fmt: skip
            for week, severity, n in sorted(weeks)
        ]
    shown = [f for f in fixes if f.fix.done_at is not None and since <= f.fix.done_at <= now]
    moments = [d.at for d in dots] + [f.fix.done_at for f in shown if f.fix.done_at]
    if not moments:
        return None
    start = max(since, min(moments))
    start = min(start, now - MIN_TIMELINE_SPAN)
    return Timeline(start, now, dots, sum(d.count for d in dots), weekly, shown)


# The categories list sorted by how the fixes of each failure mode fared.
SORTS = {"recurred": "Recurred after fix", "never_fixed": "Never fixed"}


@dataclass(frozen=True)
class ModeStanding:
    """A failure mode in the sorted categories list."""

    category: FailureCategory
    incidents: int  # in it or below it, directly or through a cause: as the tree counts them
    has_incidents: bool
    open_flags: int  # recurrences awaiting triage: the "recurred after fix" badge
    did_not_hold: int  # recurrences triaged "the fix did not hold"
    fixes: int  # done remediations on it, above it or below it (of any kind): fixes of its
    # incidents' modes

    @property
    def recurred(self) -> int:
        """Recurrences after a fix that stand: open, or confirmed "the fix did not hold"
        (those triaged partly expected or not a recurrence, and cleared ones, don't count)."""
        return self.open_flags + self.did_not_hold

    @property
    def never_fixed(self) -> bool:
        """It has incidents and no done fix is on it, above it or below it."""
        return self.has_incidents and self.fixes == 0


def _related(path: str, mode: str) -> bool:
    """True when `path` is `mode`, above it or below it in the tree."""
    path, mode = path + PATH_SEPARATOR, mode + PATH_SEPARATOR
    return path.startswith(mode) or mode.startswith(path)


def standings(sort: str, user: Any) -> list[ModeStanding]:
    """Every failure mode with its recurrences and fixes, sorted by `sort` (a key of SORTS):

    - *recurred*: most recurrences after a fix first (open flags plus flags triaged "the fix
      did not hold", on the mode itself: a flag names the narrowest mode), then most open;
    - *never_fixed*: modes with incidents and no done fix on, above or below them first, most
      incidents first; then the others.

    Incidents are counted as the tree counts them (`with_incident_counts`). Two queries
    whatever the number of modes; the fixes are summed in Python over each mode's ancestors
    and descendants (a tree of failure modes is small). Only what `user` may see is
    counted: incidents hidden from them, and their flags and remediations, are left out.
    """

    def flags(**where: Any) -> Coalesce:
        counted = (
            RecurrenceFlag.objects.visible_to(user)
            .filter(category=OuterRef("pk"), **where)
            .order_by()
            .values("category")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(counted), 0)

    categories: Any = (
        FailureCategory.objects.with_incident_counts(user)
        .annotate(
            open_flags=flags(state=FlagState.OPEN),
            did_not_hold=flags(state=FlagState.ACKNOWLEDGED, outcome=FlagOutcome.FIX_DID_NOT_HOLD),
        )
        .order_by("path")
    )
    done_on: dict[str, int] = dict(
        Remediation.objects.visible_to(user)
        .filter(status=RemediationStatus.DONE, category__isnull=False)
        .order_by()
        .values("category__path")
        .annotate(n=Count("pk"))
        .values_list("category__path", "n")
    )
    rows = [
        ModeStanding(
            category,
            incidents=category.incident_count,
            has_incidents=category.incident_count > 0,
            open_flags=category.open_flags,
            did_not_hold=category.did_not_hold,
            fixes=sum(n for path, n in done_on.items() if _related(path, category.path)),
        )
        for category in categories
    ]
    if sort == "recurred":
        rows.sort(key=lambda r: (-r.recurred, -r.open_flags, r.category.path))
    elif sort == "never_fixed":
        rows.sort(key=lambda r: (not r.never_fixed, -r.incidents, r.category.path))
    return rows
