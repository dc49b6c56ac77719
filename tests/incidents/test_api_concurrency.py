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
