"""Search reads go to the read replica (DATABASE_REPLICA_URL); writes never do.

`make test` has no streaming replica (that needs a second PostgreSQL server): the replica here
is a second database on the same server, made once from the migrated test database, that the test fills with the primary's
rows when it wants the replica to catch up (`catch_up`), the way streaming replication would.
Between two catch-ups the replica lags, as a real one may. docs/operations.md, "A read replica
for search", and benchmarks/streaming_replica_demo.sh for a real one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from copy import deepcopy
from typing import Any

import psycopg
import pytest
from django.contrib.auth.models import User
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from incidents.models import Incident
from search.models import SearchDocument, SearchWord
from search.routing import REPLICA
from tests.search.helpers import store

pytestmark = [
    pytest.mark.django_db(databases=[DEFAULT_DB_ALIAS, REPLICA]),
    # A read replica is PostgreSQL's (DATABASE_REPLICA_URL must be PostgreSQL): `make test`
    # runs tests/search a second time on SQLite, where there is none to read.
    pytest.mark.skipif(
        connections[DEFAULT_DB_ALIAS].vendor != "postgresql",
        reason="a read replica needs PostgreSQL",
    ),
]

COPIED = [User, Incident, SearchDocument, SearchWord]  # what ranking and snippets read


def _admin_url(settings: dict[str, Any]) -> str:
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    return f"postgresql://{settings['USER']}@{host}:{port}/postgres"


@pytest.fixture(scope="module", autouse=True)
def replica(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """DATABASE_REPLICA_URL set for this module's tests: a second database with the primary's
    schema, copied from the migrated test database as a template (what a base backup gives a
    replica). Each test's writes to it roll back with the test, as the primary's do."""
    primary = connections[DEFAULT_DB_ALIAS].settings_dict
    config = deepcopy(primary)
    config["NAME"] = f"{primary['NAME']}_replica"
    with django_db_blocker.unblock():
        connections.close_all()  # a template database must have no other connection
        with psycopg.connect(_admin_url(primary), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}"')
            admin.execute(f'CREATE DATABASE "{config["NAME"]}" TEMPLATE "{primary["NAME"]}"')
    connections.settings[REPLICA] = config
    try:
        yield
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del connections.settings[REPLICA]
        with psycopg.connect(_admin_url(primary), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}" WITH (FORCE)')


def catch_up() -> None:
    """Make the replica hold what the primary holds now (streaming replication's job)."""
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred check may be pending
        cursor.execute(f"TRUNCATE {', '.join(m._meta.db_table for m in COPIED)} CASCADE")
    for model in COPIED:
        rows = list(model._default_manager.using(DEFAULT_DB_ALIAS).all())
        model._default_manager.using(REPLICA).bulk_create(rows)
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def titles(client: Client, q: str) -> list[str]:
    response = client.get("/api/search/", {"q": q})
    assert response.status_code == 200, response.content
    return [hit["title"] for hit in response.json()["results"]]


def touches_search_tables(queries: list[dict[str, str]]) -> list[str]:
    return [q["sql"] for q in queries if "search_document" in q["sql"] or "search_word" in q["sql"]]


def test_search_reads_the_replica_and_a_lagging_replica_finds_a_new_edit_later(
    alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    incident = store(django_capture_on_commit_callbacks, "Etcd lost quorum after a disk stall")
    catch_up()

    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
    ):
        assert titles(alice_client, "quorum") == ["Etcd lost quorum after a disk stall"]
    # The ranking, count and snippet queries ran on the replica, and none of them on the primary
    # (which answered who may see what, and the incident shown).
    assert touches_search_tables(on_replica.captured_queries)
    assert touches_search_tables(on_primary.captured_queries) == []

    # A save goes to the primary only; until the replica catches up, search doesn't know it.
    current = alice_client.get(f"/api/incidents/{incident.pk}/").json()
    with (
        CaptureQueriesContext(connections[REPLICA]) as during_save,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = alice_client.patch(
            f"/api/incidents/{incident.pk}/",
            {"version": current["version"], "summary": "The kestrel volume filled up."},
            content_type="application/json",
        )
    assert response.status_code == 200, response.content
    assert during_save.captured_queries == []
    assert "kestrel" in SearchDocument.objects.get(incident=incident).summary  # on the primary
    assert titles(alice_client, "kestrel") == []
    catch_up()
    assert titles(alice_client, "kestrel") == ["Etcd lost quorum after a disk stall"]


def test_the_search_page_reads_the_replica_too(
    alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    store(django_capture_on_commit_callbacks, "Certificate expiry took down the ingress")
    catch_up()
    store(django_capture_on_commit_callbacks, "Certificate rotation stalled the mesh")

    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        html = alice_client.get("/search/", {"q": "certificate"}).content.decode()
    page = re.sub(r"<[^>]+>", "", html)  # the words searched for are <mark>ed
    assert "Certificate expiry took down the ingress" in page
    assert "Certificate rotation stalled the mesh" not in page  # not streamed yet
    assert touches_search_tables(on_replica.captured_queries)


def test_a_failing_replica_leaves_search_to_the_primary(
    alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    store(django_capture_on_commit_callbacks, "Kafka consumer lag after a rebalance")
    with connections[REPLICA].cursor() as cursor:  # undone with the test's transaction
        cursor.execute("DROP TABLE search_document CASCADE")

    assert titles(alice_client, "rebalance") == ["Kafka consumer lag after a rebalance"]
