"""How fast the service pages render at 100,000 incidents (issue 17).

    .venv/bin/python benchmarks/service_speed.py [--incidents 100000] [--remediations 100000]
        [--database once_bench_services]

Fills a fresh PostgreSQL database with COPY (this measures the pages, not the import):
incidents over five years in 1–2 of 200 failure modes, one in a hundred restricted, and
remediations in every status; then gives each incident one of 30 services — the busiest,
"etcd", a tenth of them — and renders `/services/` and `/services/<etcd>/` through Django's
whole stack, as a user who is not a superuser: p50/p95 and SQL queries per page.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from typing import Any

from _database import fresh_database


def fill(incidents: int, remediations: int) -> None:
    import datetime

    from django.db import connection
    from django.utils import timezone

    from common.bulk import insert_rows
    from incidents.actions import get_or_create_category
    from incidents.models import Incident
    from remediations.models import Remediation

    rng = random.Random(5)
    categories = [
        get_or_create_category(f"Area {a} > Mode {m}") for a in range(20) for m in range(10)
    ]
    now = timezone.now()

    def moment(weeks_ago: float) -> datetime.datetime:
        return now - datetime.timedelta(weeks=weeks_ago)

    rows: list[tuple[Any, ...]] = [
        (1, f"Incident {n}", "", "", rng.choice(["SEV1", "SEV2", "SEV3", "SEV4"]), "reviewed",
         moment(rng.random() * 260), "", "restricted" if n % 100 == 0 else "everyone", now, now)
        for n in range(incidents)
    ]  # fmt: skip
    insert_rows(Incident, ["version", "title", "summary", "body", "severity", "status",
                           "started_at", "source_url", "visibility", "created_at", "updated_at"],
                rows)  # fmt: skip
    ids = list(Incident.objects.order_by("pk").values_list("pk", "started_at"))
    insert_rows(Incident.categories.through, ["incident_id", "failurecategory_id"], [
        (pk, c.pk) for pk, _ in ids for c in rng.sample(categories, rng.choice([1, 1, 2]))])  # fmt: skip
    rows = []  # the same name, now remediations' rows
    for n in range(remediations):
        incident_id, start = rng.choice(ids)
        opened = min(start + datetime.timedelta(days=1), now)
        status = rng.choices(["done", "open", "in_progress", "wont_do"], [70, 15, 10, 5])[0]
        done = (
            min(opened + datetime.timedelta(days=rng.randint(1, 90)), now)
            if status == "done"
            else None
        )
        due = (opened + datetime.timedelta(days=rng.randint(7, 120))).date()
        rows.append((1, f"Remediation {n}", "", "prevent", status, due, opened, done, "",
                     rng.choice(categories).pk, incident_id, now, now, ""))  # fmt: skip
    insert_rows(Remediation, ["version", "title", "description", "kind", "status", "due_date",
                              "opened_at", "done_at", "tracker_url", "category_id",
                              "incident_id", "created_at", "updated_at",
                              "effectiveness_evidence"], rows)  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def link_services() -> int:
    from common.bulk import insert_rows
    from incidents.models import Incident, Service

    rng = random.Random(17)
    services = [Service.objects.create(name="etcd")] + [
        Service.objects.create(name=f"service-{n}") for n in range(29)
    ]
    ids = list(Incident.objects.values_list("pk", flat=True))
    rows = [
        (pk, services[0].pk if rng.random() < 0.1 else rng.choice(services[1:]).pk) for pk in ids
    ]
    insert_rows(Incident.services.through, ["incident_id", "service_id"], rows)
    return services[0].pk


def measure(etcd: int, samples: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.create(username="bench"))
    print("| page | n | p50 ms | p95 ms | max ms | SQL queries |")
    print("|---|---|---|---|---|---|")
    for url in ["/services/", f"/services/{etcd}/", "/services/?sort=never_tested"]:
        client.get(url, secure=True)  # warm up
        timings, queries = [], set()
        for _ in range(samples):
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                response = client.get(url, secure=True)
                timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, url
            queries.add(len(captured))
        if os.environ.get("ONCE_BENCH_PROFILE"):
            slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:6]
            for q in slowest:
                print(f"    {q['time']} s: {q['sql'][:300]}")
        p95 = statistics.quantiles(timings, n=20)[-1]
        print(
            f"| {url} | {len(timings)} | {statistics.median(timings):.1f} | {p95:.1f} "
            f"| {max(timings):.1f} | {', '.join(map(str, sorted(queries)))} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--remediations", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument(
        "--database", default="once_bench_services",
        help="the throw-away database's name (created and dropped): two runs at once need two",
    )  # fmt: skip
    args = parser.parse_args()
    print("# Service pages' speed")
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"\n{args.incidents:,} incidents, {args.remediations:,} remediations, 30 services\n")
    with fresh_database(args.database):
        fill(args.incidents, args.remediations)
        from django.db import connection

        etcd = link_services()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        measure(etcd, args.samples)


if __name__ == "__main__":
    main()
