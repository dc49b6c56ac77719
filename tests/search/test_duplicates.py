"""Search and duplicates, on both backends (PRODUCT.md, "Writing, duplicates and importing
Markdown" and "Who may see and change what"): a duplicate leaves search for those who see its
original, and is found like any incident by those the original is hidden from."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from incidents.actions import mark_duplicate, save_incident
from incidents.models import Incident
from remediations.records import clean_report
from search.index import rebuild_all
from tests.search.helpers import store

pytestmark = pytest.mark.django_db


@pytest.fixture
def kb(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda title, **fields: store(django_capture_on_commit_callbacks, title, **fields)


@pytest.fixture
def world(kb: Any, bob: User, django_capture_on_commit_callbacks: Any) -> dict[str, Incident]:
    bob.groups.add(Group.objects.create(name="Security"))
    original = kb("Signing keys rotated", visibility="restricted", access_groups=["Security"])
    copy = kb("Checkout quokka errors", summary="Quokka: every signature refused.")
    public = kb("Payments quokka outage")
    twin = kb("Quokka twin of the public one")
    with django_capture_on_commit_callbacks(execute=True):
        mark_duplicate(copy, original.pk, by=bob, expected_version=copy.version)
        mark_duplicate(twin, public.pk, by=bob, expected_version=twin.version)
    return {"original": original, "copy": copy, "public": public, "twin": twin}


def found(client: Client, text: str = "quokka") -> set[int]:
    api = {r["id"] for r in client.get(f"/api/search/?q={text}").json()["results"]}
    page = client.get(f"/search/?q={text}").content.decode()
    assert all(f'href="/incidents/{pk}/"' in page for pk in api)
    return api


def test_a_duplicate_of_a_hidden_original_is_found_by_those_it_is_hidden_from(
    alice_client: Client, bob_client: Client, world: dict[str, Incident]
) -> None:
    ids = {name: incident.pk for name, incident in world.items()}
    # Alice can't see the original: its duplicate is an incident like any other for her.
    assert found(alice_client) == {ids["copy"], ids["public"]}
    # Bob sees the original: both duplicates leave his search.
    assert found(bob_client) == {ids["public"]}
    assert ids["copy"] not in {
        r["id"] for r in bob_client.get("/api/search/?q=signature").json()["results"]
    }
    # A rebuild of the index gives the same.
    rebuild_all()
    assert found(alice_client) == {ids["copy"], ids["public"]}
    assert found(bob_client) == {ids["public"]}


def test_an_original_made_public_takes_its_duplicate_out_of_everyones_search(
    alice_client: Client, bob: User, world: dict[str, Incident],
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    original = world["original"]
    raw = {"title": original.title, "started_at": "2024-01-10T10:00:00Z", "visibility": "everyone"}
    with django_capture_on_commit_callbacks(execute=True):
        save_incident(
            original, clean_report(raw, by=bob, incident=original), by=bob,
            expected_version=original.version,
        )  # fmt: skip
    assert found(alice_client) == {world["public"].pk}
