"""The weekly review agenda, built from the knowledge base in a fixed number of queries.

Every section is one query, however many incidents and remediations there are; long
sections show their first rows and a count that stops at COUNT_CAP. Recurrences come grouped
by failure mode, counted per mode; the decisions made on the page (the minutes) are one more.
Game days add three sections: the week's game days (their scenarios' outcomes counted in the
same query), the scenarios that failed this week (with the fixes they verify, one query more)
and the fixes still awaiting verification.
tests/reviews/test_agenda.py pins the number of queries; benchmarks/review_speed.py times it.

The agenda is built for one viewer: an incident hidden from them (`Incident.objects.hidden_from`,
PRODUCT.md "Who may see and change what"), and its remediations, flags, scenarios and the
decisions about them, are absent from every section, count, trend and from the minutes. The
hidden incidents are a subquery excluded from each query (restricted incidents are few), so
the number of queries stays the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import TruncWeek

from gamedays.actions import awaiting_verification
from gamedays.models import GameDay, Outcome, Scenario
from incidents.models import PATH_SEPARATOR, FailureCategory, Incident, IncidentStatus, Severity
from remediations.models import (
    OPEN_STATUSES,
    FlagState,
    RecurrenceFlag,
    Remediation,
    RemediationStatus,
)
from reviews.models import ReviewDecision, ReviewMeeting
from reviews.weeks import Week

SHOWN = 25  # rows per section, as many as a meeting gets through; the rest is counted
COUNT_CAP = 1000  # beyond this a section says "1,000+": counting 75,000 overdue rows is waste
TREND_WEEKS = 12
TREND_CATEGORIES = 8


@dataclass
class Section:
    rows: list[Any]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)

    @property
    def total_label(self) -> str:
        return f"{COUNT_CAP:,}+" if self.total > COUNT_CAP else f"{self.total:,}"

    @property
    def more_label(self) -> str:
        return f"over {self.more:,}" if self.total > COUNT_CAP else f"{self.more:,}"


@dataclass
class FlagGroup:
    """The open recurrences of one failure mode: the rows shown, and how many there are."""

    category: FailureCategory
    flags: list[RecurrenceFlag]
    total: int

    @property
    def more(self) -> int:
        return max(self.total - len(self.flags), 0)

    @property
    def open_flags(self) -> list[RecurrenceFlag]:
        return [flag for flag in self.flags if flag.state == FlagState.OPEN]


@dataclass
class Trend:
    category_id: int
    path: str
    slug: str
    counts: list[int]  # oldest week first

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass
class Agenda:
    week: Week
    new_incidents: Section
    unreviewed_incidents: Section
    open_flags: Section
    overdue_remediations: Section
    due_remediations: Section
    done_remediations: Section
    game_days: Section  # scheduled this week, with `held`, `failed`, `aborted`, `pending` counts
    failed_verifications: Section  # scenarios that failed this week, with the fixes they verify
    awaiting_verification: Section  # done prevent/mitigate fixes still unverified, oldest first
    trend_weeks: list[Week]
    trends: list[Trend]
    uncovered_categories: Sequence[FailureCategory]
    meeting: ReviewMeeting | None
    decisions: list[ReviewDecision] = field(default_factory=list)
    flags_per_category: dict[int, int] = field(default_factory=dict)
    attendee_ids: set[int] = field(default_factory=set)
    attendee_names: list[str] = field(default_factory=list)
    reviewed_ids: set[int] = field(default_factory=set)

    def new_by_severity(self) -> list[tuple[str, list[Incident]]]:
        groups: dict[str, list[Incident]] = defaultdict(list)
        for incident in self.new_incidents.rows:
            groups[incident.severity].append(incident)
        return [(s, groups[s]) for s in Severity.values if groups[s]]

    @property
    def flag_groups(self) -> list[FlagGroup]:
        """The open flags shown, by failure mode: the modes with most recurrences first, each
        mode's incidents in the order they started."""
        groups: dict[int, FlagGroup] = {}
        for flag in self.open_flags.rows:
            group = groups.setdefault(
                flag.category_id,
                FlagGroup(flag.category, [], self.flags_per_category.get(flag.category_id, 0)),
            )
            group.flags.append(flag)
        for group in groups.values():
            group.flags.sort(key=lambda f: (f.incident.started_at, f.pk))
        return sorted(groups.values(), key=lambda g: (-g.total, g.category.path))

    @property
    def overdue_groups(self) -> list[tuple[str, list[Remediation]]]:
        return self.by_owner(self.overdue_remediations)

    @property
    def due_groups(self) -> list[tuple[str, list[Remediation]]]:
        return self.by_owner(self.due_remediations)

    @staticmethod
    def by_owner(section: Section) -> list[tuple[str, list[Remediation]]]:
        groups: dict[str, list[Remediation]] = defaultdict(list)
        for remediation in section.rows:
            owner = remediation.owner.get_username() if remediation.owner else ""
            groups[owner].append(remediation)
        return sorted(groups.items(), key=lambda item: (item[0] == "", item[0].lower()))


def _section(queryset: QuerySet[Any]) -> Section:
    """The first SHOWN rows, and how many there are up to COUNT_CAP (two index-bound queries)."""
    rows = list(queryset[:SHOWN])
    # Counted even when the rows show it all: the page costs the same queries for any data.
    return Section(rows=rows, total=queryset.order_by()[: COUNT_CAP + 1].count())


def build(week: Week, *, viewer: Any) -> Agenda:
    """The week's agenda as `viewer` may see it (None: the system, which sees everything)."""
    hidden = Incident.objects.hidden_from(viewer).values("pk")
    # A duplicate leaves the agenda: its original is reviewed (PRODUCT.md, "Writing, …").
    originals = Incident.objects.originals(viewer)  # one whose original they can't see stays
    incidents = originals.exclude(pk__in=hidden).only(
        "pk", "title", "severity", "status", "started_at", "detected_at", "resolved_at", "version"
    )
    remediations = Remediation.objects.select_related("owner", "category").only(
        "pk", "title", "status", "kind", "due_date", "done_at", "opened_at", "version",
        "owner__username", "category__path", "category__slug", "category__name", "incident_id",
    )  # fmt: skip
    remediations = remediations.exclude(incident__in=hidden)
    visible_fixes = Remediation.objects.exclude(incident__in=hidden)
    open_remediations = remediations.filter(status__in=OPEN_STATUSES)
    visible_flags = RecurrenceFlag.objects.visible_to(viewer).filter(state=FlagState.OPEN)

    meeting = ReviewMeeting.objects.filter(week_start=week.monday).first()
    attendee_ids: set[int] = set()
    attendee_names: list[str] = []
    reviewed_ids: set[int] = set()
    if meeting:
        attendees = list(meeting.attendees.order_by("username").values_list("pk", "username"))
        attendee_ids = {pk for pk, _ in attendees}
        attendee_names = [name for _, name in attendees]
        reviewed_ids = set(
            meeting.reviewed_incidents.exclude(pk__in=hidden).values_list("pk", flat=True)
        )
    trend_weeks = [week.back(n) for n in range(TREND_WEEKS - 1, -1, -1)]
    open_flags = list(
        visible_flags.select_related("incident", "category")
        .prefetch_related(
            # A fix from a hidden incident is hidden too, even when a visible flag names it.
            Prefetch("remediations", visible_fixes.only("pk", "title", "done_at"))
        )
        .only(
            "pk",
            "state",
            "outcome",
            "note",
            "raised_at",
            "reason",
            "incident__title",
            "incident__started_at",
            "category__path",
            "category__slug",
            "category__name",
        )  # fmt: skip
        .order_by("-raised_at", "-pk")[:SHOWN]
    )
    # Open flags are few once triaged (one per incident and failure mode that came back after
    # a promise), so they are counted per mode without a cap: a group says what it holds.
    flags_per_category = dict(
        visible_flags.order_by()
        .values("category_id")
        .annotate(n=Count("pk"))
        .values_list("category_id", "n")
    )
    return Agenda(
        week=week,
        new_incidents=_section(
            incidents.filter(started_at__gte=week.starts_at, started_at__lt=week.ends_at).order_by(
                "severity", "started_at", "pk"
            )
        ),
        unreviewed_incidents=_section(
            incidents.filter(
                status=IncidentStatus.RESOLVED, started_at__lt=week.starts_at
            ).order_by("started_at", "pk")
        ),
        open_flags=Section(open_flags, sum(flags_per_category.values())),
        # Most overdue first (remediation_open_due_idx), grouped by owner on the page.
        overdue_remediations=_section(
            open_remediations.filter(due_date__lt=week.monday).order_by("due_date", "pk")
        ),
        due_remediations=_section(
            open_remediations.filter(due_date__gte=week.monday, due_date__lte=week.sunday).order_by(
                "due_date", "pk"
            )
        ),
        done_remediations=_section(
            remediations.filter(
                status=RemediationStatus.DONE,
                done_at__gte=week.starts_at,
                done_at__lt=week.ends_at,
            ).order_by("done_at", "pk")
        ),
        game_days=_section(_game_days(week, hidden)),
        failed_verifications=_section(_failed_verifications(week, hidden)),
        awaiting_verification=_section(
            awaiting_verification()
            .exclude(incident__in=hidden)
            .select_related(None)
            .only("pk", "title", "kind", "done_at")
        ),
        trend_weeks=trend_weeks,
        trends=_trends(trend_weeks, hidden, viewer=viewer),
        uncovered_categories=_uncovered_categories(hidden),
        meeting=meeting,
        decisions=decisions_of(week, viewer=viewer),
        flags_per_category=flags_per_category,
        attendee_ids=attendee_ids,
        attendee_names=attendee_names,
        reviewed_ids=reviewed_ids,
    )


def _hidden_scenarios(hidden: QuerySet[Any]) -> QuerySet[Any]:
    """Scenarios that caused an incident hidden from the viewer share its visibility."""
    return Scenario.objects.filter(incidents__in=hidden).values("pk")


def _game_days(week: Week, hidden: QuerySet[Any]) -> QuerySet[GameDay]:
    """The game days scheduled in the week, in order, with their scenarios' outcomes counted
    (those the viewer may see)."""
    secret = _hidden_scenarios(hidden)

    def outcomes(outcome: str) -> Count:
        return Count("scenarios", filter=Q(scenarios__outcome=outcome) & ~Q(scenarios__in=secret))

    return (
        GameDay.objects.filter(scheduled_at__gte=week.starts_at, scheduled_at__lt=week.ends_at)
        .annotate(
            held=outcomes(Outcome.HELD),
            failed=outcomes(Outcome.FAILED),
            aborted=outcomes(Outcome.ABORTED),
            pending=outcomes(Outcome.PENDING),
        )
        .only("pk", "title", "scheduled_at", "environment", "status")
        .order_by("scheduled_at", "pk")
    )


def _failed_verifications(week: Week, hidden: QuerySet[Any]) -> QuerySet[Scenario]:
    """Scenarios that failed in the week, with the fixes they verify (which it regressed)."""
    return (
        Scenario.objects.filter(
            outcome=Outcome.FAILED, ran_at__gte=week.starts_at, ran_at__lt=week.ends_at
        )
        .exclude(pk__in=_hidden_scenarios(hidden))
        .select_related("game_day", "category")
        .prefetch_related(
            Prefetch(
                "verifies",
                Remediation.objects.exclude(incident__in=hidden).only(
                    "pk",
                    "title",
                    "kind",
                    "status",
                    "effectiveness",
                    "effectiveness_since",
                    "effectiveness_evidence",
                    "done_at",
                ),
            )
        )
        .only(
            "pk",
            "title",
            "injection",
            "ran_at",
            "game_day__title",
            "game_day__scheduled_at",
            "category__path",
            "category__slug",
            "category__name",
        )
        .order_by("ran_at", "pk")
    )


def decisions_of(week: Week, *, viewer: Any) -> list[ReviewDecision]:
    """What was decided on the week's review page, in order: one query, meeting or not.

    A decision about an incident hidden from `viewer`, or about one of its remediations or
    flags, is left out: its subject quotes their titles.
    """
    hidden = Incident.objects.hidden_from(viewer).values("pk")
    return list(
        ReviewDecision.objects.filter(meeting__week_start=week.monday)
        .exclude(incident__in=hidden)
        .exclude(remediation__incident__in=hidden)
        .exclude(flag__incident__in=hidden)
        .select_related("by")
        .only(
            "pk",
            "at",
            "kind",
            "subject",
            "detail",
            "url",
            "incident_id",
            "remediation_id",
            "flag_id",
            "outcome",
            "next_steps",
            "by__username",
        )  # fmt: skip
        .order_by("at", "pk")
    )


def _trends(weeks: list[Week], hidden: QuerySet[Any], *, viewer: Any) -> list[Trend]:
    """The categories with the most incidents over these weeks, counted per week (only the
    incidents the viewer may see)."""
    index = {w.monday: i for i, w in enumerate(weeks)}
    rows = (
        # django-stubs loses annotations on an auto-created through model ("Cannot resolve
        # keyword 'week'"); the query itself is checked by tests/reviews/test_agenda.py.
        Incident.categories.through.objects.filter(  # type: ignore[misc]
            incident__started_at__gte=weeks[0].starts_at,
            incident__started_at__lt=weeks[-1].ends_at,
        )
        .exclude(incident__in=hidden)
        # A duplicate counts once, as its original (unless that is hidden from the viewer).
        .exclude(incident__in=Incident.objects.merged_for(viewer).values("pk"))
        .annotate(week=TruncWeek("incident__started_at"))
        .values("failurecategory_id", "failurecategory__path", "failurecategory__slug", "week")
        .annotate(n=Count("incident_id"))
    )
    trends: dict[int, Trend] = {}
    for row in rows:
        trend = trends.setdefault(
            row["failurecategory_id"],
            Trend(
                row["failurecategory_id"],
                row["failurecategory__path"],
                row["failurecategory__slug"],
                [0] * len(weeks),
            ),
        )
        monday = row["week"].date() if hasattr(row["week"], "date") else row["week"]
        if monday in index:
            trend.counts[index[monday]] += row["n"]
    ranked = sorted(trends.values(), key=lambda t: (-t.total, t.path))
    return ranked[:TREND_CATEGORIES]


# Sequence: the categories carry their annotations, a subtype a list[FailureCategory] refuses.
def _uncovered_categories(hidden: QuerySet[Any]) -> Sequence[FailureCategory]:
    """Categories with incidents but no remediation on them or on any category above them
    (counting only the incidents and remediations the viewer may see)."""
    through = Incident.categories.through.objects.filter(failurecategory_id=OuterRef("pk")).exclude(
        incident__in=hidden
    )
    fixes = Remediation.objects.filter(category_id=OuterRef("pk")).exclude(incident__in=hidden)
    categories = list(
        FailureCategory.objects.annotate(
            has_incidents=Exists(through),
            has_remediations=Exists(fixes),
        ).only("pk", "name", "path", "slug")
    )
    remedied = {c.path for c in categories if c.has_remediations}

    def covered(path: str) -> bool:
        parts = path.split(PATH_SEPARATOR)
        return any(PATH_SEPARATOR.join(parts[: i + 1]) in remedied for i in range(len(parts)))

    return [c for c in categories if c.has_incidents and not covered(c.path)][:SHOWN]
