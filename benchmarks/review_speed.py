"""How fast the weekly review page renders at 100,000 incidents and 300,000 remediations.

    .venv/bin/python benchmarks/review_speed.py [--incidents 100000] [--remediations 300000]

Fills a fresh PostgreSQL database (on the server of DATABASE_URL) with five years of a large
team's knowledge base, written straight with COPY (this measures the page, not the import):
incidents spread over 260 weeks (most reviewed, some resolved and waiting, a few still
investigating), 1–2 of 200 failure categories each, remediations in every status with
owners and due dates, and open recurrence flags (one per incident and failure mode, naming
their fixes). Then renders /review/<week>/ through
Django's whole stack, for this week and for random earlier weeks, and reports p50/p95 and
the number of SQL queries per page.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import random
import statistics
import sys
import time
from collections import defaultdict
from typing import Any

from _database import fresh_database


def fill(incidents: int, remediations: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from common.bulk import insert, insert_rows
    from incidents.actions import get_or_create_category
    from incidents.models import Incident
    from remediations.models import FlagFix, RecurrenceFlag, Remediation

    rng = random.Random(5)
    users = [
        get_user_model().objects.create(username=f"owner{n}", email=f"owner{n}@example.com")
        for n in range(50)
    ]
    categories = [
        get_or_create_category(f"Area {a} > Mode {m}") for a in range(20) for m in range(10)
    ]
    now = timezone.now()
    weeks = 260

    def moment(weeks_ago: float) -> datetime.datetime:
        return now - datetime.timedelta(weeks=weeks_ago)

    started = time.perf_counter()
    rows: list[tuple[Any, ...]] = []
    for n in range(incidents):
        ago = rng.random() * weeks
        status = (
            "investigating"
            if ago < 1 and rng.random() < 0.5
            else ("resolved" if rng.random() < (0.5 if ago < 4 else 0.01) else "reviewed")
        )
        rows.append(
            (
                1,
                f"Incident {n}",
                "",
                "",
                rng.choice(["SEV1", "SEV2", "SEV3", "SEV4"]),
                status,
                moment(ago),
                None,
                None,
                None,
                None,
                "",
                now,
                now,
            )
        )
    insert_rows(Incident, ["version", "title", "summary", "body", "severity", "status", "started_at",
                           "detected_at", "resolved_at", "author_id", "external_id", "source_url",
                           "created_at", "updated_at"], rows)  # fmt: skip
    ids = list(Incident.objects.order_by("pk").values_list("pk", "started_at"))
    through = Incident.categories.through
    insert_rows(through, ["incident_id", "failurecategory_id"], [
        (pk, c.pk) for pk, _ in ids for c in rng.sample(categories, rng.choice([1, 1, 2]))])  # fmt: skip

    rows = []
    for n in range(remediations):
        incident_id, incident_start = rng.choice(ids)
        opened = min(incident_start + datetime.timedelta(days=1), now)
        status = rng.choices(["done", "open", "in_progress", "wont_do"], [70, 15, 10, 5])[0]
        done = opened + datetime.timedelta(days=rng.randint(1, 90)) if status == "done" else None
        if done and done > now:
            done = now
        due = (opened + datetime.timedelta(days=rng.randint(7, 120))).date()
        rows.append(
            (
                1,
                f"Remediation {n}",
                "",
                rng.choice(["prevent", "mitigate", "detect", "process"]),
                status,
                rng.choice(users).pk,
                due,
                opened,
                done,
                "",
                rng.choice(categories).pk,
                incident_id,
                None,
                now,
                now,
                "",  # no effectiveness yet: the reconciliation derives it
            )
        )
    insert_rows(Remediation, ["version", "title", "description", "kind", "status", "owner_id",
                              "due_date", "opened_at", "done_at", "tracker_url", "category_id",
                              "incident_id", "created_by_id", "created_at", "updated_at",
                              "effectiveness_evidence"], rows)  # fmt: skip
    # Recurrences of recent incidents after 2,000 done fixes of the kinds that promise: one
    # open flag per (incident, failure mode), naming its fixes.
    done_ones = list(
        Remediation.objects.filter(status="done", kind__in=["prevent", "mitigate"]).values_list(
            "pk", "category_id"
        )[:2000]
    )
    recent = [pk for pk, start in ids if start > moment(8)]
    named: dict[tuple[int, int], list[int]] = defaultdict(list)
    for r, c in done_ones:
        named[(rng.choice(recent), c)].append(r)
    flags = [
        RecurrenceFlag(incident_id=i, category_id=c, state="open", raised_at=now) for i, c in named
    ]
    insert(RecurrenceFlag, flags)
    insert_rows(FlagFix, ["flag_id", "remediation_id"], [
        (flag.pk, r) for flag in flags for r in named[(flag.incident_id, flag.category_id)]])  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"  filled in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def measure(samples: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from reviews.weeks import Week

    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.create(username="bench"))
    client.get("/review/", secure=True)  # load everything a worker loads, then freeze it
    gc.collect()
    gc.freeze()  # as config/gunicorn.py does in every web worker
    rng = random.Random(9)
    current = Week.current()
    plans = {
        "this week": [current] * samples,
        "an earlier week": [current.back(rng.randint(1, 250)) for _ in range(samples)],
    }
    print("| agenda | n | p50 ms | p95 ms | max ms | SQL queries |")
    print("|---|---|---|---|---|---|")
    for name, weeks in plans.items():
        client.get(f"/review/{weeks[0].label}/", secure=True)  # warm up
        timings, queries = [], set()
        for week in weeks:
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                response = client.get(f"/review/{week.label}/", secure=True)
                timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200
            queries.add(len(captured))
        p95 = statistics.quantiles(timings, n=20)[-1]
        print(
            f"| {name} | {len(timings)} | {statistics.median(timings):.1f} | {p95:.1f} | {max(timings):.1f} | {', '.join(map(str, sorted(queries)))} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--remediations", type=int, default=300_000)
    parser.add_argument("--samples", type=int, default=60)
    args = parser.parse_args()
    print("# /review/ speed")
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    )
    print(
        f"\n{args.incidents:,} incidents, {args.remediations:,} remediations, open recurrence "
        "flags naming 2,000 done fixes\n"
    )
    with fresh_database("once_bench_review"):
        fill(args.incidents, args.remediations)
        measure(args.samples)


if __name__ == "__main__":
    main()
