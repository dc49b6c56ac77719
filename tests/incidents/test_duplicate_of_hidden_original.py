"""A public incident marked a duplicate of a restricted one (issue 15, item 5; PRODUCT.md, "Who
may see and change what" and "Writing, duplicates and importing Markdown").

For someone who may not see the original, the duplicate is an incident like any other: it is
listed, counted, found and shown without a redirect, and its `duplicate_of` reads null. A null
(or nothing) written back by them keeps the link they were not shown; naming an original they
see marks it a duplicate of that one; naming one they can't see is refused without a clue.
For those who see the original, the duplicate leaves lists, counts and the agenda as before.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from incidents.actions import mark_duplicate
from incidents.models import FailureCategory, Incident, Service
from tests.search.helpers import store

pytestmark = pytest.mark.django_db


@pytest.fixture
def kb(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda title, **fields: store(django_capture_on_commit_callbacks, title, **fields)


@pytest.fixture
def original(kb: Any, bob: User) -> Incident:
    """Restricted to Security, of which bob is a member (alice and charlie are not)."""
    bob.groups.add(Group.objects.create(name="Security"))
    return kb(
        "Signing keys rotated by an intruder",
        visibility="restricted",
        access_groups=["Security"],
        categories=["Security > Keys"],
        services=["Payments"],
    )


@pytest.fixture
def copy(kb: Any, original: Incident, bob: User, django_capture_on_commit_callbacks: Any) -> Any:
    """A public incident bob marked as a duplicate of the restricted original."""
    incident = kb(
        "Checkout quokka errors",
        summary="Quokka: payments refused every signature.",
        categories=["Security > Keys"],
        services=["Payments"],
    )
    with django_capture_on_commit_callbacks(execute=True):
        mark_duplicate(incident, original.pk, by=bob, expected_version=incident.version)
    incident.refresh_from_db()
    return incident


def api(client: Client, method: str, incident: Incident, body: dict[str, Any]) -> Any:
    return getattr(client, method)(
        f"/api/incidents/{incident.pk}/", body, content_type="application/json"
    )


def test_the_api_gives_null_for_an_original_the_reader_may_not_see(
    alice_client: Client, bob_client: Client, copy: Incident, original: Incident
) -> None:
    assert alice_client.get(f"/api/incidents/{copy.pk}/").json()["duplicate_of"] is None
    assert bob_client.get(f"/api/incidents/{copy.pk}/").json()["duplicate_of"] == original.pk
    # In the list too (where, for alice, the duplicate is an incident like any other).
    listed = alice_client.get("/api/incidents/?limit=200").json()["results"]
    assert [i["duplicate_of"] for i in listed if i["id"] == copy.pk] == [None]
    assert f"{original.pk}" not in str([i["duplicate_of"] for i in listed])


def test_a_get_then_put_of_the_same_body_keeps_the_hidden_link(
    alice_client: Client, copy: Incident, original: Incident
) -> None:
    body = alice_client.get(f"/api/incidents/{copy.pk}/").json()
    del body["remediations"]  # changed at /api/remediations/, refused in an update
    body["title"] = "Checkout quokka errors (all regions)"
    response = api(alice_client, "put", copy, body)
    assert response.status_code == 200, response.json()
    assert response.json()["duplicate_of"] is None
    copy.refresh_from_db()
    assert copy.title.endswith("(all regions)") and copy.duplicate_of_id == original.pk
    # A PATCH that leaves it out keeps it too.
    copy_version = api(alice_client, "get", copy, {}).json()["version"]
    response = api(alice_client, "patch", copy, {"version": copy_version, "summary": "Quokka."})
    assert response.status_code == 200
    copy.refresh_from_db()
    assert copy.duplicate_of_id == original.pk


def test_naming_an_original_they_see_marks_it_a_duplicate_of_that_one(
    alice_client: Client, kb: Any, copy: Incident
) -> None:
    older = kb("Payments refused signatures in 2019", started_at="2019-05-01T10:00:00Z")
    response = api(alice_client, "patch", copy, {"version": copy.version, "duplicate_of": older.pk})
    assert response.status_code == 200 and response.json()["duplicate_of"] == older.pk
    copy.refresh_from_db()
    assert copy.duplicate_of_id == older.pk


def test_naming_an_original_they_cannot_see_is_refused_without_a_clue(
    alice_client: Client, kb: Any, copy: Incident, original: Incident
) -> None:
    for named in (original.pk, 987654321):  # the stored hidden one, one that doesn't exist
        response = api(
            alice_client, "patch", copy, {"version": copy.version, "duplicate_of": named}
        )
        assert response.status_code == 400
        assert response.json()["duplicate_of"] == [
            f"This field names no incident you can see (INC-{named})."
        ]
    copy.refresh_from_db()
    assert copy.duplicate_of_id == original.pk


def test_the_page_does_not_pretend_to_unmark_for_someone_who_cannot_see_the_original(
    alice_client: Client, bob_client: Client, copy: Incident, original: Incident
) -> None:
    page = alice_client.get(f"/incidents/{copy.pk}/duplicate/").content.decode()
    assert 'name="unmark"' not in page and "Only someone who may see that incident" in page
    for data in ({"unmark": "1"}, {"original": ""}):
        response = alice_client.post(
            f"/incidents/{copy.pk}/duplicate/", {"version": copy.version, **data}
        )
        assert response.status_code == 400
        text = response.content.decode().replace("&#x27;", "'")
        assert "only someone who may see that incident can un-mark it" in text
        assert f"INC-{original.pk}" not in text
    copy.refresh_from_db()
    assert copy.duplicate_of_id == original.pk
    # Bob, who sees the original, un-marks it.
    assert 'name="unmark"' in bob_client.get(f"/incidents/{copy.pk}/duplicate/").content.decode()
    response = bob_client.post(
        f"/incidents/{copy.pk}/duplicate/", {"version": copy.version, "unmark": "1"}
    )
    assert response.status_code == 302
    copy.refresh_from_db()
    assert copy.duplicate_of_id is None


def where_it_shows(client: Client, user: User, copy: Incident) -> dict[str, bool]:
    category = FailureCategory.objects.get(path="Security > Keys")
    service = Service.objects.get(name="Payments")
    link = f'href="/incidents/{copy.pk}/"'
    counted: Any = FailureCategory.objects.with_incident_counts(user)  # annotated
    services = {s["name"]: s for s in client.get("/api/services/").json()["results"]}
    return {
        "list": link in client.get("/incidents/").content.decode(),
        "api list": copy.pk
        in [i["id"] for i in client.get("/api/incidents/?limit=200").json()["results"]],
        "agenda": copy.pk
        in [i["id"] for i in client.get("/api/review/2024-W02/").json()["new_incidents"]],
        "category page": link in client.get(category.get_absolute_url()).content.decode(),
        "category count": int(counted.get(pk=category.pk).incident_count) == 1,
        "service page": link in client.get(service.get_absolute_url()).content.decode(),
        "service count": services["Payments"]["incident_count"] == 1,
        "page": client.get(f"/incidents/{copy.pk}/").status_code == 200,
    }


def test_for_someone_who_cannot_see_the_original_the_duplicate_is_an_incident_like_any_other(
    alice_client: Client, alice: User, copy: Incident
) -> None:
    shows = where_it_shows(alice_client, alice, copy)
    assert all(shows.values()), shows


def test_for_someone_who_sees_the_original_the_duplicate_leaves_lists_and_counts(
    bob_client: Client, bob: User, copy: Incident
) -> None:
    shows = where_it_shows(bob_client, bob, copy)
    # Bob's category and service count the original alone (1); the page redirects.
    assert shows == {
        "list": False, "api list": False, "agenda": False, "category page": False,
        "category count": True, "service page": False, "service count": True, "page": False,
    }, shows  # fmt: skip


def test_when_the_hidden_original_becomes_a_duplicate_of_a_public_one_the_copy_follows_it(
    alice_client: Client, bob: User, kb: Any, copy: Incident, original: Incident,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    # Repointed to an original alice sees, the copy leaves her search and redirects; nothing
    # on the way (the public original's page, the copy's history) names the hidden one.
    found = alice_client.get("/api/search/", {"q": "quokka"}).json()["results"]
    assert [i["id"] for i in found] == [copy.pk]
    public = kb("Payment signatures refused after a key rotation")
    original.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        mark_duplicate(original, public.pk, by=bob, expected_version=original.version)
    copy.refresh_from_db()
    assert copy.duplicate_of_id == public.pk
    assert alice_client.get("/api/search/", {"q": "quokka"}).json()["results"] == []
    assert alice_client.get(f"/incidents/{copy.pk}/")["Location"] == f"/incidents/{public.pk}/"
    for url in (f"/incidents/{public.pk}/", f"/incidents/{copy.pk}/history/"):
        page = alice_client.get(url).content.decode()
        assert f"INC-{original.pk}" not in page and "intruder" not in page
    assert (
        f"INC-{copy.pk} Checkout quokka"
        in alice_client.get(f"/incidents/{public.pk}/").content.decode()
    )
