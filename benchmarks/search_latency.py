"""How fast /api/search/ answers at 10,000 and 100,000 incidents (1,000,000 on request).

    .venv/bin/python benchmarks/search_latency.py [--incidents 10000 100000] [--per-kind 40]

For each size: a fresh PostgreSQL database (on the server of DATABASE_URL), N synthetic
incidents imported with `import_incidents` (words drawn from a Zipf-like vocabulary of
30,000 words, so there are rare, common and very common words, as in real reports), then
/api/search/ called through Django's full request stack (authentication, filters,
serialization, snippets) for six kinds of query. Reports p50/p95/max per kind.
"""

from __future__ import annotations

import argparse
import gc
import io
import itertools
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import Counter

from _database import fresh_database

VOCABULARY = 30_000
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "su", "dar", "ken", "mol", "tis"]


def vocabulary(rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words, key=lambda _: rng.random())


class Writer:
    """Synthetic incidents whose words follow a Zipf distribution (rank r has weight 1/r)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary(self.rng)
        self.cumulative = list(itertools.accumulate(1 / rank for rank in range(1, VOCABULARY + 1)))
        self.document_frequency: Counter[str] = Counter()
        self.titles: list[str] = []

    def text(self, n: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cumulative, k=n)

    def incident(self, n: int) -> dict[str, object]:
        rng = self.rng
        title, summary = self.text(7), self.text(30)
        body = [self.text(60) for _ in range(6)]
        causes = [self.text(12), self.text(12)]
        self.document_frequency.update(set(itertools.chain(title, summary, *body, *causes)))
        if n % 50 == 0:
            self.titles.append(" ".join(title))
        start = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"
        return {
            "external_id": f"latency-{n}",
            "title": " ".join(title).capitalize(),
            "summary": " ".join(summary) + ".",
            "body": "\n\n".join(
                f"## Section {i}\n\n" + " ".join(p) + "." for i, p in enumerate(body)
            ),
            "severity": rng.choice(["SEV1", "SEV2", "SEV3", "SEV4"]),
            "started_at": start,
            "categories": [f"Area {rng.randint(0, 9)} > Mode {rng.randint(0, 19)}"],
            "services": [f"service-{rng.randint(0, 99)}"],
            "causes": [{"kind": "trigger", "description": " ".join(c)} for c in causes],
            "timeline": [{"at": start, "text": " ".join(self.text(8))} for _ in range(3)],
        }


def queries(writer: Writer, incidents: int, per_kind: int) -> dict[str, list[str]]:
    rng = random.Random(7)
    by_share = sorted(writer.document_frequency.items(), key=lambda item: item[1])

    def band(low: float, high: float) -> list[str]:
        chosen = [w for w, df in by_share if low <= df / incidents < high]
        return rng.sample(chosen, min(per_kind, len(chosen)))

    rare, common, very_common = band(0.0001, 0.002), band(0.01, 0.05), band(0.3, 1.01)
    mixed = [
        w
        for w, _ in by_share
        if len(w) >= 7 and 0.001 < writer.document_frequency[w] / incidents < 0.02
    ]

    def typo(word: str) -> str:
        i = rng.randrange(1, len(word) - 1)
        return word[:i] + word[i + 1 :]

    return {
        "rare word": rare,
        "common word": common,
        "very common word": very_common,
        "multi-word (4 words)": [
            " ".join(rng.sample(rare + common + very_common, 4)) for _ in range(per_kind)
        ],
        "typo": [typo(w) for w in rng.sample(mixed, min(per_kind, len(mixed)))],
        "phrase": [
            '"' + " ".join(t.split()[1:3]) + '"' for t in rng.sample(writer.titles, per_kind)
        ],
    }


def measure(size: int, per_kind: int) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    writer = Writer(seed=size)
    started = time.perf_counter()
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        for n in range(size):
            handle.write(json.dumps(writer.incident(n)) + "\n")
    print(
        f"  generated {size:,} incidents in {time.perf_counter() - started:.0f} s", file=sys.stderr
    )
    started = time.perf_counter()
    call_command("import_incidents", handle.name, stdout=io.StringIO())
    os.unlink(handle.name)
    print(f"  imported and indexed in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does within minutes of an import
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('search_document'))")
        table_size = cursor.fetchone()[0]

    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.create(username="bench"))
    client.get("/api/search/", {"q": "warm"}, secure=True)  # load what a worker loads, then
    gc.collect()
    gc.freeze()  # freeze it, as config/gunicorn.py does in every web worker
    print(f"\n### {size:,} incidents (search_document with its index: {table_size})\n")
    print("| query kind | n | p50 ms | p95 ms | max ms | median count |")
    print("|---|---|---|---|---|---|")
    everything: list[float] = []
    for kind, texts in queries(writer, size, per_kind).items():
        client.get("/api/search/", {"q": texts[0]}, secure=True)  # warm the caches once per kind
        timings, counts = [], []
        for text in texts:
            began = time.perf_counter()
            response = client.get("/api/search/", {"q": text}, secure=True)
            timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (text, response.content[:300])
            counts.append(response.json()["count"])
        everything += timings
        p95 = statistics.quantiles(timings, n=20)[-1]
        print(
            f"| {kind} | {len(timings)} | {statistics.median(timings):.1f} | {p95:.1f} | {max(timings):.1f} | {statistics.median(counts):,.0f} |"
        )
    p95 = statistics.quantiles(everything, n=20)[-1]
    print(
        f"| **all** | {len(everything)} | {statistics.median(everything):.1f} | **{p95:.1f}** | {max(everything):.1f} | |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--per-kind", type=int, default=40)
    args = parser.parse_args()
    print("# /api/search/ latency")
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    )
    for size in args.incidents:
        print(f"Size {size:,}…", file=sys.stderr)
        with fresh_database("once_bench_search"):
            measure(size, args.per_kind)
        # Django is set up once per process: the next size re-creates the database under it.


if __name__ == "__main__":
    main()
