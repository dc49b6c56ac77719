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
        # Grown from how incidents are described (issue 14).
        ("thundering herd", "stampede"),
        ("ran out of disk space", "disk full"),
        ("running out of disk space", "no space left"),
        ("vendor", "third party"),
        ("alarm", "alert"),
        ("went down", "outage"),
        ("lost access", "locked out"),
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


def test_a_short_query_keeps_the_words_of_a_several_word_term_a_question_does_not() -> None:
    typed = [c.typed for c in parse("race condition").concepts]
    assert typed == [("race", "condition"), ("race",), ("condition",)]
    # In a question the other words find enough; "log" alone would find every log.
    typed = [c.typed for c in parse("why can none of our users log in since the upgrade").concepts]
    assert ("log", "in") in typed and ("log",) not in typed


def test_a_compound_is_one_concept_of_its_parts_in_order() -> None:
    assert [c.typed for c in parse("nginx logo.png over HTTP/1.1").concepts] == [
        ("nginx",),
        ("logo", "png"),
        ("http", "1", "1"),
    ]


def test_quoted_phrases_are_not_widened() -> None:
    (concept,) = parse('"k8s"').concepts
    assert concept.terms == [("k8s",)]


def test_highlighting_stems_words_the_way_postgresql_english_does() -> None:
    # Snowball English: what to_tsvector('english', …) stores for these words.
    assert [stem(w) for w in ["elections", "election", "timeouts", "expired"]] == [
        "elect", "elect", "timeout", "expir",
    ]  # fmt: skip
