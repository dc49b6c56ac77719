"""A read-only request works out who may see which failure modes once (common/middleware.py).

A search asks it twice (its filter form's category choices, and the failure modes the query
names): at 10,000 incidents that was about 60 ms of query building each time."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from common.middleware import memo_scope, request_memo
from incidents.models import FailureCategory
from tests.search.helpers import store

pytestmark = pytest.mark.django_db

HIDDEN_MODE_QUERY = 'SELECT "incidents_failurecategory"."path" AS "path"'


def _hidden_mode_lookups(client: Client, path: str, data: dict[str, Any]) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, data)
    assert response.status_code == 200
    lookups = sum(q["sql"].startswith(HIDDEN_MODE_QUERY) for q in queries.captured_queries)
    return lookups, response.content.decode()


def test_a_search_works_out_the_hidden_failure_modes_once_and_still_hides_them(
    django_capture_on_commit_callbacks: Any, alice: User, charlie_client: Client
) -> None:
    security = Group.objects.create(name="Security")
    store(
        django_capture_on_commit_callbacks, "Quokkabyte vault sealed itself",
        categories=["Quokkabyte > Vault"], visibility="restricted", access_groups=["Security"],
    )  # fmt: skip
    store(django_capture_on_commit_callbacks, "Vault latency", categories=["Storage > Disks"])
    assert security.user_set.count() == 0  # charlie is in no group: the mode is hidden

    lookups, body = _hidden_mode_lookups(charlie_client, "/api/search/", {"q": "vault"})
    # One working-out (its two queries) for the whole request, not one per question (4)…
    assert lookups == 2
    # …and what it found still hides the mode and the incident.
    assert "Quokkabyte" not in body and "Vault latency" in body
    lookups, body = _hidden_mode_lookups(charlie_client, "/search/", {"q": "vault"})
    assert lookups == 2 and "Quokkabyte" not in body


def test_only_a_read_only_request_has_a_memo_and_it_ends_with_it() -> None:
    assert request_memo() is None  # a task, a command, a test: worked out every time
    with memo_scope() as memo:
        assert request_memo() is memo
        FailureCategory.objects.visible_to(None)  # the system: nothing to work out
    assert request_memo() is None


def test_a_search_by_someone_nothing_is_hidden_from_works_nothing_out(
    django_capture_on_commit_callbacks: Any, alice: User, charlie_client: Client
) -> None:
    """Everything that may be hidden is hidden because of a hidden incident: once the search
    found none hidden from charlie, failure modes and services need no working-out."""
    store(django_capture_on_commit_callbacks, "Vault latency", categories=["Storage > Disks"])

    lookups, body = _hidden_mode_lookups(charlie_client, "/api/search/", {"q": "vault"})
    assert lookups == 0 and "Vault latency" in body


def test_an_api_call_that_does_not_filter_by_failure_mode_does_not_work_them_out(
    django_capture_on_commit_callbacks: Any, alice: User, charlie_client: Client
) -> None:
    store(
        django_capture_on_commit_callbacks, "Quokkabyte vault sealed itself",
        categories=["Quokkabyte > Vault"], visibility="restricted",
    )  # fmt: skip
    lookups, _ = _hidden_mode_lookups(charlie_client, "/api/incidents/", {})
    assert lookups == 0
    # Filtering by one still checks it against the modes charlie may see.
    hidden = FailureCategory.objects.get(path="Quokkabyte > Vault")
    response = charlie_client.get("/api/incidents/", {"category": hidden.pk})
    assert response.status_code == 400
