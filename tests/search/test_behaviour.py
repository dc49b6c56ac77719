"""What search does, on whichever database runs the tests.

`make test` runs this module twice: on PostgreSQL (tsvector + pg_trgm) with the rest of the
suite, and on SQLite (FTS5) on its own. Each test states behaviour a user relies on.
"""

from __future__ import annotations

import html
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.backends import base as backend_base
from tests.search.helpers import store

pytestmark = pytest.mark.django_db


def found(client: Client, q: str, **params: Any) -> list[str]:
    response = client.get("/api/search/", {"q": q, **params})
    assert response.status_code == 200, response.content
    return [hit["title"] for hit in response.json()["results"]]


@pytest.fixture
def kb(django_capture_on_commit_callbacks: Any) -> Any:
    """A small knowledge base: `kb(title, **fields)` stores and indexes one incident."""
    return lambda title, **fields: store(django_capture_on_commit_callbacks, title, **fields)


def test_any_word_matches_and_more_matched_words_rank_higher(alice_client: Client, kb: Any) -> None:
    kb("etcd quorum lost", summary="Members missed heartbeats.")
    kb("etcd leader elections on slow EBS volumes", summary="Leader elections every minute.")
    kb("EBS snapshot slowed writes")
    # No incident has every word, and a word nobody used must not empty the result either.
    titles = found(alice_client, "etcd EBS leader elections zebrafish")
    assert titles[0] == "etcd leader elections on slow EBS volumes"
    assert set(titles) == {
        "etcd quorum lost",
        "etcd leader elections on slow EBS volumes",
        "EBS snapshot slowed writes",
    }


def test_title_outweighs_summary_and_summary_outweighs_body(alice_client: Client, kb: Any) -> None:
    kb("Checkout errors", body="Later we found the conntrack table was full.")
    kb("Payment latency", summary="The conntrack table filled up on every node.")
    kb("Conntrack table exhaustion on the edge nodes")
    assert found(alice_client, "conntrack") == [
        "Conntrack table exhaustion on the edge nodes",
        "Payment latency",
        "Checkout errors",
    ]


def test_categories_outweigh_the_summary(alice_client: Client, kb: Any) -> None:
    kb("Slow pages", summary="Somebody mentioned throttling in passing.")
    kb("Slow API", categories=["Capacity > Throttling"])
    assert found(alice_client, "throttling") == ["Slow API", "Slow pages"]


def test_rarer_words_count_more_than_common_ones(alice_client: Client, kb: Any) -> None:
    for n in range(6):
        kb(f"Database failover number {n}", summary="The database failed over.")
    kb("Database failover during a vacuum", summary="Autovacuum froze the primary.")
    kb("Deploy froze", summary="A vacuum job blocked the deploy.")
    titles = found(alice_client, "database vacuum")
    assert titles[0] == "Database failover during a vacuum"
    # "vacuum" is rare, "database" is everywhere: the vacuum-only incident beats database-only.
    assert titles.index("Deploy froze") < titles.index("Database failover number 0")


def test_stemming_finds_other_forms_of_a_word(alice_client: Client, kb: Any) -> None:
    kb("Repeated leader election", summary="The cluster was electing a new leader constantly.")
    assert found(alice_client, "elections") == ["Repeated leader election"]
    assert found(alice_client, "elected") == ["Repeated leader election"]


def test_quoted_phrase_needs_the_words_together_in_order(alice_client: Client, kb: Any) -> None:
    kb("Leader election storm", summary="A leader election every minute.")
    kb("Election of a new leader", summary="The election picked a new leader.")
    assert found(alice_client, '"leader election"') == ["Leader election storm"]


def test_minus_word_leaves_out_incidents_that_mention_it(alice_client: Client, kb: Any) -> None:
    kb("etcd slow on EBS", summary="Volume latency.")
    kb("etcd out of space", summary="Quota reached.")
    assert found(alice_client, "etcd -ebs") == ["etcd out of space"]
    assert found(alice_client, 'etcd -"out of space"') == ["etcd slow on EBS"]


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("kubernets dns timout", "Kubernetes DNS timeout after node upgrade"),
        ("certficate expird", "Certificate expired on the load balancer"),
        ("postgress replcation lag", "Postgres replication lag"),
    ],
)
def test_typos_still_find_the_incident(
    alice_client: Client, kb: Any, query: str, title: str
) -> None:
    kb("Kubernetes DNS timeout after node upgrade", summary="Lookups failed with a timeout.")
    kb("Certificate expired on the load balancer", summary="Clients saw the certificate expired.")
    kb("Postgres replication lag", summary="Replication fell behind by an hour.")
    kb("Unrelated billing bug", summary="Invoices were wrong.")
    response = alice_client.get("/api/search/", {"q": query})
    assert response.json()["results"][0]["title"] == title
    assert response.json()["corrections"], "the page should say what else it searched for"


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("k8s upgrade", "The kubernetes upgrade stalled"),
        ("kubernetes", "Our k8s control plane stalled"),
        ("OOM", "The JVM ran out of memory"),
        ("out of memory", "Pods were OOMKilled in a loop"),
        ("disk full", "no space left on device"),
        ("database failover", "The db failed over"),
        ("LB", "The load balancer dropped connections"),
        ("cert", "An expired certificate"),
        ("tls handshake", "SSL handshake failures"),
    ],
)
def test_thesaurus_finds_the_same_thing_said_differently(
    alice_client: Client, kb: Any, query: str, text: str
) -> None:
    kb("The incident", summary=text)
    kb("Something else", summary="Nothing alike here.")
    assert found(alice_client, query) == ["The incident"]


def test_causes_timeline_services_and_remediations_are_searched(
    alice_client: Client, kb: Any
) -> None:
    kb(
        "Checkout outage",
        services=["Envoy"],
        causes=[{"kind": "trigger", "description": "A bad xds push"}],
        timeline=[{"at": "2024-01-10T10:05:00Z", "text": "Rolled back the flagd change"}],
        remediations=[{"title": "Canary the mesh config", "description": "Use the quokka gate."}],
    )
    for word in ("envoy", "xds", "flagd", "canary", "quokka"):
        assert found(alice_client, word) == ["Checkout outage"], word


def test_snippet_escapes_user_text_and_only_adds_mark(alice_client: Client, kb: Any) -> None:
    kb("Markup", summary='<img src=x onerror=alert(1)> the "etcd" & <b>friends</b>')
    hit = alice_client.get("/api/search/", {"q": "etcd"}).json()["results"][0]
    assert "<img" not in hit["snippet"] and "<b>" not in hit["snippet"]
    assert "<mark>etcd</mark>" in hit["snippet"]
    without_marks = hit["snippet"].replace("<mark>", "").replace("</mark>", "")
    assert "<" not in without_marks
    assert html.unescape(without_marks).count("<img src=x onerror=alert(1)>") == 1


def test_snippet_marks_what_was_asked_not_every_word_of_a_synonym(
    alice_client: Client, kb: Any
) -> None:
    kb("Lookups failing", summary="DNS lookups failed; the resolution came after a restart.")
    hit = alice_client.get("/api/search/", {"q": "dns"}).json()["results"][0]
    assert "<mark>DNS</mark>" in hit["snippet"]
    assert "<mark>resolution</mark>" not in hit["snippet"]  # "name resolution" means dns


def test_result_shape_is_the_one_product_md_promises(alice_client: Client, kb: Any) -> None:
    incident = kb(
        "etcd quorum", categories=["Control plane > etcd"], started_at="2018-06-01T10:00:00Z"
    )
    body = alice_client.get("/api/search/", {"q": "etcd"}).json()
    assert set(body) >= {"count", "next", "previous", "results"}
    hit = body["results"][0]
    assert hit["id"] == incident.pk
    assert hit["reference"] == incident.reference
    assert hit["url"] == f"/incidents/{incident.pk}/"
    assert hit["categories"] == ["Control plane > etcd"]
    assert hit["started_at"] == "2018-06-01T10:00:00Z"
    assert 0 < hit["score"] <= 1


def test_filters_narrow_the_search(alice_client: Client, kb: Any) -> None:
    kb("etcd in control plane", categories=["Control plane > etcd"], severity="SEV1")
    kb("etcd in storage", categories=["Storage"], severity="SEV3", started_at="2020-01-01")
    category = alice_client.get("/api/categories/").json()["results"]
    control_plane = next(c for c in category if c["path"] == "Control plane")
    assert found(alice_client, "etcd", category=control_plane["id"]) == ["etcd in control plane"]
    assert found(alice_client, "etcd", severity="SEV3") == ["etcd in storage"]
    assert found(alice_client, "etcd", started_before="2021-01-01") == ["etcd in storage"]


def test_newest_first_sorts_by_start(alice_client: Client, kb: Any) -> None:
    kb("etcd quorum lost", summary="etcd members down", started_at="2019-01-01")
    kb("Slow deploys", body="Traced to etcd.", started_at="2023-01-01")
    assert found(alice_client, "etcd") == ["etcd quorum lost", "Slow deploys"]
    assert found(alice_client, "etcd", sort="newest") == ["Slow deploys", "etcd quorum lost"]


def test_pages_follow_each_other(alice_client: Client, kb: Any) -> None:
    for n in range(5):
        kb(f"Redis failover {n}")
    first = alice_client.get("/api/search/", {"q": "redis", "limit": "2"}).json()
    second = alice_client.get(first["next"]).json()
    assert first["count"] == 5 and first["previous"] is None
    assert not {h["id"] for h in first["results"]} & {h["id"] for h in second["results"]}


def test_counts_stop_at_the_cap(alice_client: Client, kb: Any, monkeypatch: Any) -> None:
    for n in range(4):
        kb(f"Redis failover {n}")
    monkeypatch.setattr(backend_base, "COUNT_CAP", 3)
    monkeypatch.setattr("search.backends.postgresql.COUNT_CAP", 3, raising=False)
    monkeypatch.setattr("search.backends.sqlite.COUNT_CAP", 3)
    body = alice_client.get("/api/search/", {"q": "redis"}).json()
    assert body["count"] == 3 and body["count_capped"] is True
    page = alice_client.get("/search/", {"q": "redis"})
    assert "3+ incidents" in page.content.decode()


def test_failure_modes_that_the_query_names_are_offered(alice_client: Client, kb: Any) -> None:
    kb("Pods stuck", categories=["Containers don't start > IAM permissions"])
    body = alice_client.get("/api/search/", {"q": "pods not starting IAM"}).json()
    assert body["failure_modes"][0]["path"] == "Containers don't start > IAM permissions"
    page = alice_client.get("/search/", {"q": "pods not starting IAM"}).content.decode()
    assert "Failure modes" in page and "IAM permissions" in page


def test_bad_requests_are_explained(alice_client: Client) -> None:
    assert alice_client.get("/api/search/").json() == {"q": ["Type some words to search for."]}
    assert alice_client.get("/api/search/", {"q": "x" * 501}).status_code == 400
    response = alice_client.get("/api/search/", {"q": "etcd", "sort": "sideways"})
    assert response.status_code == 400 and "sort" in response.json()


@pytest.mark.django_db(transaction=True)  # committed: another session can lock the table
def test_a_search_that_takes_too_long_says_so(
    alice_client: Client, kb: Any, settings: Any, monkeypatch: Any
) -> None:
    kb("etcd quorum")
    settings.ONCE_SEARCH_TIMEOUT_MS = 50
    if connection.vendor == "postgresql":
        # Another session holds the index table: the search waits, and is cancelled.
        with psycopg.connect(**_libpq_params(), autocommit=False) as other:
            other.execute("SET lock_timeout = '5s'")  # never hang the suite
            other.execute("LOCK TABLE search_document IN ACCESS EXCLUSIVE MODE")
            response = alice_client.get("/api/search/", {"q": "etcd"})
            page = alice_client.get("/search/", {"q": "etcd"})
    else:
        # SQLite checks its deadline while the statement runs: let the clock run fast.
        clock = iter(range(0, 10**9, 1000))
        monkeypatch.setattr("search.backends.sqlite.time.monotonic", lambda: next(clock))
        response = alice_client.get("/api/search/", {"q": "etcd"})
        page = alice_client.get("/search/", {"q": "etcd"})
        monkeypatch.undo()
    assert response.status_code == 503
    assert "took too long" in response.json()["detail"]
    assert page.status_code == 503 and "took too long" in page.content.decode()
    settings.ONCE_SEARCH_TIMEOUT_MS = 3000
    assert found(alice_client, "etcd") == ["etcd quorum"]  # the next search is unaffected


def _libpq_params() -> dict[str, Any]:
    db = connection.settings_dict
    return {
        "dbname": db["NAME"], "user": db["USER"], "host": db["HOST"],
        "port": db["PORT"] or 5432, "password": db["PASSWORD"] or None,
    }  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.text(
        alphabet=st.sampled_from(list("abc etcd\"-*:()&|!^+~'\\NEARORAND{}[]<>;%_\u00e9\u4e2d")),
        min_size=1,
        max_size=40,
    )
)
def test_any_typed_text_gets_an_answer_not_an_error(alice_client: Client, text: str) -> None:
    # Full-text engines have query syntaxes of their own; nothing typed may reach them as syntax.
    response = alice_client.get("/api/search/", {"q": text})
    assert response.status_code in (200, 400), (text, response.content)
