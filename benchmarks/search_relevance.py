"""How well search finds the right past incident: nDCG@10, MRR@10 and Recall@10.

    .venv/bin/python benchmarks/search_relevance.py [--corpus PATH] [--queries PATH]
        [--backend postgresql|sqlite] [--per-query]

Imports the public incident corpus (benchmarks/corpus.py) into a fresh database per backend
(PostgreSQL on the server of DATABASE_URL, and a temporary SQLite file) and runs the judged
queries through Once's search. The set that counts is ../shared/search/dev-queries.json,
written and judged by someone who never saw Once's ranking (its README describes the format);
like the corpus it is read from beside the repository, never copied into it. Our own sets in
benchmarks/search_queries/ are extra checks only.

Every set is compared with the reference baseline computed in the same run, the way
../shared/search/bm25_baseline.py computes it: SQLite FTS5 bm25 with the porter tokenizer
over title, summary, details and categories, every [A-Za-z0-9]+ word of the query OR-ed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, cast

from corpus import CORPUS, SHARED, corpus_records, interchange_lines

HERE = Path(__file__).resolve().parent
SHARED_QUERIES = SHARED / "search" / "dev-queries.json"
OWN_QUERY_SETS = {
    "own dev (extra check)": HERE / "search_queries" / "dev.json",
    "own held-out (extra check)": HERE / "search_queries" / "heldout.json",
}
KINDS = ["keyword", "multi", "typo", "natural"]
K = 10


# --- Metrics -----------------------------------------------------------------------------


def ndcg(ranked: list[str], relevant: dict[str, int]) -> float:
    gain = sum(
        (2 ** relevant.get(doc, 0) - 1) / math.log2(i + 2) for i, doc in enumerate(ranked[:K])
    )
    ideal = sorted(relevant.values(), reverse=True)[:K]
    best = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return gain / best if best else 0.0


def mrr(ranked: list[str], relevant: dict[str, int]) -> float:
    for i, doc in enumerate(ranked[:K]):
        if relevant.get(doc, 0) > 0:
            return 1 / (i + 1)
    return 0.0


def recall(ranked: list[str], relevant: dict[str, int]) -> float:
    wanted = {doc for doc, grade in relevant.items() if grade > 0}
    return len(wanted & set(ranked[:K])) / len(wanted) if wanted else 0.0


# --- The baseline: plain BM25, any word (../shared/search/bm25_baseline.py) -----------------

BASELINE_WORD = re.compile(r"[A-Za-z0-9]+")


def bm25_baseline(records: list[dict[str, Any]], queries: list[str]) -> dict[str, list[str]]:
    """Each query's top 10 from SQLite FTS5 bm25 (porter), its words OR-ed, default weights."""
    import sqlite3

    con = sqlite3.connect(":memory:")
    con.execute(
        "CREATE VIRTUAL TABLE d USING fts5(id UNINDEXED, title, summary, details, categories,"
        " tokenize='porter')"
    )
    con.executemany(
        "INSERT INTO d VALUES (?, ?, ?, ?, ?)",
        [
            (r["id"], r["title"], r["summary"], r.get("details") or "", " ".join(r["categories"]))
            for r in records
        ],
    )
    results = {}
    for q in queries:
        found = BASELINE_WORD.findall(q)
        expression = " OR ".join(f'"{w}"' for w in found)
        rows = (
            con.execute(
                "SELECT id FROM d WHERE d MATCH ? ORDER BY bm25(d), id LIMIT ?", (expression, K)
            ).fetchall()
            if found
            else []
        )
        results[q] = [r[0] for r in rows]
    return results


# --- Once's search, in a child process per backend (Django is configured once per process) --


def run_backend(backend: str, corpus: Path, queries: list[str]) -> dict[str, list[str]]:
    """Import the corpus into a fresh database of that kind and return each query's top 10."""
    import io
    from contextlib import ExitStack

    with ExitStack() as stack:
        if backend == "postgresql":
            from _database import fresh_database

            stack.enter_context(
                fresh_database(os.environ.get("ONCE_BENCH_DATABASE", "once_bench_relevance"))
            )
        else:
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            os.environ["DATABASE_URL"] = f"sqlite:///{folder}/relevance.sqlite3"
            os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only")
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
            os.environ.pop("CELERY_BROKER_URL", None)
            sys.path.insert(0, str(HERE.parent))
            import django

            django.setup()
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
        from django.core.management import call_command

        from incidents.models import Incident
        from search.service import search

        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as file:
            file.write("\n".join(interchange_lines(corpus)))
        call_command("import_incidents", file.name, stdout=io.StringIO())
        os.unlink(file.name)
        # Every corpus record is imported with an external_id.
        external = cast(dict[int, str], dict(Incident.objects.values_list("pk", "external_id")))
        return {
            q: [external[r.incident.pk] for r in search(q, viewer=None, limit=K).results]
            for q in queries
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--queries", type=Path, default=SHARED_QUERIES)
    parser.add_argument("--no-own", action="store_true", help="skip our own query sets")
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], action="append")
    parser.add_argument("--per-query", action="store_true", help="also list nDCG@10 per query")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: run one backend, print JSON
    args = parser.parse_args()

    if not args.queries.exists():
        sys.exit(f"No judged queries at {args.queries}: pass --queries PATH.")
    # One shape for every set: {"q", "kind", "relevant"}.
    sets = {
        args.queries.name: [
            {"q": q["query"], "kind": q["kind"], "relevant": q["relevant"]}
            for q in json.loads(args.queries.read_text())
        ]
    }
    if not args.no_own:
        for name, path in OWN_QUERY_SETS.items():
            sets[name] = json.loads(path.read_text())["queries"]
    all_queries = sorted({q["q"] for queries in sets.values() for q in queries})
    if args.child:
        print(json.dumps(run_backend(args.child, args.corpus, all_queries)))
        return
    if not args.corpus.exists():
        sys.exit(f"No corpus at {args.corpus}: pass --corpus PATH.")

    records = corpus_records(args.corpus)
    rankings = {"BM25 (FTS5)": bm25_baseline(records, all_queries)}
    for backend in args.backend or ["postgresql", "sqlite"]:
        print(
            f"Importing {len(records)} incidents and searching with the {backend} backend…",
            file=sys.stderr,
        )
        child = subprocess.run(
            [sys.executable, __file__, "--child", backend, "--corpus", str(args.corpus),
             "--queries", str(args.queries), *(["--no-own"] if args.no_own else [])],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        rankings[f"Once ({backend})"] = json.loads(child.stdout.strip().splitlines()[-1])

    print(f"# Search relevance, {len(records)} public incidents, top {K}")
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    )
    for name, queries in sets.items():
        print(f"\n## {name} ({len(queries)} queries)\n")
        print("| method | kind | n | nDCG@10 | MRR@10 | Recall@10 |")
        print("|---|---|---|---|---|---|")
        for method, ranking in rankings.items():
            for kind in [*KINDS, "all"]:
                chosen = [q for q in queries if kind in ("all", q["kind"])]
                if not chosen:
                    continue
                scores = [
                    (
                        ndcg(ranking[q["q"]], q["relevant"]),
                        mrr(ranking[q["q"]], q["relevant"]),
                        recall(ranking[q["q"]], q["relevant"]),
                    )
                    for q in chosen
                ]
                means = [sum(s[i] for s in scores) / len(scores) for i in range(3)]
                label = f"**{kind}**" if kind == "all" else kind
                print(
                    f"| {method} | {label} | {len(chosen)} | {means[0]:.3f} | {means[1]:.3f} | {means[2]:.3f} |"
                )
        if args.per_query:
            print("\n| query | kind | " + " | ".join(rankings) + " |")
            print("|---|---|" + "---|" * len(rankings))
            for q in queries:
                cells = " | ".join(
                    f"{ndcg(r[q['q']], q['relevant']):.2f}" for r in rankings.values()
                )
                print(f"| {q['q']} | {q['kind']} | {cells} |")


if __name__ == "__main__":
    main()
