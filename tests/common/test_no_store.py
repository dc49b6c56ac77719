"""Confidential pages carry `Cache-Control: no-store` (issue 13, item 6): every response to a
signed-in user, pages and API alike, so no browser cache or proxy keeps incident data after the
user signs out or loses access. Static files stay cacheable."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.api_helpers import api_client_for
from tests.common.test_login_required import ALL_PATHS
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def _no_store(response: object) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")  # type: ignore[attr-defined]


def test_an_incident_page_is_not_stored(alice_client: Client) -> None:
    incident = IncidentFactory(title="Leaked signing key")
    response = alice_client.get(reverse("incident_detail", args=[incident.pk]))
    assert response.status_code == 200
    assert _no_store(response)
    assert "private" in response["Cache-Control"]


def test_the_api_signed_in_by_token_is_not_stored(alice: User) -> None:
    incident = IncidentFactory()
    api = api_client_for(alice)
    for path in (f"/api/incidents/{incident.pk}/", "/api/incidents/", "/api/search/?q=disk"):
        response = api.get(path)
        assert response.status_code == 200, path
        assert _no_store(response), path


def test_search_results_are_not_stored(alice_client: Client) -> None:
    IncidentFactory(title="etcd lost quorum")
    response = alice_client.get(reverse("search"), {"q": "etcd"})
    assert response.status_code == 200
    assert _no_store(response)


def test_error_pages_for_a_signed_in_user_are_not_stored_either(alice_client: Client) -> None:
    assert _no_store(alice_client.get("/incidents/999999/"))
    assert _no_store(alice_client.get("/api/incidents/999999/"))


@pytest.mark.parametrize("path", ALL_PATHS)
def test_every_page_a_signed_in_user_gets_is_not_stored(alice_client: Client, path: str) -> None:
    # The walk of every URL pattern (most example ids answer 404, which is a page too): a page
    # added later is covered without being listed anywhere.
    response = alice_client.get(path)
    assert _no_store(response), f"{path} answered {response.status_code} without no-store"


def test_static_files_stay_cacheable(alice_client: Client) -> None:
    response = alice_client.get("/static/css/once.css")
    assert response.status_code == 200
    assert not _no_store(response)
