"""How fast /api/search/ answers at 10,000 and 100,000 incidents (1,000,000 on request).

    .venv/bin/python benchmarks/search_latency.py [--incidents 10000 100000] [--per-kind 40]
        [--database NAME] [--fill import|bulk] [--no-anchor]

For each size: a fresh PostgreSQL database (on the server of DATABASE_URL), N synthetic
incidents imported with `import_incidents` (words drawn from a Zipf-like vocabulary of
30,000 words, so there are rare, common and very common words, as in real reports), then
/api/search/ called through Django's full request stack (authentication, filters,
serialization, snippets) for eight kinds of query. Reports p50/p95/max per kind.

The anchor: the same incidents (same generator, same seed) are indexed in tantivy, an embedded
engine a team might pick instead (title, labels, summary and body fields, English stemming,
positions for phrases), and the same query texts run there: top 10 with the count, and the
10 hits' stored titles read. Its p95 per kind and Once's / tantivy's ratio are printed.
tantivy fixes no typos: its "typo" queries look up a word that is not there.

--database NAME keeps the filled database (one size only) and reuses it on the next run, for
1,000,000 incidents. --fill bulk writes the same incidents faster (BulkFill below: the same
rows by COPY, the same document-building code, the full-text index built once at the end);
the fill and the index build are timed apart.
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
from datetime import datetime
from typing import Any

from _database import fresh_database, kept_database

VOCABULARY = 30_000
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "su", "dar", "ken", "mol", "tis"]


def vocabulary(rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    # Sorted first: a set's order changes with each process's string hashing, and the fill
    # workers and a later measuring run must draw the same incidents from the same seed.
    return sorted(sorted(words), key=lambda _: rng.random())


class Writer:
    """Synthetic incidents whose words follow a Zipf distribution (rank r has weight 1/r)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary(self.rng)
        self.cumulative = list(itertools.accumulate(1 / rank for rank in range(1, VOCABULARY + 1)))
        self.document_frequency: Counter[str] = Counter()
        self.titles: list[str] = []
        self.summaries: list[list[str]] = []  # one in 50, for phrases and questions

    def text(self, n: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cumulative, k=n)

    def incident(self, n: int, *, stored: bool = True) -> dict[str, object]:
        """Incident number `n`; `stored=False` leaves it out of the statistics."""
        rng = self.rng
        title, summary = self.text(7), self.text(30)
        body = [self.text(60) for _ in range(6)]
        causes = [self.text(12), self.text(12)]
        if stored:
            self.document_frequency.update(set(itertools.chain(title, summary, *body, *causes)))
        if stored and n % 50 == 0:
            self.titles.append(" ".join(title))
            self.summaries.append(summary)
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


QUESTIONS = [
    "why did {0} {1} fail after {2}",
    "what caused the {0} {1} outage with {2} {3}",
    "how do we stop {0} when {1} {2} is down",
    "has {0} {1} ever broken {2} {3} {4}",
    "which incidents had {0} and {1} during a {2} {3}",
]


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

    def run(words: list[str], length: int) -> str:
        """`length` adjacent words of a real summary: Zipf makes most of them common."""
        i = rng.randrange(0, len(words) - length)
        return " ".join(words[i : i + length])

    def phrase_heavy() -> str:
        summary = rng.choice(writer.summaries)
        shape = rng.randrange(3)
        if shape == 0:
            return f'"{run(summary, 3)}"'
        if shape == 1:
            return f'"{run(summary, 2)}" {rng.choice(common)}'
        return f'"{run(summary, 2)}" "{run(rng.choice(writer.summaries), 2)}"'

    def question() -> str:
        template = rng.choice(QUESTIONS)
        words = run(rng.choice(writer.summaries), 5).split()
        return template.format(*words)

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
        "phrase-heavy mix": [phrase_heavy() for _ in range(per_kind)],
        "question-heavy mix": [question() for _ in range(per_kind)],
    }


class Anchor:
    """The same incidents in tantivy: the engine a team might embed instead of PostgreSQL."""

    FIELDS = ["title", "labels", "summary", "body"]
    BOOSTS = {"title": 4.0, "labels": 2.0, "summary": 1.5, "body": 1.0}  # Once's A/B/C/D order

    def __init__(self, directory: str) -> None:
        import tantivy

        builder = tantivy.SchemaBuilder()
        for name in self.FIELDS:
            builder.add_text_field(name, stored=name == "title", tokenizer_name="en_stem")
        self.index = tantivy.Index(builder.build(), path=directory)
        self.writer = self.index.writer(heap_size=256_000_000, num_threads=1)
        self.tantivy = tantivy

    def add(self, incident: dict[str, Any]) -> None:
        # The fields Once's search document has (search/index.py build_documents).
        causes = [c["description"] for c in incident["causes"]]
        self.writer.add_document(
            self.tantivy.Document(
                title=incident["title"],
                labels=" ".join([*incident["categories"], *incident["services"]]),
                summary="\n".join([incident["summary"], *causes]),
                body="\n".join([incident["body"], *(t["text"] for t in incident["timeline"])]),
            )
        )

    def finish(self) -> None:
        self.writer.commit()
        self.writer.wait_merging_threads()
        self.index.reload()

    def search(self, text: str) -> int:
        searcher = self.index.searcher()
        query = self.index.parse_query(text, self.FIELDS, field_boosts=self.BOOSTS)
        result = searcher.search(query, 10, count=True)
        for _, address in result.hits:
            searcher.doc(address)["title"]
        return int(getattr(result, "count", 0) or 0)  # its stubs lack `count`


def percentile95(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20)[-1]


class BulkFill:
    """The incidents' rows by COPY, then their search documents by search.index.refresh.

    The first IMPORTED incidents go through `import_incidents`, which creates the categories and
    services the way an import does; the rest are the same rows written by COPY (no history
    records, which search never reads), and their documents are built by the code every import
    and save uses (search.index.refresh). The full-text index is dropped first and built once
    at the end, as a restore would.
    """

    IMPORTED = 2_000
    CHUNK = 5_000

    def __init__(self, *, drop: bool = True) -> None:
        from django.db import connection

        from incidents.models import FailureCategory, Service

        self.pending: list[dict[str, Any]] = []
        self.dropped: list[str] = []
        self.categories: dict[str, int] = {}
        self.services: dict[str, int] = {}
        self.models = (FailureCategory, Service)
        if not drop:
            self.labels()
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename = 'search_document' AND indexdef LIKE '%%(vector%%'"
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"DROP INDEX {name}")
                self.dropped.append(definition)

    def add(self, n: int, incident: dict[str, Any]) -> None:
        self.pending.append(incident)
        if n + 1 == self.IMPORTED:
            import_lines([json.dumps(i) + "\n" for i in self.pending])
            self.pending.clear()
            self.labels()
        elif n >= self.IMPORTED and len(self.pending) == self.CHUNK:
            self.copy()

    def labels(self) -> None:
        category, service = self.models
        self.categories = {c.path: c.pk for c in category.objects.all()}
        self.services = dict(service.objects.values_list("name", "pk"))

    def copy(self) -> None:
        from django.db import transaction

        from common.bulk import insert, insert_rows, relax_commit_durability
        from incidents.models import Cause, Incident, TimelineEntry
        from search import index

        if not self.pending:
            return
        if not self.categories:  # fewer incidents than IMPORTED: they were all imported
            import_lines([json.dumps(i) + "\n" for i in self.pending])
            self.pending.clear()
            return
        with transaction.atomic():
            relax_commit_durability()
            incidents = [
                Incident(
                    external_id=i["external_id"],
                    title=i["title"],
                    summary=i["summary"],
                    body=i["body"],
                    severity=i["severity"],
                    started_at=datetime.fromisoformat(i["started_at"]),
                )
                for i in self.pending
            ]
            insert(Incident, incidents)
            pairs = list(zip(incidents, self.pending, strict=True))
            insert_rows(
                Cause,
                ["incident_id", "kind", "description"],
                [(o.pk, c["kind"], c["description"]) for o, i in pairs for c in i["causes"]],
            )
            insert_rows(
                TimelineEntry,
                ["incident_id", "at", "text"],
                [
                    (o.pk, datetime.fromisoformat(t["at"]), t["text"])
                    for o, i in pairs
                    for t in i["timeline"]
                ],
            )
            insert_rows(
                Incident.categories.through,
                ["incident_id", "failurecategory_id"],
                [(o.pk, self.categories[c]) for o, i in pairs for c in i["categories"]],
            )
            insert_rows(
                Incident.services.through,
                ["incident_id", "service_id"],
                [(o.pk, self.services[s]) for o, i in pairs for s in i["services"]],
            )
        index.refresh(o.pk for o in incidents)
        self.pending.clear()

    def finish(self) -> float:
        """Build the dropped index; returns the seconds it took."""
        from django.db import connection

        self.copy()
        began = time.perf_counter()
        with connection.cursor() as cursor:
            for definition in self.dropped:
                cursor.execute(definition)
        return time.perf_counter() - began


def import_lines(lines: list[str]) -> None:
    from django.core.management import call_command

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        handle.writelines(lines)
    call_command("import_incidents", handle.name, stdout=io.StringIO())
    os.unlink(handle.name)


def generate(
    size: int,
    anchor: Anchor | None,
    fill: str | None,
    seed: int = 0,
    stored: set[str] | None = None,
) -> Writer:
    """Generate the incidents once: into tantivy, and into the database when it is new.

    `seed` (default: `size`) names the generator: the first `size` incidents of a bigger
    fill's generator, for measuring a fill that stopped early; `stored` (external ids), the
    incidents it holds: the others are generated but neither indexed nor counted.
    """
    from django.db import connection

    writer = Writer(seed=seed or size)
    started = time.perf_counter()
    bulk = BulkFill() if fill == "bulk" else None
    lines: list[str] = []
    filling = 0.0
    for n in range(size):
        keep = stored is None or f"latency-{n}" in stored
        incident = writer.incident(n, stored=keep)
        if anchor is not None and keep:
            anchor.add(incident)
        began = time.perf_counter()
        if bulk is not None:
            bulk.add(n, incident)
        elif fill:
            lines.append(json.dumps(incident) + "\n")
            if len(lines) == 50_000:
                import_lines(lines)
                lines.clear()
        filling += time.perf_counter() - began
        if fill and (n + 1) % 50_000 == 0:
            print(f"  {n + 1:,} stored ({filling:.0f} s)", file=sys.stderr, flush=True)
    began = time.perf_counter()
    if lines:
        import_lines(lines)
    index_seconds = bulk.finish() if bulk is not None else 0.0
    filling += time.perf_counter() - began - index_seconds
    if anchor is not None:
        anchor.finish()
    total = time.perf_counter() - started
    print(
        f"  generated (and indexed in tantivy) in {total - filling - index_seconds:.0f} s",
        file=sys.stderr,
    )
    if fill:
        print(f"  stored with search documents ({fill}) in {filling:.0f} s", file=sys.stderr)
        if bulk is not None:
            print(f"  full-text index built in {index_seconds:.0f} s", file=sys.stderr)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # what autovacuum does within minutes of an import
    return writer


def fill_worker(size: int, worker: int, workers: int) -> None:
    """Store every `workers`-th chunk of BulkFill's COPY part, skipping chunks already stored.

    Each worker generates all incidents (the generator is sequential) and keeps its own chunks:
    several processes share the document building, which is most of a fill's time.
    """
    from incidents.models import Incident

    bulk = BulkFill(drop=False)
    writer = Writer(seed=size)
    for n in range(size):
        incident = writer.incident(n)
        if n < BulkFill.IMPORTED or ((n - BulkFill.IMPORTED) // BulkFill.CHUNK) % workers != worker:
            continue
        bulk.pending.append(incident)
        if len(bulk.pending) == BulkFill.CHUNK or n == size - 1:
            first = bulk.pending[0]["external_id"]
            if Incident.objects.filter(external_id=first).exists():
                bulk.pending.clear()
            else:
                bulk.copy()
                print(f"  worker {worker}: {n + 1:,}", file=sys.stderr, flush=True)


def parallel_fill(size: int, database: str, workers: int) -> None:
    """Finish a bulk fill with `workers` processes, then build the index and analyze."""
    import subprocess

    started = time.perf_counter()
    command = [sys.executable, __file__, "--incidents", str(size), "--database", database]
    running = [
        subprocess.Popen([*command, "--fill-worker", f"{k}/{workers}"]) for k in range(workers)
    ]
    assert all(p.wait() == 0 for p in running)
    print(f"  stored in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    finish_fill()


def finish_fill() -> None:
    """Documents for incidents stored without them, the full-text index if missing, ANALYZE."""
    from django.db import connection

    from incidents.models import Incident
    from search import index, rum
    from search.models import SearchDocument

    # A chunk whose rows were stored but whose documents were not (an interrupted worker).
    missing = Incident.objects.exclude(
        pk__in=SearchDocument.objects.values("incident_id")
    ).values_list("pk", flat=True)
    index.refresh(list(missing))
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_indexes WHERE tablename = 'search_document' "
            "AND indexdef LIKE '%%(vector%%'"
        )
        if cursor.fetchone() is None and not rum.create_rum_index(connection):
            rum.drop_rum_index(connection)  # builds the GIN index
    print(f"  full-text index built in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def measure(
    size: int, per_kind: int, *, fill: str | None, with_anchor: bool, compare: bool = False
) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from incidents.models import Incident
    from search import rum

    seed, stored = size, None
    if fill is None:  # a kept database: measure what it holds (a fill may have stopped early)
        stored = {str(e) for e in Incident.objects.values_list("external_id", flat=True)}
        size = 1 + max(int(e.removeprefix("latency-")) for e in stored)
    with tempfile.TemporaryDirectory(prefix="once_tantivy_") as directory:
        anchor = Anchor(directory) if with_anchor else None
        writer = generate(size, anchor, fill, seed=seed, stored=stored)
        if stored is not None:
            size = len(stored)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('search_document'))")
            table_size = cursor.fetchone()[0]

        client = Client(HTTP_HOST="localhost")
        user, _ = get_user_model().objects.get_or_create(username="bench")
        client.force_login(user)
        client.get("/api/search/", {"q": "warm"}, secure=True)  # load what a worker loads, then
        gc.collect()
        gc.freeze()  # freeze it, as config/gunicorn.py does in every web worker
        paths = [True, False] if rum.in_use() and compare else [settings.ONCE_SEARCH_RUM]
        for path in paths:
            settings.ONCE_SEARCH_RUM = path
            rum.forget()
            index = "RUM path" if rum.in_use() else "plain path (ONCE_SEARCH_RUM=off or no RUM)"
            print(
                f"\n### {size:,} incidents, {index} (search_document with its indexes: {table_size})\n"
            )
            table(client, queries(writer, size, per_kind), anchor)


def table(client: Any, kinds: dict[str, list[str]], anchor: Anchor | None) -> None:
    print("| query kind | n | p50 ms | p95 ms | max ms | median count | tantivy p95 ms | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    everything: list[float] = []
    anchored: list[float] = []
    for kind, texts in kinds.items():
        client.get("/api/search/", {"q": texts[0]}, secure=True)  # warm caches once per kind
        timings, counts, theirs = [], [], []
        for text in texts:
            began = time.perf_counter()
            response = client.get("/api/search/", {"q": text}, secure=True)
            timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (text, response.content[:300])
            counts.append(response.json()["count"])
        if anchor is not None:
            anchor.search(texts[0])
            for text in texts:
                began = time.perf_counter()
                anchor.search(text)
                theirs.append((time.perf_counter() - began) * 1000)
        everything += timings
        anchored += theirs
        print(row(kind, timings, counts, theirs), flush=True)
    print(row("**all**", everything, [], anchored), flush=True)


def row(kind: str, timings: list[float], counts: list[int], theirs: list[float]) -> str:
    p95 = percentile95(timings)
    count = f"{statistics.median(counts):,.0f}" if counts else ""
    anchor = ratio = ""
    if theirs:
        anchor = f"{percentile95(theirs):.1f}"
        ratio = f"{p95 / percentile95(theirs):.1f}"
    return (
        f"| {kind} | {len(timings)} | {statistics.median(timings):.1f} | {p95:.1f} "
        f"| {max(timings):.1f} | {count} | {anchor} | {ratio} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--per-kind", type=int, default=40)
    parser.add_argument("--database", help="keep this database filled, and reuse it (one size)")
    parser.add_argument("--fill", choices=["import", "bulk"], default="import")
    parser.add_argument("--no-anchor", action="store_true", help="skip tantivy")
    parser.add_argument(
        "--compare", action="store_true", help="with RUM, measure again ignoring it (GIN's path)"
    )
    parser.add_argument("--fill-only", action="store_true", help="fill --database, measure nothing")
    parser.add_argument("--workers", type=int, default=0, help="finish a bulk fill in N processes")
    parser.add_argument("--fill-worker", help=argparse.SUPPRESS)  # "K/N", from --workers
    parser.add_argument("--finish", action="store_true", help="finish a stopped fill (index)")
    args = parser.parse_args()
    if args.database and len(args.incidents) != 1:
        parser.error("--database takes one size")
    print("# /api/search/ latency")
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    )
    for size in args.incidents:
        print(f"Size {size:,}…", file=sys.stderr)
        if args.database:
            with kept_database(args.database) as filled:
                fill = None if filled else args.fill
                if args.fill_worker:
                    worker, workers = map(int, args.fill_worker.split("/"))
                    fill_worker(size, worker, workers)
                    continue
                if args.finish:
                    finish_fill()
                    continue
                if args.workers:
                    parallel_fill(size, args.database, args.workers)
                    continue
                if args.fill_only:
                    generate(size, None, fill)
                    continue
                measure(
                    size,
                    args.per_kind,
                    fill=fill,
                    with_anchor=not args.no_anchor,
                    compare=args.compare,
                )
        else:
            with fresh_database(os.environ.get("ONCE_BENCH_DATABASE", "once_bench_search")):
                measure(
                    size,
                    args.per_kind,
                    fill=args.fill,
                    with_anchor=not args.no_anchor,
                    compare=args.compare,
                )
        # Django is set up once per process: the next size re-creates the database under it.


if __name__ == "__main__":
    main()
