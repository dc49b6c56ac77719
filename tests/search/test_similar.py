"""Have we seen this before? `GET /api/incidents/similar/` and the incident form's side panel
(PRODUCT.md, "Writing, duplicates and importing Markdown"; issue 15, item 5)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from incidents.actions import mark_duplicate
from incidents.models import FailureCategory, Incident, Visibility
from tests.search.helpers import store

pytestmark = pytest.mark.django_db

URL = "/api/incidents/similar/"


@pytest.fixture
def kb(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda title, **fields: store(django_capture_on_commit_callbacks, title, **fields)


@pytest.fixture
def world(kb: Any) -> dict[str, Incident]:
    return {
        "quorum": kb(
            "etcd lost quorum during EBS latency",
            summary="Three etcd members timed out on slow EBS volumes; the API server stalled.",
            categories=["Control plane > etcd"],
            services=["etcd", "EBS"],
        ),
        "leader": kb(
            "etcd leader elections every minute",
            summary="Disk latency made etcd leaders step down.",
            categories=["Control plane > etcd > Leader election"],
            services=["etcd"],
        ),
        "dns": kb(
            "CoreDNS timeouts after a config push",
            summary="Pods could not resolve names for twenty minutes.",
            categories=["Networking > DNS"],
            services=["CoreDNS"],
        ),
        "billing": kb(
            "Invoices sent twice",
            summary="A retry in the billing job sent every invoice again.",
            categories=["Application > Retries"],
        ),
    }


def ask(client: Client, **params: Any) -> Any:
    return client.get(URL, params)


def test_it_ranks_the_incident_that_says_the_same_thing_first(
    alice_client: Client, world: dict[str, Incident]
) -> None:
    response = ask(alice_client, title="etcd quorum lost", summary="EBS volumes were slow")
    assert response.status_code == 200
    body = response.json()
    ids = [r["id"] for r in body["results"]]
    assert ids[0] == world["quorum"].pk
    assert world["billing"].pk not in ids and world["dns"].pk not in ids
    assert set(body) == {"count", "next", "previous", "results"}
    first = body["results"][0]
    assert first["reference"] == f"INC-{world['quorum'].pk}"
    assert first["url"] == f"/incidents/{world['quorum'].pk}/"
    assert {"etcd", "quorum", "ebs"} <= set(first["why"]["words"])
    assert "<mark>" in first["snippet"]
    assert 0 < first["score"] <= 1


def test_it_says_which_failure_modes_and_services_are_shared(
    alice_client: Client, world: dict[str, Incident]
) -> None:
    etcd = FailureCategory.objects.get(path="Control plane > etcd")
    response = ask(
        alice_client, title="Slow disks", categories=str(etcd.pk), services="etcd, Vault"
    )
    results = {r["id"]: r for r in response.json()["results"]}
    # Both etcd incidents share the failure mode (one below it), though worded differently.
    assert results[world["quorum"].pk]["why"]["failure_modes"] == ["Control plane > etcd"]
    assert results[world["leader"].pk]["why"]["failure_modes"] == ["Control plane > etcd"]
    assert results[world["quorum"].pk]["why"]["services"] == ["etcd"]
    assert world["dns"].pk not in results


def test_categories_are_ids_repeated_or_comma_separated(
    alice_client: Client, world: dict[str, Incident]
) -> None:
    etcd = FailureCategory.objects.get(path="Control plane > etcd")
    dns = FailureCategory.objects.get(path="Networking > DNS")
    repeated = alice_client.get(f"{URL}?categories={etcd.pk}&categories={dns.pk}").json()
    joined = ask(alice_client, categories=f"{etcd.pk},{dns.pk}").json()
    assert repeated == joined
    assert {r["id"] for r in joined["results"]} == {
        world["quorum"].pk,
        world["leader"].pk,
        world["dns"].pk,
    }


def test_it_leaves_out_the_incident_being_edited_and_duplicates(
    alice: User, alice_client: Client, world: dict[str, Incident], kb: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    copy = kb("etcd lost quorum again", summary="EBS latency, etcd quorum lost.")
    with django_capture_on_commit_callbacks(execute=True):
        mark_duplicate(copy, world["quorum"].pk, by=alice, expected_version=copy.version)
    params = {"title": "etcd quorum lost", "summary": "EBS"}
    ids = [r["id"] for r in ask(alice_client, **params).json()["results"]]
    assert world["quorum"].pk in ids and copy.pk not in ids
    ids = [
        r["id"] for r in ask(alice_client, exclude=world["quorum"].pk, **params).json()["results"]
    ]
    assert world["quorum"].pk not in ids and copy.pk not in ids


def test_a_restricted_incident_is_never_suggested_to_someone_outside_its_groups(
    bob: User, bob_client: Client, charlie_client: Client, kb: Any, world: dict[str, Incident]
) -> None:
    secret = kb(
        "Quokkabyte signing keys leaked",
        summary="quokkabyte tokens rotated",
        categories=["Security > Key leaks"],
    )
    group = Group.objects.create(name="Security")
    bob.groups.add(group)
    Incident.objects.filter(pk=secret.pk).update(visibility=Visibility.RESTRICTED)
    secret.access_groups.set([group])
    leaks = FailureCategory.objects.get(path="Security > Key leaks")
    params = {"title": "quokkabyte keys leaked", "categories": leaks.pk}
    assert [r["id"] for r in ask(bob_client, **params).json()["results"]] == [secret.pk]
    response = ask(charlie_client, **params)
    assert response.status_code == 200
    assert response.json()["results"] == []
    assert "uokkabyte" not in response.content.decode().lower().replace("quokkabyte keys", "")
    panel = charlie_client.get("/incidents/similar/", {"title": "quokkabyte keys leaked"})
    assert panel.status_code == 200 and "Quokkabyte signing" not in panel.content.decode()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"categories": "etcd"}, "categories"),
        ({"categories": "999999"}, "categories"),
        ({"exclude": "INC-1x"}, "exclude"),
        ({"limit": "-1"}, "limit"),
        ({"offset": "many"}, "offset"),
        ({"title": "x" * 201}, "title"),
        ({"summary": "nul \x00"}, "summary"),
    ],
)
def test_bad_parameters_are_answered_400_with_the_reason(
    alice_client: Client, world: dict[str, Incident], params: dict[str, str], field: str
) -> None:
    response = ask(alice_client, **{"title": "etcd", **params})
    assert response.status_code == 400
    assert field in response.json()


def test_nothing_asked_gives_an_empty_list(
    alice_client: Client, world: dict[str, Incident]
) -> None:
    assert ask(alice_client).json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_it_pages_with_limit_and_offset(alice_client: Client, world: dict[str, Incident]) -> None:
    etcd = FailureCategory.objects.get(path="Control plane > etcd")
    everything = ask(alice_client, title="etcd", categories=etcd.pk).json()
    assert everything["count"] == 2
    first = ask(alice_client, title="etcd", categories=etcd.pk, limit=1).json()
    second = ask(alice_client, title="etcd", categories=etcd.pk, limit=1, offset=1).json()
    assert first["next"] and [*first["results"], *second["results"]] == everything["results"]


def test_it_is_in_the_openapi_schema(alice_client: Client) -> None:
    schema = alice_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/incidents/similar/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {
        "title", "summary", "categories", "exclude", "limit", "offset",
    }  # fmt: skip


def test_the_form_panel_shows_suggestions_with_why_and_a_duplicate_link_when_editing(
    alice_client: Client, world: dict[str, Incident]
) -> None:
    leader = world["leader"]
    response = alice_client.get(
        "/incidents/similar/",
        {"title": "etcd quorum lost", "summary": "", "incident": str(leader.pk)},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert f"INC-{world['quorum'].pk} etcd lost quorum" in page
    assert 'target="_blank"' in page and "<mark>quorum</mark>" in page
    assert f"/incidents/{leader.pk}/duplicate/?of={world['quorum'].pk}" in page
    assert f"INC-{leader.pk} " not in page  # never itself
    new = alice_client.get("/incidents/similar/", {"title": "etcd quorum lost"}).content.decode()
    assert "Mark as duplicate of this" not in new


def test_the_incident_form_carries_the_panel(alice_client: Client) -> None:
    page = alice_client.get("/incidents/new/").content.decode()
    assert 'id="similar-incidents"' in page and "delay:400ms" in page
