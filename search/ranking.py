"""Scoring pieces shared by the backends: how the scores of a query's terms make a document's.

A concept (one thing the user asked for) may be said in several ways: its typed words, their
thesaurus equivalents, typo fixes. A document that says it three ways has not matched three
things, so a concept scores as its best term, and a document's score is the sum over the
concepts (what Lucene's dis-max over synonyms does). Summing the terms instead let a concept
with many equivalents (an outage is also downtime, unavailable, a service disruption…)
outweigh the rarer words of the question beside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from search.query import Concept, Term


def best_per_concept(
    concepts: Iterable[Concept], term_scores: Mapping[Term, Mapping[int, float]]
) -> dict[int, float]:
    """Document id → Σ over concepts of the concept's best term score in that document.

    `term_scores` maps each term to {document id: score ≥ 0} for the documents it matches;
    a term missing from it matches nothing.
    """
    total: dict[int, float] = defaultdict(float)
    for concept in concepts:
        best: dict[int, float] = {}
        for term in concept.terms:
            for document, score in term_scores.get(term, {}).items():
                if score > best.get(document, 0.0):
                    best[document] = score
        for document, score in best.items():
            total[document] += score
    return dict(total)
