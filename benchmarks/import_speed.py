"""How many typical incidents per second `import_incidents` stores in PostgreSQL.

    .venv/bin/python benchmarks/import_speed.py [--incidents 5000]

Generates N synthetic incidents shaped like real reports (a 2 KB Markdown body, 1–3 failure
categories from a tree of 60, 1–3 services, 2 causes, 5 timeline entries, 1–2 remediations
with owners), writes them as JSON Lines, imports them into a fresh database, then imports the
same file again (every line unchanged: compared with the stored incident, nothing written)
and reports both rates.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from _database import fresh_database

WORDS = [
    "etcd",
    "leader",
    "election",
    "latency",
    "disk",
    "volume",
    "quorum",
    "envoy",
    "connection",
    "pool",
    "http",
    "upstream",
    "timeout",
    "dns",
    "resolver",
    "cache",
    "pod",
    "node",
    "eviction",
    "memory",
    "oom",
    "certificate",
    "expiry",
    "registry",
    "image",
    "pull",
    "config",
    "push",
    "rollout",
    "canary",
    "throttling",
    "iam",
    "credentials",
    "scheduler",
    "pending",
    "queue",
    "retry",
    "backoff",
    "database",
    "replica",
    "failover",
    "load",
    "balancer",
    "health",
    "check",
    "deploy",
]
OWNERS = ["alice", "bob", "carol", "dave", "erin"]


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def typical(rng: random.Random, n: int) -> dict[str, object]:
    areas = [f"Area {a}" for a in range(6)]
    modes = [f"{area} > Mode {m}" for area in areas for m in range(9)]
    start = (
        f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"
    )
    body = "\n\n".join(
        f"## {section}\n\n" + " ".join(sentence(rng, 14) for _ in range(4))
        for section in ["Summary", "Impact", "Timeline", "Root causes", "Resolution", "Lessons"]
    )
    return {
        "external_id": f"bench-{n}",
        "title": sentence(rng, 7)[:-1],
        "summary": sentence(rng, 30),
        "body": body,
        "severity": rng.choice(["SEV1", "SEV2", "SEV3", "SEV4"]),
        "status": "resolved",
        "started_at": start,
        "detected_at": None,
        "resolved_at": None,
        "categories": rng.sample(modes, rng.randint(1, 3)),
        "services": rng.sample([f"service-{s}" for s in range(40)], rng.randint(1, 3)),
        "causes": [
            {"kind": kind, "description": sentence(rng, 12), "category": rng.choice(modes)}
            for kind in ("trigger", "root_cause")
        ],
        "timeline": [{"at": start, "text": sentence(rng, 8)} for _ in range(5)],
        "remediations": [
            {
                "title": sentence(rng, 5)[:-1] + f" {n}-{r}",
                "kind": "prevent",
                "status": "open",
                "owner": rng.choice(OWNERS),
                "due_date": "2025-06-01",
                "category": rng.choice(modes),
            }
            for r in range(rng.randint(1, 2))
        ],  # fmt: skip
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=5000)
    args = parser.parse_args()

    with fresh_database() as server:
        run(args.incidents, server)


def run(incidents: int, server: str) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    for owner in OWNERS:
        get_user_model().objects.create(username=owner)

    rng = random.Random(20261127)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        for n in range(incidents):
            handle.write(json.dumps(typical(rng, n)) + "\n")
        path = handle.name
    size = Path(path).stat().st_size

    def timed_import() -> float:
        started = time.perf_counter()
        call_command("import_incidents", path, stdout=io.StringIO(), stderr=sys.stderr)
        return time.perf_counter() - started

    created = timed_import()
    updated = timed_import()
    os.unlink(path)

    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}, PostgreSQL at {server}")
    print(f"file: {incidents:,} incidents, {size / 1e6:.1f} MB of JSON Lines")
    print(f"new incidents:   {created:6.2f} s  {incidents / created:8,.0f} incidents/s")
    again = incidents / updated
    print(
        f"same file again: {updated:6.2f} s  {again:8,.0f} incidents/s (unchanged: compared only)"
    )


if __name__ == "__main__":
    main()
