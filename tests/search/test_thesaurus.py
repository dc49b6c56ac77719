"""The thesaurus file (search/thesaurus.txt) and how queries are read."""

from __future__ import annotations

import pytest

from search.query import parse
from search.text import stem
from search.thesaurus import THESAURUS_FILE, Thesaurus, thesaurus


def test_the_file_loads_and_every_line_has_at_least_two_terms() -> None:
    loaded = Thesaurus(THESAURUS_FILE.read_text().splitlines())
    assert len(loaded.concepts) >= 30
    assert all(len(concept) >= 2 for concept in loaded.concepts)


def test_a_term_on_two_lines_is_refused_with_its_line_number() -> None:
    with pytest.raises(ValueError, match="line 2: 'databases' is already on another line"):
        Thesaurus(["db, database", "databases, datastore"])


@pytest.mark.parametrize(
    ("typed", "also"),
    [
        ("k8s", "kubernetes"),
        ("kubernetes", "k8s"),
        ("oom", "out of memory"),
        ("out of memory", "oomkilled"),
        ("cert", "certificate"),
        ("certificates", "cert"),
        ("tls", "ssl"),
        ("disk full", "no space left"),
        ("db", "database"),
        ("lb", "load balancer"),
        ("load balancer", "elb"),
    ],
)
def test_the_operations_vocabulary_works_both_ways(typed: str, also: str) -> None:
    terms = {" ".join(term) for term in thesaurus().equivalents(tuple(typed.split())) or []}
    assert also in terms


def test_a_query_is_concepts_phrases_and_exclusions() -> None:
    query = parse('etcd "leader election" -ebs -"read only" ran out of memory')
    typed = [" ".join(c.typed) for c in query.concepts]
    assert typed == ["etcd", "leader election", "ran", "out of memory"]
    assert query.concepts[1].phrase and not query.concepts[0].phrase
    assert [" ".join(t) for t in query.excluded] == ["ebs", "read only"]
    assert ("oom",) in query.concepts[3].terms


def test_question_words_drop_out_but_a_query_of_only_them_still_searches() -> None:
    assert [c.typed for c in parse("why did the pods not start").concepts] == [
        ("pods",),
        ("start",),
    ]
    assert [c.typed for c in parse("the").concepts] == [("the",)]


def test_quoted_phrases_are_not_widened() -> None:
    (concept,) = parse('"k8s"').concepts
    assert concept.terms == [("k8s",)]


def test_highlighting_stems_words_the_way_postgresql_english_does() -> None:
    # Snowball English: what to_tsvector('english', …) stores for these words.
    assert [stem(w) for w in ["elections", "election", "timeouts", "expired"]] == [
        "elect", "elect", "timeout", "expir",
    ]  # fmt: skip
