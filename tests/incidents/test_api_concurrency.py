"""N clients PATCH the same incident with the same version at once: exactly one wins.

Real concurrent HTTP requests to a live server, each in its own database connection, on
PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests

from incidents.models import Incident
from tests.api_helpers import api_key_for
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 8


def test_parallel_patches_with_the_same_version_let_exactly_one_through(live_server: Any) -> None:
    token = api_key_for(UserFactory(username="alice"))
    incident = IncidentFactory(title="Original")
    url = f"{live_server.url}/api/incidents/{incident.pk}/"
    start = threading.Barrier(CLIENTS)
    statuses: list[int] = []

    def patch(n: int) -> None:
        start.wait()  # all requests leave together
        response = requests.patch(
            url, json={"title": f"Writer {n}", "version": 1},
            headers={"Authorization": f"Token {token}"}, timeout=30,
        )  # fmt: skip
        statuses.append(response.status_code)

    threads = [threading.Thread(target=patch, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [409] * (CLIENTS - 1)
    incident.refresh_from_db()
    assert incident.version == 2 and incident.title.startswith("Writer ")
    assert Incident.history.filter(id=incident.pk).count() == 2  # created, then one update


def _race(requests_to_send: list[tuple[str, dict[str, Any]]], token: str) -> list[int]:
    """PATCH each (url, body) at the same moment, each in its own connection; the statuses."""
    start = threading.Barrier(len(requests_to_send))
    statuses: list[int] = []

    def patch(url: str, body: dict[str, Any]) -> None:
        start.wait()
        response = requests.patch(
            url, json=body, headers={"Authorization": f"Token {token}"}, timeout=30
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=patch, args=pair) for pair in requests_to_send]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


ROUNDS = 4  # each round a fresh pair: without the lock every round made a cycle


def test_marking_two_incidents_duplicates_of_each_other_at_once_leaves_no_cycle(
    live_server: Any,
) -> None:
    alice = UserFactory(username="alice")
    token = api_key_for(alice)
    browser = requests.Session()
    browser.headers["Authorization"] = f"Token {token}"
    for _ in range(ROUNDS):
        a, b = IncidentFactory(title="Checkout 502s"), IncidentFactory(title="Payments 502s")
        url = f"{live_server.url}/api/incidents/"
        statuses = _race(
            [
                (f"{url}{a.pk}/", {"version": a.version, "duplicate_of": b.pk}),
                (f"{url}{b.pk}/", {"version": b.version, "duplicate_of": a.pk}),
            ],
            token,
        )
        assert sorted(statuses) == [200, 400]  # the second is told it would make a cycle
        a.refresh_from_db()
        b.refresh_from_db()
        assert {a.duplicate_of_id, b.duplicate_of_id} in ({None, a.pk}, {None, b.pk})
        # Both addresses still lead to a page: the original's (no endless redirect).
        for incident in (a, b):
            page = browser.get(f"{url}{incident.pk}/", timeout=30)
            assert page.status_code == 200


def test_marking_a_duplicate_of_an_incident_being_marked_a_duplicate_leaves_no_chain(
    live_server: Any,
) -> None:
    token = api_key_for(UserFactory(username="alice"))
    for _ in range(ROUNDS):
        a, b, c = (IncidentFactory(title=f"Payments 502s {n}") for n in "abc")
        url = f"{live_server.url}/api/incidents/"
        statuses = _race(
            [
                (f"{url}{a.pk}/", {"version": a.version, "duplicate_of": b.pk}),
                (f"{url}{b.pk}/", {"version": b.version, "duplicate_of": c.pk}),
            ],
            token,
        )
        assert statuses == [200, 200]
        # A duplicate's original is never itself a duplicate: both now name C.
        assert set(
            Incident.objects.filter(pk__in=[a.pk, b.pk]).values_list("duplicate_of", flat=True)
        ) == {c.pk}
