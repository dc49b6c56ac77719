"""What a full-text backend does for search/service.py, whatever the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from incidents.models import Incident
from search.models import SearchWord
from search.query import Query, Term

# Counting every match of a common word at 100,000 incidents costs more than the whole rest
# of a search; nobody pages to the 1,001st result. Counts stop here and show as "1,000+".
COUNT_CAP = 1000
TYPO_SIMILARITY = 0.4  # pg_trgm similarity; "timout"/"timeout" is 0.5, "dns"/"dms" 0.33
TYPO_FIXES = 2
# With incidents hidden from the user, this many times TYPO_FIXES look-alikes are checked for
# one that a visible incident uses.
TYPO_CANDIDATES = 5


class SearchTimeout(Exception):
    """The database gave up on a search after ONCE_SEARCH_TIMEOUT_MS."""


@dataclass
class Hit:
    incident_id: int
    score: float  # 0..1, higher is better


@dataclass
class Ranked:
    hits: list[Hit]
    count: int  # matches, at most COUNT_CAP
    count_capped: bool  # there are more than `count`


def within_sql(within: QuerySet[Incident] | None) -> tuple[str, list[Any]]:
    """An `AND <id column> IN (…)` clause for the filtered incidents, with its parameters."""
    if within is None:
        return "", []
    sql, params = within.order_by().values("pk").query.sql_with_params()
    return f"IN ({sql})", list(params)


def hidden_sql(column: str, hidden: Sequence[int]) -> tuple[str, list[Any]]:
    """An `AND <column> NOT IN (…)` clause leaving out the incidents the user may not see.

    `hidden` is `Incident.objects.hidden_from(user)` as ids: restricted incidents are few, so
    a literal list costs nothing per row, where a join with the visibility rule would cost one
    per candidate (PRODUCT.md, "Who may see and change what"; docs/search.md).
    """
    if not hidden:
        return "", []
    return f"AND {column} NOT IN ({', '.join(['%s'] * len(hidden))})", list(hidden)


def timeout_ms() -> int:
    return max(1, int(getattr(settings, "ONCE_SEARCH_TIMEOUT_MS", 3000)))  # 0 would mean "never"


class SearchBackend:
    vendor = ""
    exact_bonus = 0.0  # how much verbatim use of the typed words lifts a top match

    def known_words(self, words: set[str], *, hidden: Sequence[int] = ()) -> set[str]:
        """The words of `words` in the vocabulary, and in an incident the user may see.

        The vocabulary holds the words of every incident, restricted ones included; a word
        that only hidden incidents use is unknown to this user (else typing it would skip the
        typo fixes, and so tell that it exists).
        """
        known = set(SearchWord.objects.filter(word__in=words).values_list("word", flat=True))
        return self.occurring(known, hidden) if hidden and known else known

    def similar_words(self, word: str, *, hidden: Sequence[int] = ()) -> list[str]:
        """Up to TYPO_FIXES vocabulary words that `word` is probably a typo of, each used by an
        incident the user may see: a word of a restricted report is never suggested to
        someone outside its groups."""
        if not hidden:
            return self.vocabulary_near(word, TYPO_FIXES)
        nearby = self.vocabulary_near(word, TYPO_FIXES * TYPO_CANDIDATES)
        seen = self.occurring(set(nearby), hidden)
        return [w for w in nearby if w in seen][:TYPO_FIXES]

    def vocabulary_near(self, word: str, limit: int) -> list[str]:
        """Up to `limit` vocabulary words that look like `word`, most similar first."""
        raise NotImplementedError

    def occurring(self, words: set[str], hidden: Sequence[int]) -> set[str]:
        """Those of `words` that some document outside `hidden` matches (by its index, so a
        word counts when a visible incident uses a word of the same stem)."""
        raise NotImplementedError

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
        """The incidents matching any concept of `query` and no excluded term, best first;
        never one of `hidden` (the ids of the incidents the user may not see), in the hits
        or in the count."""
        raise NotImplementedError


def term_text(term: Term) -> str:
    return " ".join(term)
