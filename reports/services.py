"""What Once knows of a service: how it breaks, its incidents, fixes and game days (PRODUCT.md,
"Service"; issue 17). The read model of `/services/`, `/services/<id>/` and `/api/services/`.

Every number counts only what the reader may see: incidents through `visible_to(user)`, and
remediations, flags and scenarios through theirs (PRODUCT.md, "Who may see and change what").
Each function costs a fixed number of queries, whatever the number of incidents.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, F, Func, IntegerField, Max, OuterRef, Q, QuerySet, Window
from django.db.models.functions import RowNumber, TruncMonth
from django.utils import timezone

from gamedays.models import Scenario
from incidents.models import (
    FailureCategory,
    Incident,
    IncidentQuerySet,
    Service,
    sees_every_incident,
)
from remediations.models import (
    OPEN_STATUSES,
    FlagState,
    RecurrenceFlag,
    RecurrenceLink,
    Remediation,
    RemediationStatus,
)
from remediations.recurrence import ancestor_paths

RECENT_DAYS = 90  # "incidents in the last 90 days" on the list
SHOWN_INCIDENTS = 25  # on the page, most recent first; the rest through the incident list
SHOWN_SCENARIOS = 20
SHOWN_REMEDIATIONS = 50  # open ones on the page, overdue and due soonest first
SHOWN_MODES = 30  # the most frequent failure modes on the page; their incidents list the rest
SHOWN_FIXES = 3  # per failure mode and kind (open, done), the latest; the rest are counted
CHART_MONTHS = 24  # "incidents per month over the last two years"


def incidents_of(service: Service, user: Any) -> IncidentQuerySet:
    """The incidents that affected `service` and that `user` may see, a duplicate counted as
    its original (PRODUCT.md: an incident marked `duplicate_of` another leaves lists and
    counts), as the category page counts them."""
    return Incident.objects.visible_to(user).originals(user).filter(services=service)


def incident_ids_of(service: Service, user: Any, *, duplicates: bool = False) -> QuerySet[Any]:
    """The ids of `incidents_of(service, user)`, as a subquery (`incident_id` values) read
    from the service's links: every incident the service names but those hidden from `user`
    (and, unless `duplicates`, the duplicates of an original `user` sees: `Incident.objects.
    merged_for`). The same set as `incidents_of` (`hidden_from` is
    the complement of `visible_to`: the incident_visibility_valid constraint allows no third
    visibility), but it never reads
    the incidents' table — at 10,000 incidents on a service, the visibility filter of
    `incidents_of` scans all of them, and the hidden ones are few and found by their index.
    """
    links = Incident.services.through.objects.filter(service=service)
    if not duplicates:
        # Duplicates are few and found by the index of duplicate_of, as hidden ones are; a
        # duplicate of an original hidden from `user` stays (`IncidentQuerySet.originals`).
        links = links.exclude(incident__in=Incident.objects.merged_for(user).values("pk"))
    if not sees_every_incident(user):
        links = links.exclude(incident__in=Incident.objects.hidden_from(user).values("pk"))
    return links.values("incident_id")


# --- One service ----------------------------------------------------------------------------


@dataclass
class FailureMode:
    """One failure mode of a service's incidents: how often, how lately, and the fixes."""

    path: str
    slug: str
    incidents: int
    last_at: datetime.datetime
    open_count: int = 0
    done_count: int = 0
    effectiveness: dict[str, int] = field(default_factory=dict)  # of the done fixes
    open_fixes: list[Remediation] = field(default_factory=list)  # the latest few
    done_fixes: list[Remediation] = field(default_factory=list)  # the latest few
    last_tested_at: datetime.datetime | None = None


def failure_modes(service: Service, user: Any) -> list[FailureMode]:
    """How `service` breaks: the categories of its incidents, the SHOWN_MODES most frequent.

    Each with its incident count and last occurrence, the fixes covering it (remediations on it
    or above it, as recurrence reads them): how many are open and done, the done ones counted
    by effectiveness, the latest SHOWN_FIXES of each named; and when a game-day scenario on this
    service and on it (or below it) last ran. Five queries, however many fixes there are.
    """
    rows = (
        Incident.categories.through.objects.filter(incident_id__in=incident_ids_of(service, user))
        .values("failurecategory__path", "failurecategory__slug")
        .annotate(n=Count("incident_id"), last=Max("incident__started_at"))
        .order_by("-n", "-last", "failurecategory__path")
    )[:SHOWN_MODES]
    modes = [
        FailureMode(
            path=row["failurecategory__path"],
            slug=row["failurecategory__slug"],
            incidents=row["n"],
            last_at=row["last"],
        )
        for row in rows
    ]
    if not modes:
        return modes
    covering = {p for mode in modes for p in ancestor_paths(mode.path)}
    visible_fixes = Remediation.objects.visible_to(user)
    fixes = visible_fixes.filter(category__path__in=covering)
    # How many fixes of each status and effectiveness there are on each covering category…
    tally: dict[str, list[tuple[str, str | None, int]]] = defaultdict(list)
    counted = (
        fixes.exclude(status=RemediationStatus.WONT_DO)
        .order_by()
        .values_list("category__path", "status", "effectiveness")
        .annotate(n=Count("pk"))
    )
    for path, status, effectiveness, n in counted:
        tally[path].append((status, effectiveness, n))
    # …and the few latest of each status there, to name (a busy service has thousands).
    shown: dict[str, list[Remediation]] = defaultdict(list)
    for named in _latest_fixes(visible_fixes, covering):
        assert named.category is not None
        shown[named.category.path].append(named)
    tested = _tested_by_path(Scenario.objects.visible_to(user).ran().filter(services=service))
    for mode in modes:
        for path in ancestor_paths(mode.path):
            for status, effectiveness, n in tally[path]:
                if status == RemediationStatus.DONE:
                    mode.done_count += n
                    key = effectiveness or "not assessed yet"
                    mode.effectiveness[key] = mode.effectiveness.get(key, 0) + n
                else:
                    mode.open_count += n
            for fix in shown[path]:
                (mode.open_fixes if fix.is_open else mode.done_fixes).append(fix)
        mode.open_fixes = sorted(mode.open_fixes, key=_newest_first)[:SHOWN_FIXES]
        mode.done_fixes = sorted(mode.done_fixes, key=_newest_first)[:SHOWN_FIXES]
        mode.last_tested_at = tested.get(mode.path)
    return modes


def _latest_fixes(visible: QuerySet[Remediation], paths: set[str]) -> QuerySet[Remediation]:
    """The SHOWN_FIXES latest open and the SHOWN_FIXES latest done of `visible` on each category
    of `paths` (one query), with their category.

    On PostgreSQL, each category's few are read from the end of an index (the open ones by
    remediation_open_latest_idx, the done ones by remediation_done_latest_idx): a category
    with thousands of fixes costs a few rows. Elsewhere, a window ranks every fix."""
    if connection.vendor != "postgresql":
        fixes = visible.filter(
            category__path__in=paths, status__in=[*OPEN_STATUSES, RemediationStatus.DONE]
        )
        ranked = fixes.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("category_id"), F("status")],
                order_by=[F("done_at").desc(nulls_last=True), F("opened_at").desc(), F("id")],
            )
        )
        return ranked.filter(rank__lte=SHOWN_FIXES).select_related("category")
    from django.contrib.postgres.expressions import ArraySubquery

    on_it = visible.filter(category=OuterRef("pk"))
    latest_open = on_it.filter(status__in=OPEN_STATUSES).order_by("-opened_at", "id")
    latest_done = on_it.filter(status=RemediationStatus.DONE).order_by(
        "-done_at", "-opened_at", "id"
    )
    ids = FailureCategory.objects.filter(path__in=paths).annotate(
        fix=Func(
            Func(
                ArraySubquery(latest_open.values("pk")[:SHOWN_FIXES]),
                ArraySubquery(latest_done.values("pk")[:SHOWN_FIXES]),
                function="array_cat",
            ),
            function="unnest",
            output_field=IntegerField(),
        )
    )
    return Remediation.objects.filter(pk__in=ids.values("fix")).select_related("category")


def _newest_first(fix: Remediation) -> tuple[float, float]:
    done = fix.done_at.timestamp() if fix.done_at else 0.0
    return (-done, -fix.opened_at.timestamp())


def _tested_by_path(scenarios: QuerySet[Scenario]) -> dict[str, datetime.datetime]:
    """{path: when a scenario on it or below it last ran}, carried up the tree (one query)."""
    latest: dict[str, datetime.datetime] = {}
    rows = scenarios.order_by().values("category__path").annotate(at=Max("ran_at"))
    for row in rows:
        for above in ancestor_paths(row["category__path"]):
            if above not in latest or latest[above] < row["at"]:
                latest[above] = row["at"]
    return latest


def remediations_of(service: Service, user: Any) -> QuerySet[Remediation]:
    """Its open remediations, overdue first then by due date: those from its incidents, linked
    to them by the recurrence rule, or found by its game-day scenarios."""
    # A duplicate's fixes are still fixes of the service: every visible incident of it.
    incidents = incident_ids_of(service, user, duplicates=True)
    return (
        Remediation.objects.visible_to(user)
        .still_open()
        .filter(
            Q(incident__in=incidents)
            | Q(pk__in=RecurrenceLink.objects.filter(incident__in=incidents).values("remediation"))
            | Q(scenario__in=Scenario.objects.filter(services=service).values("pk"))
        )
        .for_list()
        .order_by(F("due_date").asc(nulls_last=True), "-opened_at", "-id")
    )


def scenarios_of(service: Service, user: Any) -> QuerySet[Scenario]:
    """Its game-day scenarios, the planned ones first, then the latest run first."""
    return (
        Scenario.objects.visible_to(user)
        .filter(services=service)
        .select_related("game_day", "category")
        .order_by(F("ran_at").desc(nulls_first=True), "-game_day__scheduled_at", "-id")
    )


@dataclass(frozen=True)
class Month:
    start: datetime.date
    incidents: int


def monthly_counts(service: Service, user: Any) -> dict[datetime.date, int]:
    """{first day of a calendar month (UTC): its incidents of `service` that `user` may see},
    over all time, months without incidents left out (one query). Their sum is the service's
    incident count: the page reads both from this one query."""
    rows = (
        Incident.objects.filter(pk__in=incident_ids_of(service, user))
        .annotate(month=TruncMonth("started_at", tzinfo=datetime.UTC))
        .order_by()
        .values("month")
        .annotate(n=Count("pk"))
    )
    return {
        row["month"].date() if isinstance(row["month"], datetime.datetime) else row["month"]: row[
            "n"
        ]
        for row in rows
    }


def per_month(
    service: Service,
    user: Any,
    now: datetime.datetime | None = None,
    counts: dict[datetime.date, int] | None = None,
) -> list[Month]:
    """Its incidents per calendar month (UTC) over the last CHART_MONTHS months, this one
    included, oldest first; months without incidents count 0. From `counts` (what
    `monthly_counts` answers) when given, else one query."""
    now = now or timezone.now()
    year, month = now.year, now.month
    starts = []
    for _ in range(CHART_MONTHS):
        starts.append(datetime.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    starts.reverse()
    if counts is None:
        counts = monthly_counts(service, user)
    return [Month(start=s, incidents=counts.get(s, 0)) for s in starts]


# --- Many services: the list and the API -----------------------------------------------------


@dataclass
class ServiceRow:
    """A row of `/services/`."""

    service: Service
    recent: int = 0  # incidents in the last RECENT_DAYS days
    open_fixes: int = 0
    recurred: int = 0  # failure modes that recurred after a fix (flags still standing)
    last_tested_at: datetime.datetime | None = None

    @property
    def never_tested(self) -> bool:
        return self.last_tested_at is None


# ?sort= on /services/: what each sorts by, most telling first.
SORTS = {
    "name": "Name",
    "recent": f"Incidents ({RECENT_DAYS} days)",
    "open": "Open remediations",
    "recurred": "Recurred after fix",
    "never_tested": "Never tested",
}


def service_rows(user: Any, sort: str = "name") -> list[ServiceRow]:
    """Every service with its numbers for `user`, sorted by `sort` (a key of SORTS; the name
    for anything else). Six queries, whatever the number of services and incidents."""
    rows = {s.pk: ServiceRow(service=s) for s in Service.objects.visible_to(user)}
    visible = Incident.objects.visible_to(user).originals(user)
    since = timezone.now() - datetime.timedelta(days=RECENT_DAYS)
    recent = (
        Incident.services.through.objects.filter(
            incident__in=visible.filter(started_at__gte=since).values("pk")
        )
        .values("service_id")
        .annotate(n=Count("incident_id"))
    )
    for row in recent:
        rows[row["service_id"]].recent = row["n"]
    for service_id, count in _open_fixes(user).items():
        rows[service_id].open_fixes = count
    standing = (
        RecurrenceFlag.objects.visible_to(user)
        .filter(state__in=[FlagState.OPEN, FlagState.ACKNOWLEDGED])
        .values("incident__services")
        .annotate(n=Count("category", distinct=True))
    )
    for flagged in standing:
        if flagged["incident__services"] in rows:
            rows[flagged["incident__services"]].recurred = flagged["n"]
    tested = (
        Scenario.objects.visible_to(user)
        .ran()
        .order_by()
        .values("services")
        .annotate(at=Max("ran_at"))
    )
    for test in tested:
        if test["services"] in rows:
            rows[test["services"]].last_tested_at = test["at"]
    return sort_rows(list(rows.values()), sort)


def _open_fixes(user: Any) -> dict[int, int]:
    """{service id: its open remediations as its page counts them (`remediations_of`): from
    its incidents, linked to them by the recurrence rule, or from its scenarios}, each once
    however many ways it belongs (one query: the UNION of the three keeps each pair once)."""
    open_fixes = Remediation.objects.visible_to(user).still_open().order_by()
    from_incidents = open_fixes.filter(incident__services__isnull=False).values_list(
        "incident__services", "pk"
    )
    linked = (
        RecurrenceLink.objects.filter(
            remediation__in=open_fixes.values("pk"),
            incident__in=Incident.objects.visible_to(user).values("pk"),
            incident__services__isnull=False,
        )
        .order_by()
        .values_list("incident__services", "remediation_id")
    )
    from_scenarios = open_fixes.filter(scenario__services__isnull=False).values_list(
        "scenario__services", "pk"
    )
    counts: dict[int, int] = defaultdict(int)
    for service_id, _ in from_incidents.union(linked, from_scenarios):
        counts[service_id] += 1
    return counts


def sort_rows(rows: list[ServiceRow], sort: str) -> list[ServiceRow]:
    """Most first for the numbers, never tested (then longest untested) first for testing."""
    rows.sort(key=lambda r: r.service.name.lower())
    if sort == "recent":
        rows.sort(key=lambda r: -r.recent)
    elif sort == "open":
        rows.sort(key=lambda r: -r.open_fixes)
    elif sort == "recurred":
        rows.sort(key=lambda r: -r.recurred)
    elif sort == "never_tested":
        oldest = datetime.datetime.min.replace(tzinfo=datetime.UTC)
        rows.sort(key=lambda r: (not r.never_tested, r.last_tested_at or oldest))
    return rows


@dataclass
class Facts:
    """The read-only numbers of the service representation (PRODUCT.md, "service")."""

    failure_modes: list[dict[str, Any]] = field(default_factory=list)
    incident_count: int = 0
    last_incident_at: datetime.datetime | None = None
    last_tested_at: datetime.datetime | None = None


def facts(service_ids: Iterable[int], user: Any) -> dict[int, Facts]:
    """{service id: its Facts for `user`} for a page of services, in three queries."""
    ids = list(service_ids)
    found = {pk: Facts() for pk in ids}
    if not ids:
        return found
    visible = Incident.objects.visible_to(user).originals(user).values("pk")
    counts = (
        Incident.services.through.objects.filter(service_id__in=ids, incident__in=visible)
        .values("service_id")
        .annotate(n=Count("incident_id"), last=Max("incident__started_at"))
    )
    for row in counts:
        found[row["service_id"]].incident_count = row["n"]
        found[row["service_id"]].last_incident_at = row["last"]
    modes = (
        Incident.categories.through.objects.filter(incident__services__in=ids, incident__in=visible)
        .values("incident__services", "failurecategory__path")
        .annotate(n=Count("incident_id"))
        .order_by("incident__services", "-n", "failurecategory__path")
    )
    for mode in modes:
        found[mode["incident__services"]].failure_modes.append(
            {"path": mode["failurecategory__path"], "incident_count": mode["n"]}
        )
    tested = (
        Scenario.objects.visible_to(user)
        .ran()
        .filter(services__in=ids)
        .values("services")
        .annotate(at=Max("ran_at"))
        .order_by()
    )
    for test in tested:
        found[test["services"]].last_tested_at = test["at"]
    return found
