"""Words written as compounds are found by their parts, and typed compounds find them.

Issue 14: on PostgreSQL `HTTP/1.1`, `503` and `logo.png` found nothing although incidents said
them, because the index kept PostgreSQL's whole tokens (`http/1.1`, `503s`, `logo.png`) while
the query was split into pieces. Documents and queries now split compounds the same way
(search.text.compound_parts), on both backends (`make test` runs this module on SQLite too).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.search.helpers import store

pytestmark = pytest.mark.django_db


def found(client: Client, q: str) -> list[str]:
    response = client.get("/api/search/", {"q": q})
    assert response.status_code == 200, response.content
    return [hit["title"] for hit in response.json()["results"]]


@pytest.fixture
def kb(django_capture_on_commit_callbacks: Any) -> Any:
    def add(title: str, **fields: Any) -> None:
        store(django_capture_on_commit_callbacks, title, **fields)

    add(
        "Edge proxy dropped keep-alive",
        body="Clients sent `GET /img/logo.png HTTP/1.1` and got 503s for ten minutes.",
    )
    add("CoreDNS upgrade broke lookups", summary="Lookups timed out after the upgrade.")
    add("kube-dns pods evicted", summary="Name lookups failed cluster-wide.")
    add("Quiet control", summary="Nothing about any of the words searched for here.")
    return add


@pytest.mark.parametrize("query", ["HTTP/1.1", "http/1.1", "503", "503s", "logo.png", "logo png"])
def test_what_a_log_line_says_finds_the_incident(alice_client: Client, kb: Any, query: str) -> None:
    assert found(alice_client, query) == ["Edge proxy dropped keep-alive"]


def test_a_part_of_a_compound_name_finds_it(alice_client: Client, kb: Any) -> None:
    assert set(found(alice_client, "dns")) == {
        "CoreDNS upgrade broke lookups",
        "kube-dns pods evicted",
    }
    assert found(alice_client, "coredns") == ["CoreDNS upgrade broke lookups"]
    assert found(alice_client, "kube-dns")[0] == "kube-dns pods evicted"


def test_a_compound_typed_is_one_thing_not_its_parts_anywhere(
    alice_client: Client, kb: Any
) -> None:
    # "png" alone and "logo" alone occur elsewhere; "logo.png" asks for them together.
    kb("Logo missing from the status page", summary="A png export of the logo was empty.")
    assert found(alice_client, "logo.png")[0] == "Edge proxy dropped keep-alive"
