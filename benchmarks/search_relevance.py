"""How well search finds the right past incident: nDCG@10, MRR@10 and Recall@10.

    .venv/bin/python benchmarks/search_relevance.py [--corpus PATH] [--backend postgresql|sqlite]

Imports the public incident corpus (benchmarks/corpus.py) into a fresh database per backend
(PostgreSQL on the server of DATABASE_URL, and a temporary SQLite file), runs the query sets
in benchmarks/search_queries/ through Once's search, and compares them with a plain BM25
any-word baseline computed here over the same text (lower-cased words, no stemming, no
field weights, no thesaurus, no typo handling). dev.json is what we look at while
improving search; heldout.json is only for checking that gains generalize.
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
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, cast

from corpus import CORPUS, corpus_records, interchange_lines

HERE = Path(__file__).resolve().parent
QUERY_SETS = {
    "dev": HERE / "search_queries" / "dev.json",
    "heldout": HERE / "search_queries" / "heldout.json",
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


# --- The baseline: plain BM25, any word ---------------------------------------------------

WORD = re.compile(r"\w+")


def bm25_baseline(records: list[dict[str, Any]], queries: list[str]) -> dict[str, list[str]]:
    k1, b = 1.2, 0.75
    docs = {
        r["id"]: Counter(
            WORD.findall(
                " ".join(
                    [r["title"], r["summary"], r.get("details") or "", *r["categories"]]
                ).lower()
            )
        )
        for r in records
    }
    lengths = {d: sum(c.values()) for d, c in docs.items()}
    average = sum(lengths.values()) / len(lengths)
    frequency: Counter[str] = Counter()
    for counts in docs.values():
        frequency.update(counts.keys())
    n = len(docs)
    results = {}
    for q in queries:
        terms = set(WORD.findall(q.lower()))
        scores: dict[str, float] = defaultdict(float)
        for term in terms:
            if not frequency[term]:
                continue
            idf = math.log(1 + (n - frequency[term] + 0.5) / (frequency[term] + 0.5))
            for doc, counts in docs.items():
                tf = counts.get(term, 0)
                if tf:
                    scores[doc] += (
                        idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[doc] / average))
                    )
        results[q] = [
            d for d, _ in sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:K]
        ]
    return results


# --- Once's search, in a child process per backend (Django is configured once per process) --


def run_backend(backend: str, corpus: Path, queries: list[str]) -> dict[str, list[str]]:
    """Import the corpus into a fresh database of that kind and return each query's top 10."""
    import io
    from contextlib import ExitStack

    with ExitStack() as stack:
        if backend == "postgresql":
            from _database import fresh_database

            stack.enter_context(fresh_database("once_bench_relevance"))
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
        return {q: [external[r.incident.pk] for r in search(q, limit=K).results] for q in queries}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], action="append")
    parser.add_argument("--per-query", action="store_true", help="also list nDCG@10 per query")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: run one backend, print JSON
    args = parser.parse_args()

    sets = {name: json.loads(path.read_text())["queries"] for name, path in QUERY_SETS.items()}
    all_queries = sorted({q["q"] for queries in sets.values() for q in queries})
    if args.child:
        print(json.dumps(run_backend(args.child, args.corpus, all_queries)))
        return
    if not args.corpus.exists():
        sys.exit(f"No corpus at {args.corpus}: pass --corpus PATH.")

    records = corpus_records(args.corpus)
    rankings = {"BM25 baseline": bm25_baseline(records, all_queries)}
    for backend in args.backend or ["postgresql", "sqlite"]:
        print(
            f"Importing {len(records)} incidents and searching with the {backend} backend…",
            file=sys.stderr,
        )
        child = subprocess.run(
            [sys.executable, __file__, "--child", backend, "--corpus", str(args.corpus)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        rankings[f"Once ({backend})"] = json.loads(child.stdout.strip().splitlines()[-1])

    print(f"# Search relevance, {len(records)} public incidents, top {K}")
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    )
    for name, queries in sets.items():
        print(f"\n## {name} set ({len(queries)} queries)\n")
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
