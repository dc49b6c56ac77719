"""SQLite FTS5 search for the embedded setup: bm25 over four weighted columns.

FTS5's bm25 already weighs each query term by its rarity and sums over the terms a
document matches, so an any-word query ranks documents matching more of it higher. Porter
stemming comes from the tokenizer (search/migrations/0002_full_text_index.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.db.models.functions import Length
from django.db.utils import OperationalError

from incidents.models import Incident
from search.backends.base import (
    COUNT_CAP,
    TYPO_SIMILARITY,
    Hit,
    Ranked,
    SearchBackend,
    SearchTimeout,
    hidden_sql,
    timeout_ms,
    within_sql,
)
from search.models import SearchWord
from search.query import Query, Term
from search.ranking import best_per_concept
from search.text import similarity

# A term's bm25 is idf × how well it occurs (frequency, field weights, length); the second part
# is saturated again, x / (x + SATURATION), so a concept counts nearly fully once it occurs in a
# weighty field and the rarity of what a question asks decides (as on PostgreSQL).
# dev-queries.json: 0.3 → 0.698, 0.5 → 0.701, 1 → 0.699, 3 → 0.699, none (plain bm25) → 0.693.
SATURATION = 0.5
TERM_MATCHES = 20_000  # matches read per term: the embedded setup holds a few thousand incidents
COLUMN_WEIGHTS = "10.0, 5.0, 2.5, 1.0"  # title, labels, summary, body (benchmarks/: best of a grid)


def _phrase(term: Term) -> str:
    """An FTS5 string: the user's words quoted, so nothing they type is FTS5 syntax."""
    return '"' + " ".join(term).replace('"', '""') + '"'


def _any(terms: list[Term]) -> str:
    return "(" + " OR ".join(_phrase(t) for t in terms) + ")"


def match_expression(query: Query) -> str:
    expression = " OR ".join(_any(c.terms) for c in query.concepts)
    if query.excluded:
        expression = f"({expression}) NOT {_any(query.excluded)}"
    return expression


class SQLiteBackend(SearchBackend):
    vendor = "sqlite"
    exact_bonus = 0.0  # bm25 over Porter stems ranks worse with it (search_relevance.py)

    def vocabulary_near(self, word: str, limit: int) -> list[str]:
        # The embedded vocabulary is small: compare in Python, the way pg_trgm would.
        nearby = SearchWord.objects.annotate(n=Length("word")).filter(
            n__gte=len(word) - 3, n__lte=len(word) + 3
        )
        scored = sorted(
            ((similarity(word, w), w) for w in nearby.values_list("word", flat=True)),
            key=lambda pair: (-pair[0], pair[1]),
        )
        return [w for score, w in scored[:limit] if score >= TYPO_SIMILARITY]

    def occurring(self, words: set[str], hidden: Sequence[int]) -> set[str]:
        excluded, params = hidden_sql("f.rowid", hidden)
        found = set()
        with connection.cursor() as cursor:
            for word in sorted(words):  # a few words, one index look-up each
                cursor.execute(
                    f"SELECT 1 FROM search_fts f WHERE search_fts MATCH %s {excluded} LIMIT 1",
                    [_phrase((word,)), *params],
                )
                if cursor.fetchone():
                    found.add(word)
        return found

    def rank(
        self,
        query: Query,
        *,
        within: QuerySet[Incident] | None,
        hidden: Sequence[int] = (),
        newest_first: bool,
        limit: int,
        offset: int,
    ) -> Ranked:
        if not query.concepts:
            return Ranked(hits=[], count=0, count_capped=False)
        connection.ensure_connection()
        raw = connection.connection
        deadline = time.monotonic() + timeout_ms() / 1000
        # SQLite has no statement timeout: a progress handler aborts the statement instead.
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 100)
        try:
            return self._rank(query, within, hidden, newest_first, limit, offset, deadline)
        except OperationalError as error:
            if "interrupted" in str(error):
                raise SearchTimeout from error
            raise
        finally:
            raw.set_progress_handler(None, 0)

    def _rank(
        self,
        query: Query,
        within: QuerySet[Incident] | None,
        hidden: Sequence[int],
        newest_first: bool,
        limit: int,
        offset: int,
        deadline: float,
    ) -> Ranked:
        expression = match_expression(query)
        in_filter, filter_params = within_sql(within)
        filter_clause = f"AND f.rowid {in_filter}" if in_filter else ""
        # Incidents hidden from the user are neither ranked nor counted.
        excluded, excluded_params = hidden_sql("f.rowid", hidden)
        filter_clause = f"{filter_clause} {excluded}"
        filter_params = [*filter_params, *excluded_params]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT count(*) FROM (SELECT 1 FROM search_fts f
                    WHERE search_fts MATCH %s {filter_clause} LIMIT %s)""",
                [expression, *filter_params, COUNT_CAP + 1],
            )
            count = cursor.fetchone()[0]
            if not newest_first:
                return Ranked(
                    hits=self._best_per_concept(
                        cursor, query, filter_clause, filter_params, deadline
                    )[offset : offset + limit],
                    count=min(count, COUNT_CAP),
                    count_capped=count > COUNT_CAP,
                )
            order = "i.started_at DESC, m.id DESC"  # newest first: only the page is ranked
            # bm25() only works in a statement on the FTS table itself: rank in a
            # materialized CTE, then order and normalize.
            cursor.execute(
                f"""
                WITH matched AS MATERIALIZED (
                    SELECT f.rowid AS id, -bm25(search_fts, {COLUMN_WEIGHTS}) AS score
                    FROM search_fts f WHERE search_fts MATCH %s {filter_clause}
                )
                SELECT m.id, m.score, max(m.score) OVER () AS best, i.started_at
                FROM matched m JOIN incidents_incident i ON i.id = m.id
                ORDER BY {order} LIMIT %s OFFSET %s
                """,
                [expression, *filter_params, limit, offset],
            )
            hits = [
                Hit(incident_id=pk, score=score / best if best else 0.0)
                for pk, score, best, _ in cursor.fetchall()
            ]
        return Ranked(hits=hits, count=min(count, COUNT_CAP), count_capped=count > COUNT_CAP)

    @staticmethod
    def _best_per_concept(
        cursor: Any, query: Query, filter_clause: str, filter_params: list[Any], deadline: float
    ) -> list[Hit]:
        """Every match, best first: bm25 of each term on its own (column weights included),
        its frequency part saturated, combined by search.ranking.best_per_concept (a concept
        scores as its best term), then scaled so the best scores 1. One FTS5 query per term:
        the embedded setup's index is small."""
        not_excluded = f" NOT {_any(query.excluded)}" if query.excluded else ""
        term_scores: dict[Term, dict[int, float]] = {}
        cursor.execute("SELECT count(*) FROM search_document")
        documents = cursor.fetchone()[0]
        for term in {t for concept in query.concepts for t in concept.terms}:
            cursor.execute(
                f"""SELECT f.rowid, -bm25(search_fts, {COLUMN_WEIGHTS}) FROM search_fts f
                    WHERE search_fts MATCH %s {filter_clause} LIMIT %s""",
                [_phrase(term) + not_excluded, *filter_params, TERM_MATCHES],
            )
            rows = cursor.fetchall()
            if time.monotonic() > deadline:  # many short statements: the handler may not fire
                raise SearchTimeout
            idf = math.log(1 + (documents - len(rows) + 0.5) / (len(rows) + 0.5))
            term_scores[term] = {
                pk: idf * saturated(score / idf) if idf > 0 else 0.0 for pk, score in rows
            }
        scores = best_per_concept(query.concepts, term_scores)
        best = max(scores.values(), default=0.0)
        ranked = sorted(scores.items(), key=lambda pair: (-pair[1], -pair[0]))
        return [Hit(incident_id=pk, score=score / best if best else 0.0) for pk, score in ranked]


def saturated(x: float) -> float:
    return x / (x + SATURATION)
