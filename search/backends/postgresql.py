"""PostgreSQL full-text search: a weighted, stored tsvector with a GIN index; pg_trgm typos.

Ranking. PostgreSQL's ts_rank knows where a word occurs (title A … body D) but not how rare
it is, so "the incident where etcd lost quorum" would rank a document full of "incident"
above the one about etcd. We rank each concept of the query on its own and weigh it by its
inverse document frequency, like BM25:

    score = Σ idf(concept) · r / (r + K)  /  Σ idf(concept),   r = ts_rank(weights, vector, concept)

so a document matching more of the query, rarer words, and in weightier fields ranks higher;
scores fall in 0..1. Document frequencies are counted with the index and capped.

Speed. Ranking reads every candidate's tsvector, so the candidate set is bounded: when the
concepts together match more than CANDIDATES documents, only the rarer concepts select
candidates and the common ones add to their scores (the "common terms" idea of Lucene).
A query of only very common words ranks the first CANDIDATES matches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet
from django.db.utils import OperationalError

from incidents.models import Incident
from search import rum
from search.backends.base import (
    COUNT_CAP,
    TYPO_SIMILARITY,
    Hit,
    Ranked,
    SearchBackend,
    SearchTimeout,
    hidden_sql,
    term_text,
    timeout_ms,
    within_sql,
)
from search.query import Query, Term
from search.routing import search_connection

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

WEIGHTS = "{0.1, 0.25, 0.5, 1.0}"  # D (body), C (summary), B (categories, services), A (title)
NORMALIZATION = 1  # ts_rank: divide by 1 + log(document length), so long reports don't win
# K above: how quickly more occurrences stop adding to a concept's score. Small, so a concept
# counts almost fully once it occurs: with ts_rank's tiny values, 0.1 let one word repeated in a
# long report outrank rarer words (dev-queries.json: 0.1 → 0.01 gave +0.05 nDCG@10).
SATURATION = 0.01
CANDIDATES = 1000  # = COUNT_CAP: when every match is a candidate, ranking counts them too
FREQUENCY_CAP = 10_000  # counting a concept's documents stops here (its idf is a floor)


def _tsquery(terms: list[Term], *, probe: bool = False) -> tuple[str, list[str]]:
    """SQL for "any of these terms" (phrases keep their word order), and its parameters.

    A probe ignores word order: it matches a superset, which the index answers without
    reading documents.
    """
    function = "plainto_tsquery" if probe else "phraseto_tsquery"
    sql = " || ".join([f"{function}('english', %s)"] * len(terms))
    return f"({sql})", [term_text(t) for t in terms]


class PostgreSQLBackend(SearchBackend):
    vendor = "postgresql"
    exact_bonus = 0.3  # see search.service.exact_words_first; chosen on the dev query set

    def vocabulary_near(self, word: str, limit: int) -> list[str]:
        # The threshold is transaction-local: the GIN trigram index serves `%` at that level.
        connection = search_connection()  # the read replica, when there is one
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('pg_trgm.similarity_threshold', %s, true)",
                [str(TYPO_SIMILARITY)],
            )
            cursor.execute(
                "SELECT word FROM search_word WHERE word %% %s "
                "ORDER BY similarity(word, %s) DESC, word LIMIT %s",
                [word, word, limit],
            )
            return [row[0] for row in cursor.fetchall()]

    def occurring(self, words: set[str], hidden: Sequence[int]) -> set[str]:
        if not words:
            return set()
        excluded, params = hidden_sql("d.incident_id", hidden)
        with search_connection().cursor() as cursor:
            # One index probe per word; the first visible document found answers it.
            cursor.execute(
                f"""SELECT w FROM unnest(%s::text[]) AS w
                    WHERE EXISTS (SELECT 1 FROM search_document d
                                  WHERE d.vector @@ plainto_tsquery('english', w) {excluded})""",
                [sorted(words), *params],
            )
            return {row[0] for row in cursor.fetchall()}

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
        connection = search_connection()  # the read replica, when there is one
        nested = connection.in_atomic_block
        try:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                settings = {"statement_timeout": str(timeout_ms())}
                indexed = rum.in_use(connection)
                if indexed and not newest_first:
                    # The RUM index answers word order itself, so reading matches through it
                    # never opens a document; a scan that stops at a LIMIT beats a bitmap of
                    # every match. The planner can't know either (RUM's costs are GIN's).
                    # Newest first is left to the planner: it may walk incidents by date.
                    settings |= {"enable_seqscan": "off", "enable_bitmapscan": "off"}
                names = list(settings)
                cursor.execute(
                    "SELECT "
                    + ", ".join(["current_setting(%s), set_config(%s, %s, true)"] * len(names)),
                    [p for name in names for p in (name, name, settings[name])],
                )
                previous = cursor.fetchone()[::2]
                ranked = self._rank(cursor, query, within, hidden, newest_first, limit, offset)
                if nested:  # local settings would outlive this search in the outer transaction
                    cursor.execute(
                        "SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(names)),
                        [
                            p
                            for name, value in zip(names, previous, strict=True)
                            for p in (name, value)
                        ],
                    )
                return ranked
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) == "57014":  # query_canceled
                raise SearchTimeout from error
            raise

    def _rank(
        self,
        cursor: CursorWrapper,
        query: Query,
        within: QuerySet[Incident] | None,
        hidden: Sequence[int],
        newest_first: bool,
        limit: int,
        offset: int,
    ) -> Ranked:
        # Incidents hidden from the user are left out of frequencies, candidates and counts.
        excluded, excluded_params = hidden_sql("d.incident_id", hidden)
        # 1. Each concept as a tsquery, with its document frequency.
        concepts, exclusion, documents = _frequencies(cursor, query, excluded, excluded_params)
        if not concepts:
            return Ranked(hits=[], count=0, count_capped=False)

        in_filter, filter_params = within_sql(within)
        filter_clause = f"AND d.incident_id {in_filter}" if in_filter else ""
        filter_clause = f"{filter_clause} {excluded}"
        filter_params = [*filter_params, *excluded_params]
        found = candidates(concepts, exclusion, filter_clause, filter_params)

        # 2. Score the candidates, one ts_rank per concept, weighed by rarity.
        idf = [_idf(documents, frequency) for _, frequency in concepts]
        ranks = ", ".join(
            f"ts_rank('{WEIGHTS}', d.vector, %s::tsquery, {NORMALIZATION}) AS r{i}"
            for i in range(len(concepts))
        )
        score = " + ".join(
            f"{weight:.6f} * r{i} / (r{i} + {SATURATION})" for i, weight in enumerate(idf)
        )
        weighted = f"({score}) / {sum(idf):.6f}"
        texts = [t for t, _ in concepts]
        count = None
        if newest_first:  # every match qualifies; only the page's rows are scored
            cursor.execute(
                f"""
                SELECT c.incident_id, {weighted} AS score
                FROM (SELECT d.incident_id, i.started_at, {ranks}
                      FROM search_document d JOIN incidents_incident i ON i.id = d.incident_id
                      WHERE {found.matching}
                      ORDER BY i.started_at DESC, i.id DESC LIMIT %s OFFSET %s) c
                ORDER BY c.started_at DESC, c.incident_id DESC
                """,
                [*texts, *found.matching_params, limit, offset],
            )
            rows = cursor.fetchall()
        else:
            # Candidates are read once: scored, and counted in the same statement.
            cursor.execute(
                f"""
                WITH c AS MATERIALIZED (
                    SELECT d.incident_id, {ranks} FROM search_document d
                    WHERE {found.where} LIMIT %s
                )
                SELECT c.incident_id, {weighted} AS score, count(*) OVER () AS found
                FROM c ORDER BY score DESC, c.incident_id DESC LIMIT %s OFFSET %s
                """,
                [*texts, *found.params, found.limit, limit, offset],
            )
            fetched = cursor.fetchall()
            rows = [(pk, s) for pk, s, _ in fetched]
            if found.complete and fetched:
                count = fetched[0][2]  # every match was a candidate (up to CANDIDATES + 1)

        # 3. How many match, up to the cap, when step 2 could not tell.
        if count is None:
            cursor.execute(
                f"""SELECT count(*) FROM (SELECT 1 FROM search_document d
                    WHERE {found.matching} LIMIT %s) s""",
                [*found.matching_params, COUNT_CAP + 1],
            )
            count = cursor.fetchone()[0]
        hits = [Hit(incident_id=pk, score=float(s)) for pk, s in rows]
        return Ranked(hits=hits, count=min(count, COUNT_CAP), count_capped=count > COUNT_CAP)


@dataclass
class Candidates:
    """Which documents get scored: `search_document d WHERE <where> LIMIT <limit>`.

    `matching` (with `matching_params`) is every document that matches the query, for counts
    and newest-first lists; `complete` says whether the candidates are all of them whenever
    there are at most CANDIDATES (so counting the candidates counts the matches).
    """

    where: str
    params: list[Any]
    limit: int
    complete: bool
    matching: str
    matching_params: list[Any]


def candidates(
    concepts: list[tuple[str, int]], exclusion: str, filter_clause: str, filter_params: list[Any]
) -> Candidates:
    """The candidate stage: the documents a scorer ranks, at most CANDIDATES + 1 of them.

    `concepts` are (tsquery text, document frequency); `exclusion` a tsquery no match may
    satisfy ("" for none); `filter_clause` an SQL condition on `d` with `filter_params`. When
    all concepts together match more than CANDIDATES documents, only the rarer ones select
    candidates and the common ones just add to their scores (the "common terms" idea).
    """

    def any_of(texts: list[str]) -> str:
        matched = " | ".join(f"({t})" for t in texts)
        return f"({matched}) & !({exclusion})" if exclusion else matched

    matching = any_of([t for t, _ in concepts])
    selecting = matching
    if sum(f for _, f in concepts) > CANDIDATES:
        rare: list[str] = []
        total = 0
        for text, frequency in sorted(concepts, key=lambda c: c[1]):
            if rare and total + frequency > CANDIDATES:
                break
            rare.append(text)
            total += frequency
        selecting = any_of(rare)
    where = f"d.vector @@ %s::tsquery {filter_clause}"
    return Candidates(
        where=where,
        params=[selecting, *filter_params],
        limit=CANDIDATES + 1,
        complete=selecting == matching,
        matching=where,
        matching_params=[matching, *filter_params],
    )


def _frequencies(
    cursor: CursorWrapper, query: Query, excluded: str, excluded_params: list[Any]
) -> tuple[list[tuple[str, int]], str, int]:
    """Each concept's tsquery and document frequency (capped), the exclusion's tsquery ("" for
    none), and the number of documents.

    Frequencies are counted on the words without their order ("probe"): the index answers
    that exactly, while a phrase's word order may need the documents. A concept with a word
    that PostgreSQL's own statistics (ANALYZE's most common lexemes of the column) put in
    well over FREQUENCY_CAP documents is not counted: its count would stop at the cap anyway.
    """
    parts = [_tsquery(c.terms) for c in query.concepts]
    probes = [_tsquery(c.terms, probe=True) for c in query.concepts]
    common = _commonest(cursor, query)
    uncounted = [any(len(t) == 1 and t[0] in common for t in c.terms) for c in query.concepts]
    if query.excluded:
        parts.append(_tsquery(query.excluded))
        probes.append(_tsquery(query.excluded, probe=True))
        uncounted.append(True)  # only its tsquery is used
    cursor.execute(
        f"""
        SELECT q::text,
               CASE WHEN u THEN %s ELSE
                   (SELECT count(*) FROM (SELECT 1 FROM search_document d
                                          WHERE d.vector @@ p {excluded} LIMIT %s) s) END,
               (SELECT greatest(reltuples::bigint, 0) FROM pg_class
                WHERE oid = 'search_document'::regclass)
        FROM unnest(ARRAY[{", ".join(sql for sql, _ in parts)}]::tsquery[],
                    ARRAY[{", ".join(sql for sql, _ in probes)}]::tsquery[],
                    %s::boolean[])
             WITH ORDINALITY AS g(q, p, u, n)
        ORDER BY n
        """,
        [
            FREQUENCY_CAP,
            *excluded_params,
            FREQUENCY_CAP,
            *(p for _, params in parts for p in params),
            *(p for _, params in probes for p in params),
            uncounted,
        ],
    )
    rows = cursor.fetchall()
    exclusion = rows.pop()[0] if query.excluded else ""
    concepts = [(text, frequency) for text, frequency, _ in rows if text]
    if not concepts:
        return [], exclusion, 0
    documents = rows[0][2]
    if documents < max(f for _, f in concepts):  # never analyzed yet: count instead
        cursor.execute("SELECT count(*) FROM search_document")
        documents = cursor.fetchone()[0]
    return concepts, exclusion, documents


def _commonest(cursor: CursorWrapper, query: Query) -> set[str]:
    """The query's single words that ANALYZE found in more than 1.5 × FREQUENCY_CAP documents.

    The margin covers the sampling error of the statistics; below it, words are counted.
    """
    single = sorted({t[0] for c in query.concepts for t in c.terms if len(t) == 1})
    if not single:
        return set()
    cursor.execute(
        """
        SELECT w FROM (SELECT most_common_elems::text::text[] AS e, most_common_elem_freqs AS f
                       FROM pg_stats WHERE schemaname = current_schema()
                       AND tablename = 'search_document' AND attname = 'vector') s,
                      (SELECT reltuples FROM pg_class WHERE oid = 'search_document'::regclass) t,
                      unnest(%s::text[]) AS w,
                      LATERAL tsvector_to_array(to_tsvector('english', w)) AS l
        WHERE cardinality(l) = 1
          AND s.f[array_position(s.e, l[1])] * t.reltuples > %s
        """,
        [single, 1.5 * FREQUENCY_CAP],
    )
    return {row[0] for row in cursor.fetchall()}


def _idf(documents: int, frequency: int) -> float:
    """BM25's inverse document frequency, never below a small positive floor."""
    return max(0.05, math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5)))
