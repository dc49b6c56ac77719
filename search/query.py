"""What a search box query means: concepts to match (any of them), phrases, exclusions.

    etcd "leader election" -ebs k8s

is four things: the word etcd; the phrase "leader election" (its words adjacent, in order);
documents mentioning ebs are left out; and k8s, which the thesaurus widens to
kubernetes or kube. Every concept is optional (any-word matching); the ranking rewards
documents that match more of them, the rarer ones most.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from search.text import STOPWORDS, split_compound, words
from search.thesaurus import Term, thesaurus

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(-?)(\S+)')
_JOINED = re.compile(r"[^\W_][./:@_]+[^\W_]")  # word characters joined by ".", "/", ":", "@", "_"
_EDGE_PUNCTUATION = "\"'()[]{}<>,;!?.:"
MAX_CONCEPTS = 12  # a pasted paragraph is cut here: the first words carry the question
SHORT = 3  # words (not counting stopwords): a keyword query, not a question


@dataclass
class Concept:
    """One thing the user asked for, and the terms that express it (what they typed first)."""

    terms: list[Term]
    phrase: bool = False  # typed in quotes: never widened by the thesaurus or typo fixes
    corrected: list[Term] = field(default_factory=list)  # typo fixes, shown as "did you mean"

    @property
    def typed(self) -> Term:
        return self.terms[0]


@dataclass
class Query:
    concepts: list[Concept]
    excluded: list[Term]

    def __bool__(self) -> bool:
        return bool(self.concepts)

    @property
    def all_terms(self) -> list[Term]:
        return [term for concept in self.concepts for term in concept.terms]


def parse(text: str) -> Query:
    """Split a query into concepts and exclusions; stopwords drop out unless quoted."""
    excluded: list[Term] = []
    pieces: list[tuple[Term, bool | None]] = []  # (words, quoted; None: a compound)
    for match in _TOKEN.finditer(text):
        quoted_neg, quoted, bare_neg, bare = match.groups()
        if quoted is not None:
            term = tuple(words(quoted))
            if term:
                (excluded.append(term) if quoted_neg else pieces.append((term, True)))
            continue
        term = tuple(words(bare))
        if not term:
            continue
        if bare_neg and len(bare) > 1:
            excluded.append(term)
        elif len(term) > 1 and _JOINED.search(bare):
            # "HTTP/1.1", "logo.png": one thing, found by its parts in order, as documents
            # index them (search.text.compound_parts).
            pieces.append((tuple(split_compound(bare.strip(_EDGE_PUNCTUATION))), None))
        else:
            pieces.extend(((w,), False) for w in term)

    concepts: list[Concept] = []
    loose: list[str] = []  # a run of unquoted words, for multi-word thesaurus terms

    # Concepts the query asks for besides stopwords: unquoted words, phrases, compounds.
    asked = sum(1 for term, quoted in pieces if quoted is not False or term[0] not in STOPWORDS)
    short = asked <= SHORT

    def flush_loose() -> None:
        i = 0
        while i < len(loose):
            hit = thesaurus().match_at(loose, i)
            if hit and (hit[0] > 1 or loose[i] not in STOPWORDS):
                length, equivalents = hit
                concepts.append(Concept(terms=list(equivalents)))
                # In a short query the words of a several-word term still count on their own:
                # "race condition" also finds "a race between two writers", ranked below the
                # term itself. In a longer one the other words find enough, and "log in" or
                # "made things worse" word by word would find logs and things.
                if length > 1 and short:
                    concepts.extend(
                        Concept(terms=[(w,)]) for w in loose[i : i + length] if w not in STOPWORDS
                    )
                i += length
                continue
            if loose[i] not in STOPWORDS or not asked:  # a query of only stopwords
                concepts.append(Concept(terms=[(loose[i],)]))
            i += 1
        loose.clear()

    for term, quoted in pieces:
        if quoted is None:  # a compound: a thesaurus term ("kube-apiserver") or its parts
            flush_loose()
            concepts.append(Concept(terms=thesaurus().equivalents(term) or [term]))
        elif quoted:
            flush_loose()
            concepts.append(Concept(terms=[term], phrase=True))
        else:
            loose.append(term[0])
    flush_loose()

    unique: list[Concept] = []
    seen: set[Term] = set()
    for concept in concepts:
        if concept.typed not in seen:
            seen.add(concept.typed)
            unique.append(concept)
    return Query(concepts=unique[:MAX_CONCEPTS], excluded=excluded)
