"""The weekly review agenda, built from the knowledge base in a fixed number of queries.

Every section is one query, however many incidents and remediations there are; long
sections show their first rows and a total (the query counts them with a window function).
tests/reviews/test_agenda.py pins the number of queries; benchmarks/review_speed.py times it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, QuerySet, Window
from django.db.models.functions import TruncWeek

from incidents.models import PATH_SEPARATOR, FailureCategory, Incident, IncidentStatus, Severity
from remediations.models import (
    OPEN_STATUSES,
    FlagState,
    RecurrenceFlag,
    Remediation,
    RemediationStatus,
)
from reviews.models import ReviewMeeting
from reviews.weeks import Week

SHOWN = 50  # rows per section; the rest is counted ("and 120 more")
TREND_WEEKS = 12
TREND_CATEGORIES = 8


@dataclass
class Section:
    rows: list[Any]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


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
    trend_weeks: list[Week]
    trends: list[Trend]
    uncovered_categories: list[FailureCategory]
    meeting: ReviewMeeting | None
    attendee_ids: set[int] = field(default_factory=set)
    attendee_names: list[str] = field(default_factory=list)
    reviewed_ids: set[int] = field(default_factory=set)

    def new_by_severity(self) -> list[tuple[str, list[Incident]]]:
        groups: dict[str, list[Incident]] = defaultdict(list)
        for incident in self.new_incidents.rows:
            groups[incident.severity].append(incident)
        return [(s, groups[s]) for s in Severity.values if groups[s]]

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
    """The first SHOWN rows and the total, in one query."""
    rows = list(queryset.annotate(section_total=Window(Count("pk")))[:SHOWN])
    return Section(rows=rows, total=rows[0].section_total if rows else 0)


def build(week: Week) -> Agenda:
    incidents = Incident.objects.only(
        "pk", "title", "severity", "status", "started_at", "resolved_at", "version"
    )
    remediations = Remediation.objects.select_related("owner", "category").only(
        "pk", "title", "status", "kind", "due_date", "done_at", "opened_at", "version",
        "owner__username", "category__path", "category__slug", "incident_id",
    )  # fmt: skip
    open_remediations = remediations.filter(status__in=OPEN_STATUSES)

    meeting = ReviewMeeting.objects.filter(week_start=week.monday).first()
    attendee_ids: set[int] = set()
    attendee_names: list[str] = []
    reviewed_ids: set[int] = set()
    if meeting:
        attendees = list(meeting.attendees.order_by("username").values_list("pk", "username"))
        attendee_ids = {pk for pk, _ in attendees}
        attendee_names = [name for _, name in attendees]
        reviewed_ids = set(meeting.reviewed_incidents.values_list("pk", flat=True))
    trend_weeks = [week.back(n) for n in range(TREND_WEEKS - 1, -1, -1)]
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
        open_flags=_section(
            RecurrenceFlag.objects.filter(state=FlagState.OPEN)
            .select_related("incident", "remediation", "category")
            .only(
                "pk",
                "state",
                "note",
                "raised_at",
                "reason",
                "incident__title",
                "incident__started_at",
                "remediation__title",
                "remediation__done_at",
                "category__path",
                "category__slug",
            )  # fmt: skip
            .order_by("-raised_at", "-pk")
        ),
        overdue_remediations=_section(
            open_remediations.filter(due_date__lt=week.monday).order_by(
                F("owner__username").asc(nulls_last=True), "due_date", "pk"
            )
        ),
        due_remediations=_section(
            open_remediations.filter(due_date__gte=week.monday, due_date__lte=week.sunday).order_by(
                F("owner__username").asc(nulls_last=True), "due_date", "pk"
            )
        ),
        done_remediations=_section(
            remediations.filter(
                status=RemediationStatus.DONE,
                done_at__gte=week.starts_at,
                done_at__lt=week.ends_at,
            ).order_by("done_at", "pk")
        ),
        trend_weeks=trend_weeks,
        trends=_trends(trend_weeks),
        uncovered_categories=_uncovered_categories(),
        meeting=meeting,
        attendee_ids=attendee_ids,
        attendee_names=attendee_names,
        reviewed_ids=reviewed_ids,
    )


def _trends(weeks: list[Week]) -> list[Trend]:
    """The categories with the most incidents over these weeks, counted per week."""
    index = {w.monday: i for i, w in enumerate(weeks)}
    rows = (
        Incident.categories.through.objects.filter(
            incident__started_at__gte=weeks[0].starts_at,
            incident__started_at__lt=weeks[-1].ends_at,
        )
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


def _uncovered_categories() -> list[FailureCategory]:
    """Categories with incidents but no remediation on them or on any category above them."""
    through = Incident.categories.through.objects.filter(failurecategory_id=OuterRef("pk"))
    categories = list(
        FailureCategory.objects.annotate(
            has_incidents=Exists(through),
            has_remediations=Exists(Remediation.objects.filter(category_id=OuterRef("pk"))),
        ).only("pk", "name", "path", "slug")
    )
    remedied = [c.path for c in categories if c.has_remediations]
    return [
        c
        for c in categories
        if c.has_incidents
        and not any(c.path == p or c.path.startswith(p + PATH_SEPARATOR) for p in remedied)
    ][:SHOWN]
