"""How long `reconcile_recurrences` takes over a large knowledge base, and how many flags it makes.

    .venv/bin/python benchmarks/reconcile_speed.py [--incidents 100000] [--remediations 5000]

Builds N incidents over a three-level tree of 1,110 failure categories (10 × 10 × 10 leaves
and their parents), each incident in one or two leaf categories plus a cause in a third,
spread over five years; and M remediations, 90% on leaf modes, 9% on their parents and 1%
on whole areas: half done (a few weeks after opening), a third open or in progress, the rest
won't do. All of the default kind, *prevent*, as before the kinds mattered, so the numbers
compare across versions; `--mixed-kinds` draws kinds (prevent, mitigate, detect, process)
from a separate seed, leaving everything else the same. Everything is dated a day back, as
in a knowledge base written before the last reconciliation.

Then times the reconciliation: in full from nothing (every link and flag to create), in full
again (nothing to change), and incrementally after (a) nothing changed, (b) 10 incidents
edited, (c) one open remediation on a leaf mode marked done two years ago. Checks the flags
against the incidents that truly recurred, counted independently in SQL.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import time
from typing import Any

from _database import fresh_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--remediations", type=int, default=5_000)
    parser.add_argument("--mixed-kinds", action="store_true")
    args = parser.parse_args()
    with fresh_database("once_bench_reconcile") as server:
        build(args.incidents, args.remediations, mixed_kinds=args.mixed_kinds)
        run(server)


def build(incidents: int, remediations: int, *, mixed_kinds: bool = False) -> None:
    """The knowledge base described above (seeded: the same on every run)."""
    from django.db import connection

    from common.bulk import insert, insert_rows
    from incidents.actions import get_or_create_category
    from incidents.models import Cause, FailureCategory, Incident
    from remediations.models import Remediation

    rng = random.Random(20261127)
    kinds = random.Random(20261130)  # apart, so that the rest stays the same with or without
    leaves = [
        get_or_create_category(f"Area {a} > Part {b} > Mode {c}")
        for a in range(10) for b in range(10) for c in range(10)
    ]  # fmt: skip
    every = list(FailureCategory.objects.all())
    by_depth = {d: [c for c in every if c.depth == d] for d in (0, 1, 2)}
    start = datetime.datetime(2021, 1, 1, tzinfo=datetime.UTC)
    span = 5 * 365 * 24 * 3600

    def moment() -> datetime.datetime:
        return start + datetime.timedelta(seconds=rng.randrange(span))

    built = time.perf_counter()
    rows = [Incident(title=f"Incident {n}", started_at=moment()) for n in range(incidents)]
    for chunk in range(0, len(rows), 5000):
        insert(Incident, rows[chunk : chunk + 5000])
    insert_rows(
        Incident.categories.through,
        ["incident_id", "failurecategory_id"],
        [(i.pk, c.pk) for i in rows for c in rng.sample(leaves, rng.randint(1, 2))],
    )
    insert_rows(
        Cause,
        ["incident_id", "kind", "description", "category_id"],
        [(i.pk, "root_cause", "why", rng.choice(leaves).pk) for i in rows],
    )
    fixes = []
    for n in range(remediations):
        opened = moment()
        status = rng.choices(["done", "open", "in_progress", "wont_do"], [50, 20, 13, 17])[0]
        done = opened + datetime.timedelta(days=rng.randint(7, 60)) if status == "done" else None
        # Most fixes address one failure mode; few a whole area (which then covers thousands).
        depth = rng.choices([2, 1, 0], [90, 9, 1])[0]
        category = rng.choice(by_depth[depth])
        kind = (
            kinds.choice(["prevent", "mitigate", "detect", "process"]) if mixed_kinds else "prevent"
        )
        fixes.append(Remediation(title=f"Fix {n}", category=category, status=status, kind=kind,
                                 opened_at=opened, done_at=done))  # fmt: skip
    insert(Remediation, fixes)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE incidents_incident SET updated_at = now() - interval '1 day'")
        cursor.execute("UPDATE remediations_remediation SET updated_at = now() - interval '1 day'")
        cursor.execute("UPDATE incidents_failurecategory SET updated_at = now() - interval '1 day'")
        cursor.execute("VACUUM ANALYZE")
    print(f"built {incidents:,} incidents, {remediations:,} remediations, {len(every):,} "
          f"categories in {time.perf_counter() - built:.0f} s")  # fmt: skip


# The rule, written as plainly as possible and apart from the engine: an incident truly
# recurred in a failure mode when a done fix of a promising kind on that mode or above it was
# done before the incident started. The mode counted is the narrowest on its branch.
TRULY_RECURRED = """
WITH modes AS (
    SELECT incident_id, failurecategory_id AS category_id FROM incidents_incident_categories
    UNION
    SELECT incident_id, category_id FROM incidents_cause WHERE category_id IS NOT NULL
), first_fix AS (
    SELECT k.id AS category_id, min(r.done_at) AS done_at
    FROM incidents_failurecategory k
    JOIN incidents_failurecategory above
      ON k.path = above.path OR starts_with(k.path, above.path || ' > ')
    JOIN remediations_remediation r ON r.category_id = above.id
    WHERE r.status = 'done' AND r.kind = ANY(%(kinds)s)
    GROUP BY k.id
)
SELECT count(DISTINCT m.incident_id), count(*)
FROM modes m
JOIN incidents_incident i ON i.id = m.incident_id
JOIN first_fix f ON f.category_id = m.category_id AND f.done_at < i.started_at
JOIN incidents_failurecategory k ON k.id = m.category_id
WHERE NOT EXISTS (
    SELECT 1 FROM modes other JOIN incidents_failurecategory below ON below.id = other.category_id
    WHERE other.incident_id = m.incident_id AND starts_with(below.path, k.path || ' > ')
)
"""


def truly_recurred() -> tuple[int, int]:
    """(incidents, (incident, failure mode) pairs) that recurred after a promising fix."""
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(TRULY_RECURRED, {"kinds": list(settings.ONCE_RECURRENCE_KINDS)})
        incidents, pairs = cursor.fetchone()
    return incidents, pairs


def check() -> tuple[int, int]:
    """The flags that hold are exactly the true recurrences: as many, on the same incidents."""
    from remediations.models import RecurrenceFlag

    incidents, pairs = truly_recurred()
    holding = RecurrenceFlag.objects.exclude(state="cleared")
    assert holding.count() == pairs, (holding.count(), pairs)
    assert holding.values("incident_id").distinct().count() == incidents
    return incidents, pairs


def run(server: str) -> None:
    from incidents.actions import record_of, save_incident
    from incidents.models import FailureCategory, Incident
    from remediations.actions import remediation_record_of, save_remediation
    from remediations.models import RecurrenceFlag, RecurrenceLink, Remediation
    from remediations.tasks import reconcile_recurrences

    def timed(full: bool) -> tuple[float, dict[str, Any]]:
        started = time.perf_counter()
        result = reconcile_recurrences.run(full=full)
        return time.perf_counter() - started, result

    def line(what: str, seconds: float, result: dict[str, Any]) -> None:
        print(f"| {what} | {result['incidents']:,} | {seconds:.2f} s | {result['links_added']:,} "
              f"/ {result['links_removed']:,} | {result['flags_raised']:,} / "
              f"{result['flags_cleared']:,} |")  # fmt: skip

    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}, PostgreSQL at {server}")
    print("\n| run | incidents evaluated | time | links added / removed | flags raised / cleared |")
    print("|---|---|---|---|---|")
    line("full, from nothing", *timed(full=True))
    links, flags = RecurrenceLink.objects.count(), RecurrenceFlag.objects.count()
    flagged = RecurrenceFlag.objects.values("incident_id").distinct().count()
    incidents, pairs = check()
    line("full, nothing to change", *timed(full=True))
    line("incremental, nothing changed", *timed(full=False))

    rng = random.Random(7)
    leaves = list(FailureCategory.objects.filter(path__regex=r"^[^>]+>[^>]+>[^>]+$"))
    for incident in Incident.objects.filter(pk__in=rng.sample(range(1, 1000), 10)):
        record = record_of(incident)
        record["categories"] = [*record["categories"], rng.choice(leaves).path]
        save_incident(incident, record, by=None, expected_version=incident.version)
    line("incremental, 10 incidents edited", *timed(full=False))

    two_years_ago = datetime.datetime(2024, 11, 30, tzinfo=datetime.UTC)
    fix = (
        Remediation.objects.filter(status="open", category__in=leaves, opened_at__lt=two_years_ago)
        .select_related("category", "owner")
        .order_by("pk")
        .first()
    )
    assert fix is not None
    record = {**remediation_record_of(fix), "status": "done", "done_at": two_years_ago}
    save_remediation(fix, record, by=None, expected_version=fix.version)
    line("incremental, 1 leaf fix marked done", *timed(full=False))

    check()
    print(f"\nafter the full run: {links:,} links; {flags:,} flags on {flagged:,} incidents.")
    print(f"truly recurred after a promising fix (SQL): {incidents:,} incidents, in {pairs:,} "
          "(incident, narrowest failure mode) pairs.")  # fmt: skip
    print("checked after every run: one open flag per recurred (incident, mode), none other.")


if __name__ == "__main__":
    main()
