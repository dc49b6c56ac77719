"""What a full-text backend does for search/service.py, whatever the database."""

from __future__ import annotations

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


def timeout_ms() -> int:
    return max(1, int(getattr(settings, "ONCE_SEARCH_TIMEOUT_MS", 3000)))  # 0 would mean "never"


class SearchBackend:
    vendor = ""
    exact_bonus = 0.0  # how much verbatim use of the typed words lifts a top match

    def known_words(self, words: set[str]) -> set[str]:
        return set(SearchWord.objects.filter(word__in=words).values_list("word", flat=True))

    def similar_words(self, word: str) -> list[str]:
        """Up to TYPO_FIXES vocabulary words that `word` is probably a typo of."""
        raise NotImplementedError

    def rank(
        self,
        query: Query,
        *,
        within: QuerySet[Incident] | None,
        newest_first: bool,
        limit: int,
        offset: int,
    ) -> Ranked:
        """The incidents matching any concept of `query` and no excluded term, best first."""
        raise NotImplementedError


def term_text(term: Term) -> str:
    return " ".join(term)
