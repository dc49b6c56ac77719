"""Search as the page and the API see it: a query in, ranked incidents with snippets out.

Every search is made for someone (`viewer`): the incidents hidden from them
(`Incident.objects.hidden_from`, a few ids) are left out of the ranking, the count, the
snippets, the typo fixes and the failure modes suggested (PRODUCT.md, "Who may see and change
what"; docs/search.md, "Restricted incidents").
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError
from django.db.models import Count, QuerySet, Value

from incidents.models import FailureCategory, Incident, Visibility, remember_hidden_incidents
from remediations.models import Remediation, RemediationStatus
from search.backends import backend
from search.backends.base import Hit, SearchBackend
from search.models import SearchDocument
from search.query import Concept, Query, parse
from search.routing import search_alias, search_reads
from search.text import STOPWORDS, marked, snippet, stem, without_repeats, words
from search.thesaurus import thesaurus

logger = logging.getLogger(__name__)

RERANK_TOP = 50  # the best matches are re-ordered by exact_words_first
MIN_TYPO_LENGTH = 4  # "dsn" could be anything; "timout" is clearly "timeout"
FAILURE_MODES_SHOWN = 5
SNIPPET_SOURCE_CHARS = 5000  # quote from the start of long reports: a snippet costs O(words)


@dataclass
class Result:
    incident: Incident
    score: float
    snippet: str  # safe HTML: escaped text, only <mark> added
    title_html: str  # the title as safe HTML, the words searched for in <mark>
    categories: list[str]
    remediations: dict[str, int]  # status label → how many, for "2 done, 1 open"
    services: list[tuple[int, str]] = field(default_factory=list)  # (id, name), for tags
    # The tags as safe HTML, what matched in <mark> (a service "kube-proxy" for kubernetes).
    categories_html: list[str] = field(default_factory=list)
    services_html: list[tuple[int, str]] = field(default_factory=list)  # (id, name as HTML)


@dataclass
class SearchResults:
    query: Query
    results: list[Result]
    count: int
    count_capped: bool
    corrections: list[tuple[str, list[str]]] = field(default_factory=list)  # typed → fixes
    failure_modes: list[FailureCategory] = field(default_factory=list)
    # With no result and a -word: how many incidents match when nothing is left out, so the
    # page can say the exclusion removed them all (0 when that isn't the case).
    excluded_matches: int = 0

    @property
    def only_excluded(self) -> bool:
        """True when every word of the query is a `-word`: nothing is left to look for, so
        nothing matches, and the page says the exclusions are why (issue 16, item 3)."""
        return bool(self.query.excluded) and not self.query.concepts

    @property
    def count_label(self) -> str:
        return f"{self.count:,}+" if self.count_capped else f"{self.count:,}"


def hidden_ids(viewer: Any) -> list[int]:
    """The ids of the incidents left out of `viewer`'s search (one small query): those they
    may not see, and the duplicates whose original they see — these leave search for them
    (PRODUCT.md, "Writing, duplicates and importing Markdown"). Only the duplicates of a
    restricted original have a document (search.index.searched), so only those are listed;
    for someone that original is hidden from, such a duplicate is found like any incident.

    Which of them are hidden is kept for the rest of a read-only request
    (`incidents.models.remember_hidden_incidents`): its later visibility rules read it."""
    hidden = Incident.objects.hidden_from(viewer).annotate(is_hidden=Value(True))
    merged = (
        Incident.objects.merged_for(viewer)
        .filter(duplicate_of__visibility=Visibility.RESTRICTED)
        .annotate(is_hidden=Value(False))
    )
    # A UNION of the two small sets: "in either" as one OR of two subqueries read every
    # incident (40-60 ms at 100,000).
    rows = (
        hidden.order_by()
        .values_list("pk", "is_hidden")
        .union(merged.order_by().values_list("pk", "is_hidden"), all=True)
    )
    left_out = sorted(set(rows))
    remember_hidden_incidents(viewer, [pk for pk, is_hidden in left_out if is_hidden])
    return [pk for pk, _ in left_out]


def search(
    text: str,
    *,
    viewer: Any,
    within: QuerySet[Incident] | None = None,
    newest_first: bool = False,
    limit: int = 20,
    offset: int = 0,
) -> SearchResults:
    """Incidents matching `text` that `viewer` may see, best first (`viewer` None: the system,
    which sees all). Raises SearchTimeout if the database gives up.

    With a read replica configured, the search's own queries run there (search/routing.py);
    if the replica fails, the search is made again on the primary, and the failure logged.
    """
    arguments = dict(
        viewer=viewer, within=within, newest_first=newest_first, limit=limit, offset=offset
    )
    with search_reads():
        if search_alias() == DEFAULT_DB_ALIAS:
            return _search(text, **arguments)
        try:
            return _search(text, **arguments)
        except DatabaseError:  # down, or a query cancelled by replay on a hot standby
            logger.warning(
                "Search on the read replica failed; searching the primary.", exc_info=True
            )
    with search_reads(replica=False):
        return _search(text, **arguments)


def _search(
    text: str,
    *,
    viewer: Any,
    within: QuerySet[Incident] | None,
    newest_first: bool,
    limit: int,
    offset: int,
) -> SearchResults:
    engine = backend()
    query = parse(text)
    # Asked first: the request's later visibility rules (facets, services) read it.
    hidden = hidden_ids(viewer)
    corrections = fix_typos(query, engine, hidden=hidden)
    rerank = engine.exact_bonus > 0 and not newest_first and offset < RERANK_TOP
    ranked = engine.rank(
        query,
        within=within,
        hidden=hidden,
        newest_first=newest_first,
        limit=max(RERANK_TOP, offset + limit) if rerank else limit,
        offset=0 if rerank else offset,
    )
    hits = (
        exact_words_first(query, ranked.hits, engine.exact_bonus)[offset : offset + limit]
        if rerank
        else ranked.hits
    )
    excluded_matches = 0
    if ranked.count == 0 and query.excluded and offset == 0:
        unexcluded = Query(concepts=query.concepts, excluded=[])
        excluded_matches = engine.rank(
            unexcluded, within=within, hidden=hidden, newest_first=True, limit=1, offset=0
        ).count
    return SearchResults(
        query=query,
        results=_results(query, hits),
        count=ranked.count,
        count_capped=ranked.count_capped,
        corrections=corrections,
        failure_modes=failure_modes(query, viewer=viewer) if offset == 0 else [],
        excluded_matches=excluded_matches,
    )


def fix_typos(
    query: Query, engine: SearchBackend, *, hidden: Sequence[int] = ()
) -> list[tuple[str, list[str]]]:
    """Widen each unknown single word with the vocabulary words it is probably a typo of.

    Words are known, and suggested, only when an incident outside `hidden` uses them: the
    words of a restricted report are never shown to someone who may not see it.
    """
    candidates = [
        c
        for c in query.concepts
        if not c.phrase
        and len(c.typed) == 1
        and len(c.typed[0]) >= MIN_TYPO_LENGTH
        and not c.typed[0].isdigit()
    ]
    if not candidates:
        return []
    known = engine.known_words(
        {word for c in candidates for term in c.terms for word in term}, hidden=hidden
    )
    fixes = []
    for concept in candidates:
        if concept.typed[0] in known:
            continue
        similar = engine.similar_words(concept.typed[0], hidden=hidden)
        if any(stem(w) == stem(concept.typed[0]) for w in similar):
            continue  # "kubernets" stems like "kubernetes": the index matches it already
        for word in similar:
            _add_term(concept, (word,))
            for equivalent in thesaurus().equivalents((word,)) or []:
                _add_term(concept, equivalent)
        if similar:
            concept.corrected = [(w,) for w in similar]
            fixes.append((concept.typed[0], similar))
    return fixes


def exact_words_first(query: Query, hits: list[Hit], bonus: float) -> list[Hit]:
    """Among the best matches, favour documents that use the very words typed.

    Stemming and the thesaurus widen a query ("leaked" also finds "memory leak"); a document
    that says what the user said is likelier to be the one they remember. Each hit's score
    grows by `bonus` times the share of the query's concepts it contains verbatim.
    """
    typed = [c.typed for c in query.concepts if not all(w in STOPWORDS for w in c.typed)]
    if not typed or not hits:
        return hits
    patterns = [re.compile(r"\b" + r"\W+".join(map(re.escape, term)) + r"\b") for term in typed]
    texts = {
        pk: "\n".join(parts).lower()
        for pk, *parts in SearchDocument.objects.filter(
            incident_id__in=[h.incident_id for h in hits]
        ).values_list("incident_id", "title", "labels", "summary", "body")
    }
    rescored = []
    for hit in hits:
        text = texts.get(hit.incident_id, "")
        share = sum(1 for p in patterns if p.search(text)) / len(patterns)
        rescored.append(Hit(hit.incident_id, min(1.0, hit.score * (1 + bonus * share))))
    return sorted(rescored, key=lambda h: (-h.score, -h.incident_id))


def _add_term(concept: Concept, term: tuple[str, ...]) -> None:
    if term not in concept.terms:
        concept.terms.append(term)


def highlight_stems(query: Query) -> frozenset[str]:
    """What to <mark>: the words typed, their typo fixes and one-word equivalents. The words
    of a several-word equivalent ("name resolution" for dns) would mark every "resolution"."""
    return frozenset(
        stem(word)
        for concept in query.concepts
        for term in concept.terms
        if term == concept.typed or len(term) == 1
        for word in term
        if word not in STOPWORDS
    )


def highlight_phrases(query: Query) -> frozenset[tuple[str, ...]]:
    """The several-word equivalents to <mark> where their words come together, in order
    ("out of memory" for oom, "api server" for apiserver): each as its words' stems. Their
    words alone are not marked (`highlight_stems`)."""
    return frozenset(
        tuple(stem(word) for word in term)
        for concept in query.concepts
        for term in concept.terms
        if len(term) > 1 and term != concept.typed
        and not all(word in STOPWORDS for word in term)
    )  # fmt: skip


def _results(query: Query, hits: list[Hit]) -> list[Result]:
    ids = [hit.incident_id for hit in hits]
    # What a result shows of its incident (the report itself is quoted from the document).
    incidents = Incident.objects.only(
        "title", "summary", "severity", "status", "started_at", "duplicate_of"
    ).in_bulk(ids)
    documents = {
        d.incident_id: d
        for d in SearchDocument.objects.filter(incident_id__in=ids).only(
            "incident_id", "summary", "body"
        )
    }
    categories: dict[int, list[str]] = defaultdict(list)
    through = Incident.categories.through.objects.filter(incident_id__in=ids)
    for incident_id, path in through.values_list("incident_id", "failurecategory__path").order_by(
        "failurecategory__path"
    ):
        categories[incident_id].append(path)
    services: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for incident_id, service_id, name in (
        Incident.services.through.objects.filter(incident_id__in=ids)
        .order_by("service__name")
        .values_list("incident_id", "service_id", "service__name")
    ):
        services[incident_id].append((service_id, name))
    states: dict[int, dict[str, int]] = defaultdict(dict)
    labels = dict(RemediationStatus.choices)
    for row in (
        Remediation.objects.filter(incident_id__in=ids)
        .values("incident_id", "status")
        .annotate(n=Count("pk"))
        .order_by("incident_id", "status")
    ):
        states[row["incident_id"]][labels[row["status"]].lower()] = row["n"]
    stems, phrases = highlight_stems(query), highlight_phrases(query)
    results = []
    for hit in hits:
        incident = incidents.get(hit.incident_id)
        if incident is None:  # deleted between ranking and now
            continue
        document = documents.get(hit.incident_id)
        source = f"{document.summary}\n{document.body}" if document else incident.summary
        # Without a match in the text (the title matched), this quotes the summary's opening.
        source = without_repeats(source[:SNIPPET_SOURCE_CHARS])
        results.append(
            Result(
                incident=incident,
                score=round(hit.score, 4),
                snippet=snippet(source, stems, phrases=phrases),
                title_html=marked(incident.title, stems, phrases),
                categories=categories[hit.incident_id],
                remediations=states[hit.incident_id],
                services=services[hit.incident_id],
                categories_html=[
                    marked(path, stems, phrases) for path in categories[hit.incident_id]
                ],
                services_html=[
                    (pk, marked(name, stems, phrases)) for pk, name in services[hit.incident_id]
                ],
            )
        )
    return results


def failure_modes(query: Query, *, viewer: Any = None) -> list[FailureCategory]:
    """Categories whose name or path says what the query asks: their pages answer it best.

    Only categories `viewer` may see (`FailureCategory.objects.visible_to`; None: the
    system): a category only restricted reports use may be named with a word of them.
    """
    concept_stems = [
        [frozenset(stem(w) for w in term if w not in STOPWORDS) for term in c.terms]
        for c in query.concepts
    ]
    scored = []
    visible = FailureCategory.objects.visible_to(viewer)
    for pk, name, path in visible.values_list("pk", "name", "path"):
        name_stems, path_stems = _stems_of(name), _stems_of(path)
        score = 0
        for alternatives in concept_stems:
            if any(term and term <= name_stems for term in alternatives):
                score += 2
            elif any(term and term <= path_stems for term in alternatives):
                score += 1
        if score:
            scored.append((-score, path, pk))
    ranked = [pk for _, _, pk in sorted(scored)][:FAILURE_MODES_SHOWN]
    found = FailureCategory.objects.in_bulk(ranked)
    return [found[pk] for pk in ranked if pk in found]


@lru_cache(maxsize=20_000)
def _stems_of(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in words(text))
