"""One count per thing counted (issue 16, item 1): a failure mode's incidents are those in it
or below it, directly or through a cause, each once — on the tree, the sorted standings, the
category page and the "while classifying" panel alike."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from incidents.actions import get_or_create_category
from incidents.models import Cause, FailureCategory, Incident, Visibility
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree() -> dict[str, FailureCategory]:
    paths = [
        "Capacity",
        "Capacity > Memory",
        "Capacity > Disk",
        "Capacity > Disk > Inodes",
        "Other",
    ]
    return {path: get_or_create_category(path) for path in paths}


def _tree_counts(client: Client) -> dict[str, int]:
    html = client.get(reverse("category_tree")).content.decode()
    found = re.findall(r'<a href="/categories/[^"]+/">([^<]+)</a>.*?(\d+) incidents?<', html, re.S)
    return {name: int(n) for name, n in found}


def test_a_parent_counts_its_children_and_causes_once_each(
    tree: dict[str, FailureCategory], alice_client: Client
) -> None:
    IncidentFactory(title="Memory one", categories=[tree["Capacity > Memory"]])
    IncidentFactory(title="Memory two", categories=[tree["Capacity > Memory"]])
    deep = IncidentFactory(title="Inodes", categories=[tree["Capacity > Disk > Inodes"]])
    # Classified in two modes under Capacity, and with a cause in a third: still one incident.
    Cause.objects.create(incident=deep, description="Tiny files", category=tree["Capacity > Disk"])
    deep.categories.add(tree["Capacity > Memory"])
    elsewhere = IncidentFactory(title="Elsewhere", categories=[tree["Other"]])
    Cause.objects.create(incident=elsewhere, description="Full", category=tree["Capacity > Disk"])

    counts = _tree_counts(alice_client)
    assert counts == {"Capacity": 4, "Memory": 3, "Disk": 2, "Inodes": 1, "Other": 1}
    for path, category in tree.items():
        page = alice_client.get(category.get_absolute_url())
        assert (
            page.context["category"].incident_count
            == Incident.objects.in_category(category).count()
        ), path
        assert f'<span class="count">{counts[category.name]}</span>' in page.content.decode()
    standings = alice_client.get(reverse("category_tree"), {"sort": "recurred"}).context
    rows = standings["standings"]
    assert {row.standing.category.name: row.standing.incidents for row in rows} == counts


def test_a_restricted_incident_is_counted_only_for_those_who_see_it(
    tree: dict[str, FailureCategory], alice: User, bob: User, alice_client: Client,
    bob_client: Client,
) -> None:  # fmt: skip
    security = Group.objects.create(name="Security")
    bob.groups.add(security)
    IncidentFactory(categories=[tree["Capacity > Memory"]])
    hidden = IncidentFactory(
        categories=[tree["Capacity > Disk"]], visibility=Visibility.RESTRICTED, author=bob
    )
    hidden.access_groups.add(security)
    assert _tree_counts(bob_client)["Capacity"] == 2
    assert _tree_counts(alice_client)["Capacity"] == 1
    # Only the hidden incident is classified in Disk: its name may be a word of the
    # restricted report, so for alice the branch is absent (FailureCategory.visible_to).
    assert "Disk" not in _tree_counts(alice_client)
    assert "Inodes" not in _tree_counts(alice_client)


def test_the_tree_counts_in_one_query_whatever_the_number_of_modes(
    tree: dict[str, FailureCategory], alice_client: Client, django_assert_max_num_queries: object
) -> None:
    for category in tree.values():
        IncidentFactory.create_batch(2, categories=[category])
    alice_client.get(reverse("category_tree"))  # warm the session and the role caches
    get_or_create_category("Capacity > Disk > Quota")
    with django_assert_max_num_queries(8):  # type: ignore[operator]
        alice_client.get(reverse("category_tree"))
