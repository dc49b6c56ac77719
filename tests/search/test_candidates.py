"""The candidate stage on PostgreSQL: with the RUM index, and on the plain path without it.

Both paths must answer the same: phrases keep their word order, counts count every match
(not just the candidates that were scored), and a server without RUM still searches and says
so once. Speed is measured by benchmarks/search_latency.py, not here.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from search import rum
from tests.search.helpers import store

pytestmark = pytest.mark.django_db


def has_rum() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'rum'")
        return cursor.fetchone() is not None


@pytest.fixture(params=["rum", "plain"])
def path(request: Any, settings: Any) -> Iterator[str]:
    """Each test runs twice: on the RUM index, and on the path servers without it take."""
    if connection.vendor != "postgresql":
        pytest.skip("the candidate stage with RUM is PostgreSQL's")
    if request.param == "rum" and not has_rum():
        pytest.skip("this PostgreSQL has no RUM extension (apt-get install postgresql-15-rum)")
    settings.ONCE_SEARCH_RUM = request.param == "rum"
    rum.forget()
    yield request.param
    rum.forget()


@pytest.fixture
def kb(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda title, **fields: store(django_capture_on_commit_callbacks, title, **fields)


def search(client: Client, q: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/search/", {"q": q, **params})
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def titles(body: dict[str, Any]) -> list[str]:
    return [hit["title"] for hit in body["results"]]


def test_the_rum_index_is_used_when_the_server_has_it(path: str) -> None:
    assert rum.in_use() is (path == "rum")


def test_a_phrase_needs_its_words_adjacent_and_in_order(
    path: str, alice_client: Client, kb: Any
) -> None:
    kb("Leader election storm", summary="A leader election every minute.")
    kb("Election of a new leader", summary="The election picked a new leader.")
    kb("Leader nodes", body="The leader lost its lease; an election followed.")
    body = search(alice_client, '"leader election"')
    assert titles(body) == ["Leader election storm"]
    assert body["count"] == 1


def test_a_phrase_and_a_word_count_every_incident_with_either(
    path: str, alice_client: Client, kb: Any
) -> None:
    kb("Disk full on the primary", summary="The disk filled with WAL.")
    kb("Disk pressure evicted pods")
    kb("Full disk alarms", summary="Disk usage alarms.")  # "full disk", not "disk full"
    kb("Certificate expired")
    body = search(alice_client, '"disk full" certificate')
    assert set(titles(body)) == {"Disk full on the primary", "Certificate expired"}
    assert body["count"] == 2


def test_counts_count_matches_that_were_not_scored(
    path: str, alice_client: Client, kb: Any, monkeypatch: Any
) -> None:
    # With more matches than candidates, only the rarer word selects candidates; the count
    # still covers every incident with either word.
    monkeypatch.setattr("search.backends.postgresql.CANDIDATES", 3)
    for n in range(5):
        kb(f"Redis failover {n}")
    kb("Redis lost its etcd lease")
    kb("etcd quorum lost")
    body = search(alice_client, "etcd redis")
    assert body["count"] == 7 and body["count_capped"] is False
    assert titles(body)[0] == "Redis lost its etcd lease"
    assert set(titles(body)[:2]) == {"Redis lost its etcd lease", "etcd quorum lost"}


def test_excluded_words_leave_out_matches_on_both_paths(
    path: str, alice_client: Client, kb: Any
) -> None:
    kb("etcd slow on EBS", summary="Volume latency.")
    kb("etcd slow on local disks")
    body = search(alice_client, "etcd -ebs")
    assert titles(body) == ["etcd slow on local disks"] and body["count"] == 1


def test_without_the_index_search_still_answers_and_warns_once(
    alice_client: Client, kb: Any, settings: Any, caplog: Any
) -> None:
    if connection.vendor != "postgresql" or not has_rum():
        pytest.skip("needs PostgreSQL with the RUM extension")
    # A server where the extension was never installed: the migration kept the GIN index.
    settings.ONCE_SEARCH_RUM = True
    rum.drop_rum_index(connection)  # undone with the test's transaction
    kb("Leader election storm")
    kb("Election of a new leader")
    with caplog.at_level(logging.WARNING, logger="search.rum"):
        assert titles(search(alice_client, '"leader election"')) == ["Leader election storm"]
        assert len(search(alice_client, "leader")["results"]) == 2
    warnings = [r for r in caplog.records if "without the RUM index" in r.getMessage()]
    assert len(warnings) == 1
    assert rum.in_use() is False
    rum.forget()


def test_the_index_can_be_built_later(alice_client: Client, kb: Any, settings: Any) -> None:
    if connection.vendor != "postgresql" or not has_rum():
        pytest.skip("needs PostgreSQL with the RUM extension")
    settings.ONCE_SEARCH_RUM = True
    rum.drop_rum_index(connection)
    kb("Leader election storm")
    with connection.cursor() as cursor:  # as after a commit: no foreign-key checks pending
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    out = io.StringIO()
    call_command("rebuild_search_index", "--rum", stdout=out)
    assert "Built the RUM index" in out.getvalue()
    assert rum.in_use() is True
    assert titles(search(alice_client, '"leader election"')) == ["Leader election storm"]
    rum.forget()
