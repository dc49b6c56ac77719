"""The operations thesaurus (thesaurus.txt): which query terms mean the same thing."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from search.text import stem, words

THESAURUS_FILE = Path(__file__).with_name("thesaurus.txt")

Term = tuple[str, ...]  # the words of a term, as written: ("out", "of", "memory")


class Thesaurus:
    """Concepts (lines of terms); looked up by the stems of a run of query words."""

    def __init__(self, lines: list[str]) -> None:
        self.concepts: list[list[Term]] = []
        self._by_stems: dict[tuple[str, ...], int] = {}
        for number, line in enumerate(lines, start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            concept: list[Term] = []
            for raw in line.split(","):
                term = tuple(words(raw))
                if not term:
                    raise ValueError(f"thesaurus line {number}: an empty term")
                key = tuple(stem(w) for w in term)
                if key in self._by_stems:
                    raise ValueError(
                        f"thesaurus line {number}: {' '.join(term)!r} is already on another line"
                    )
                self._by_stems[key] = len(self.concepts)
                concept.append(term)
            self.concepts.append(concept)
        self.longest = max((len(k) for k in self._by_stems), default=0)

    def equivalents(self, term: Term) -> list[Term] | None:
        """Every term of the concept `term` belongs to (itself first), or None."""
        index = self._by_stems.get(tuple(stem(w) for w in term))
        if index is None:
            return None
        same = [t for t in self.concepts[index] if [stem(w) for w in t] != [stem(w) for w in term]]
        return [term, *same]

    def match_at(self, sequence: list[str], start: int) -> tuple[int, list[Term]] | None:
        """The longest thesaurus term starting at sequence[start]: (its length, equivalents)."""
        for length in range(min(self.longest, len(sequence) - start), 0, -1):
            found = self.equivalents(tuple(sequence[start : start + length]))
            if found:
                return length, found
        return None


@cache
def thesaurus() -> Thesaurus:
    return Thesaurus(THESAURUS_FILE.read_text(encoding="utf-8").splitlines())
