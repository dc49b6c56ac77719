"""Search never reveals a restricted incident to someone who may not see it (PRODUCT.md, "Who
may see and change what"): not in results, counts, pages, snippets, typo fixes ("also searched
for") nor the failure modes it suggests.

The restricted incident says the canary word `quokkabyte` in every field. charlie is in none of
its groups and must never meet it; bob, in its group, finds it (each test's positive control).
`make test` runs this module on PostgreSQL and on SQLite, like the rest of tests/search/.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from incidents.models import Incident, Visibility
from search.service import search
from tests.factories import UserFactory
from tests.search.helpers import store

pytestmark = pytest.mark.django_db

CANARY = "quokkabyte"


@pytest.fixture
def kb(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda title, **fields: store(django_capture_on_commit_callbacks, title, **fields)


@pytest.fixture
def security(bob: User) -> Group:
    group = Group.objects.create(name="Security")
    bob.groups.add(group)
    return group


def restrict(incident: Incident, *groups: Group) -> Incident:
    incident.visibility = Visibility.RESTRICTED
    incident.save(update_fields=["visibility"])
    incident.access_groups.set(groups)
    return incident


@pytest.fixture
def secret(kb: Any, security: Group) -> Incident:
    """A restricted incident with the canary in every field, and a word it shares with a public
    one ("outage")."""
    incident = kb(
        f"Outage of the {CANARY} signing service",
        summary=f"The {CANARY} key leaked.",
        body=f"## Impact\n\nEvery {CANARY} token was rotated after the outage.",
        severity="SEV1",
        categories=[f"Security > {CANARY.capitalize()} leaks"],
        services=[f"{CANARY}-signer"],
        causes=[{"kind": "trigger", "description": f"A {CANARY} key in a public repository"}],
        timeline=[{"at": "2024-01-10T10:05:00Z", "text": f"{CANARY} alert fired"}],
        remediations=[
            {
                "title": f"Rotate {CANARY} keys daily",
                "description": f"Automate the {CANARY} rotation.",
                "kind": "prevent",
                "status": "open",
            }
        ],
    )
    return restrict(incident, security)


@pytest.fixture
def public(kb: Any) -> Incident:
    return kb("Disk outage on the database hosts", summary="The disks filled up.", severity="SEV2")


def api(client: Client, q: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/search/", {"q": q, **params})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def titles(body: dict[str, Any]) -> list[str]:
    return [hit["title"] for hit in body["results"]]


def test_someone_outside_its_groups_finds_nothing_by_the_canary(
    secret: Incident, public: Incident, charlie_client: Client, bob_client: Client
) -> None:
    body = api(charlie_client, CANARY)
    assert body["count"] == 0
    assert body["results"] == []
    assert body["failure_modes"] == []
    assert body["corrections"] == {}

    found = api(bob_client, CANARY)
    assert found["count"] == 1
    assert titles(found) == [secret.title]
    assert "<mark>" in found["results"][0]["snippet"]


def test_a_shared_word_finds_only_the_public_incident_and_counts_only_it(
    secret: Incident, public: Incident, charlie_client: Client, bob_client: Client
) -> None:
    variants: list[dict[str, Any]] = [
        {}, {"sort": "newest"}, {"severity": ["SEV1", "SEV2"]}, {"limit": 1},
    ]  # fmt: skip
    for params in variants:
        response = charlie_client.get("/api/search/", {"q": "outage", **params})
        assert response.status_code == 200
        assert CANARY not in response.content.decode().lower()
        body = response.json()
        assert (body["count"], titles(body), body["next"]) == (1, [public.title], None), params

        seen = api(bob_client, "outage", **params)
        assert seen["count"] == 2, params
        assert set(titles(seen)) <= {public.title, secret.title}


def test_the_second_page_holds_no_restricted_incident(
    kb: Any, secret: Incident, public: Incident, charlie_client: Client, bob_client: Client
) -> None:
    kb("Network outage in the west region")
    body = api(charlie_client, "outage", limit=1, offset=1)
    assert body["count"] == 2
    assert body["next"] is None
    assert len(body["results"]) == 1
    assert CANARY not in str(body).lower()
    assert api(bob_client, "outage", limit=1, offset=2)["count"] == 3


def results_of(page: str) -> str:
    """The page after its search form: the filters' category and service choices are the
    incident list's (tests/test_restricted_leak.py walks those)."""
    return page.split('class="search-form"', 1)[1].split("</form>", 1)[1]


def test_the_search_page_shows_no_trace_of_it(
    secret: Incident, public: Incident, charlie_client: Client, bob_client: Client
) -> None:
    page = charlie_client.get("/search/", {"q": "outage"})
    assert page.status_code == 200
    text = results_of(page.content.decode())
    assert CANARY not in text.lower()
    assert f'href="{public.get_absolute_url()}"' in text  # its title's words are marked
    assert secret.reference not in text

    seen = results_of(bob_client.get("/search/", {"q": "outage"}).content.decode())
    assert secret.reference in seen
    assert CANARY in seen.lower()


def test_a_misspelled_canary_is_never_corrected_to_it_for_an_outsider(
    secret: Incident, public: Incident, charlie_client: Client, bob_client: Client
) -> None:
    typo = "quokkabite"
    page = results_of(charlie_client.get("/search/", {"q": typo}).content.decode())
    body = api(charlie_client, typo)
    assert body["corrections"] == {}
    assert body["count"] == 0
    assert CANARY not in page.lower()

    # bob may see the incident: its words are his vocabulary too.
    corrected = api(bob_client, typo)
    assert corrected["corrections"] == {typo: [CANARY]}
    assert titles(corrected) == [secret.title]
    assert CANARY in results_of(bob_client.get("/search/", {"q": typo}).content.decode()).lower()


def test_a_word_only_a_hidden_incident_uses_is_unknown_to_an_outsider(
    kb: Any, security: Group, charlie_client: Client, bob_client: Client
) -> None:
    """Knowing the word would skip the typo fixes: "kubernetez" would find nothing instead of
    kubernetes, which tells that a hidden report says "kubernetez"."""
    kb("Kubernetes upgrade stalled")
    restrict(kb("Kubernetez is our secret fork"), security)

    outsider = api(charlie_client, "kubernetez")
    assert outsider["corrections"] == {"kubernetez": ["kubernetes"]}
    assert titles(outsider) == ["Kubernetes upgrade stalled"]

    insider = api(bob_client, "kubernetez")
    assert insider["corrections"] == {}
    assert titles(insider) == ["Kubernetez is our secret fork"]


def test_a_failure_mode_only_a_hidden_incident_uses_is_not_suggested(
    kb: Any, secret: Incident, security: Group, charlie_client: Client, bob_client: Client
) -> None:
    assert api(charlie_client, f"{CANARY} leaks")["failure_modes"] == []
    assert [m["path"] for m in api(bob_client, f"{CANARY} leaks")["failure_modes"]] == [
        f"Security > {CANARY.capitalize()} leaks"
    ]
    # Nor the category above it, when its name is the canary and nothing visible is below it.
    restrict(kb("Quiet leak", categories=[f"{CANARY.capitalize()} > Vault"]), security)
    assert api(charlie_client, CANARY)["failure_modes"] == []
    assert f"{CANARY.capitalize()} > Vault" in [
        m["path"] for m in api(bob_client, CANARY)["failure_modes"]
    ]
    # Once a visible incident is classified there too, the category is no secret.
    kb("Badge reader outage", categories=[f"Security > {CANARY.capitalize()} leaks"])
    assert [m["path"] for m in api(charlie_client, "leaks")["failure_modes"]] == [
        f"Security > {CANARY.capitalize()} leaks"
    ]


@pytest.mark.parametrize("who", ["author", "superuser", "system"])
def test_its_author_superusers_and_the_system_find_it(
    who: str, secret: Incident, public: Incident, alice: User
) -> None:
    viewer = {
        "author": lambda: alice,
        "superuser": lambda: UserFactory(username="root", is_superuser=True),
        "system": lambda: None,
    }[who]()
    if who == "author":
        Incident.objects.filter(pk=secret.pk).update(author=alice)
    found = search("outage", viewer=viewer)
    assert found.count == 2
    assert {r.incident.pk for r in found.results} == {secret.pk, public.pk}


def test_a_viewer_outside_its_groups_does_not_find_it_either(
    secret: Incident, public: Incident, victor_client: Client
) -> None:
    body = api(victor_client, "outage")
    assert titles(body) == [public.title]
