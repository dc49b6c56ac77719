"""Snippets that help (issue 16, item 3): a title-only match quotes the summary's opening and
marks the title; a snippet never repeats a sentence; an empty result caused by `-word` says so.
Run on both backends (`make test` runs tests/search on SQLite too)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.search.helpers import store

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def kb(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda title, **fields: store(django_capture_on_commit_callbacks, title, **fields)


def test_a_title_only_match_quotes_the_summary_and_marks_the_title(
    alice_client: Client, kb: Any
) -> None:
    kb(
        "Quorum lost in the control plane",
        summary="Writes stalled for twenty minutes while members disagreed.",
        body="## Impact\n\nDeploys waited. Nothing else was affected.",
    )
    page = alice_client.get("/search/", {"q": "quorum"}).content.decode()
    assert "<mark>Quorum</mark> lost in the control plane</a>" in page
    assert '<p class="snippet">Writes stalled for twenty minutes' in page


def test_a_snippet_never_repeats_a_sentence(alice_client: Client, kb: Any) -> None:
    sentence = "The scratch disk on the build hosts filled up overnight."
    kb(
        "Builds failed",
        summary=sentence,
        body=f"## Summary\n\n{sentence}\n\n## Impact\n\n{sentence} Builds failed for an hour.",
    )
    snippet = alice_client.get("/api/search/", {"q": "scratch disk"}).json()["results"][0][
        "snippet"
    ]
    plain = snippet.replace("<mark>", "").replace("</mark>", "")
    assert plain.count("filled up overnight") == 1, snippet


def test_an_exclusion_that_removed_every_match_says_so(alice_client: Client, kb: Any) -> None:
    kb("etcd quorum lost", summary="Members missed heartbeats.")
    kb("etcd leader elections", summary="Quorum held, but elections repeated.")
    page = alice_client.get("/search/", {"q": "etcd -quorum"}).content.decode()
    assert "2 incidents match these words, but every one mentions “quorum”" in page
    assert "which you left out with “-”" in page
    # Without an exclusion, the usual message.
    plain = alice_client.get("/search/", {"q": "zookeeper"}).content.decode()
    assert "No incident mentions any of these words" in plain
    assert "which you left out" not in plain


def test_a_results_service_tags_lead_to_the_service_pages(alice_client: Client, kb: Any) -> None:
    incident = kb("etcd leader elections", services=["etcd", "EBS"])
    page = alice_client.get("/search/", {"q": "elections"}).content.decode()
    for service in incident.services.all():
        assert f'<a class="tag service" href="/services/{service.pk}/">{service.name}</a>' in page


@pytest.mark.parametrize(
    ("q", "named"),
    [("-etcd", "(“etcd”)"), ('-etcd -"leader election"', "(“etcd”, “leader election”)")],
)
def test_a_query_of_only_exclusions_says_the_exclusions_left_nothing_to_look_for(
    q: str, named: str, alice_client: Client, kb: Any
) -> None:
    kb("etcd quorum lost", summary="Members missed heartbeats.")
    kb("Database failover", summary="The primary database restarted.")
    page = alice_client.get("/search/", {"q": q}).content.decode()
    assert f"Every word here is left out with “-” {named}, so nothing is left to look for" in page
    assert "finds the incidents that mention database but not “etcd”" in page
    assert "No incident mentions any of these words" not in page
    # With a word to look for, the exclusion leaves out what mentions it.
    found = alice_client.get("/search/", {"q": "database -etcd"}).content.decode()
    assert "failover</a>" in found and "quorum lost" not in found


def test_words_found_through_the_thesaurus_or_a_compound_are_marked_like_the_words_typed(
    alice_client: Client, kb: Any
) -> None:
    kb(
        "Proxy rules lost after a node restart",
        summary="Service traffic stopped on two nodes.",
        services=["kube-proxy"],
        categories=["Orchestration > kube scheduling"],
    )
    kb("Lookups failed", summary="The CoreDNS pods restarted in a loop.")
    kb("Workers killed", summary="The batch workers ran out of memory at noon.")

    page = alice_client.get("/search/", {"q": "kubernetes"}).content.decode()
    assert "<mark>kube</mark>-proxy</a>" in page  # the service tag
    assert '<span class="tag">Orchestration &gt; <mark>kube</mark> scheduling</span>' in page

    found = alice_client.get("/api/search/", {"q": "dns"}).json()["results"]
    (lookups,) = [r for r in found if r["title"] == "Lookups failed"]  # marks, not ranks
    assert "The <mark>CoreDNS</mark> pods restarted" in lookups["snippet"]
    page = alice_client.get("/search/", {"q": "oom"}).content.decode()
    assert "ran <mark>out</mark> <mark>of</mark> <mark>memory</mark> at noon" in page
    # The words of a several-word equivalent are marked only together.
    page = alice_client.get("/search/", {"q": "dns"}).content.decode()
    assert "<mark>of</mark>" not in page


def test_a_report_that_mentions_html_tags_is_found_by_them_and_quoted_as_written(
    alice_client: Client, kb: Any
) -> None:
    # The reading view shows raw HTML as text; search and its snippet see what the reader sees.
    kb(
        "Sanitizer gaps in the wiki importer",
        body="## Impact\n\nThe importer let <script> and <style> blocks through to the glorp cache.",
    )
    # PostgreSQL's parser read "<script>" as markup: it dropped the tag and every word after it.
    for words in ("script", "style", "glorp cache"):
        results = alice_client.get("/api/search/", {"q": words}).json()["results"]
        assert [r["title"] for r in results] == ["Sanitizer gaps in the wiki importer"], words
    snippet = alice_client.get("/api/search/", {"q": "glorp"}).json()["results"][0]["snippet"]
    assert "let &lt;script&gt; and &lt;style&gt; blocks" in snippet, snippet
