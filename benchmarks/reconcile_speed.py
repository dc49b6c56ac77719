"""How long `reconcile_recurrences` takes over a large knowledge base.

    .venv/bin/python benchmarks/reconcile_speed.py [--incidents 100000] [--remediations 5000]

Builds N incidents over a three-level tree of 1,110 failure categories (10 × 10 × 10 leaves
and their parents), each incident in one or two leaf categories plus a cause in a third,
spread over five years; and M remediations, 90% on leaf modes, 9% on their parents and 1%
on whole areas: half done (a few weeks after opening), a third open or in progress, the rest
won't do. Then times the
reconciliation twice: from nothing (every link and flag to create) and again (nothing to do).
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import platform
import random
import time

from _database import fresh_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--remediations", type=int, default=5_000)
    args = parser.parse_args()
    with fresh_database() as server:
        run(args.incidents, args.remediations, server)


def run(incidents: int, remediations: int, server: str) -> None:
    from django.core.management import call_command

    from common.bulk import insert, insert_rows
    from incidents.actions import get_or_create_category
    from incidents.models import Cause, Incident
    from remediations.models import RecurrenceFlag, RecurrenceLink, Remediation

    rng = random.Random(20261127)
    leaves = [
        get_or_create_category(f"Area {a} > Part {b} > Mode {c}")
        for a in range(10) for b in range(10) for c in range(10)
    ]  # fmt: skip
    from incidents.models import FailureCategory

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
        fixes.append(Remediation(title=f"Fix {n}", category=category, status=status,
                                 opened_at=opened, done_at=done))  # fmt: skip
    insert(Remediation, fixes)
    print(f"built {incidents:,} incidents, {remediations:,} remediations, {len(every):,} "
          f"categories in {time.perf_counter() - built:.0f} s")  # fmt: skip

    def timed() -> float:
        started = time.perf_counter()
        call_command("reconcile_recurrences", stdout=io.StringIO())
        return time.perf_counter() - started

    first = timed()
    links, flags = RecurrenceLink.objects.count(), RecurrenceFlag.objects.count()
    second = timed()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}, PostgreSQL at {server}")
    print(f"reconciliation from nothing:  {first:6.1f} s  ({links:,} links, {flags:,} flags made)")
    print(f"reconciliation again:         {second:6.1f} s  (nothing to change)")


if __name__ == "__main__":
    main()
