"""A restricted incident's words include the names it gave to new categories and services: for
anyone outside its groups they must be as absent as its title (PRODUCT.md, "Who may see and
change what": absent from every page, list, category page…). The one rule is
FailureCategory.objects.visible_to and Service.objects.visible_to."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.utils import timezone

from incidents.actions import get_or_create_category
from incidents.models import FailureCategory, Incident, Service
from remediations.actions import save_report
from remediations.records import clean_report
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

CANARY = "wombatcanary"  # a word nothing else in Once holds


@pytest.fixture
def security(bob: User) -> Group:
    group = Group.objects.create(name="Security")
    bob.groups.add(group)
    return group


@pytest.fixture
def hidden(alice: User, security: Group) -> Incident:
    """Restricted to Security; its category, cause category, remediation category and service
    are all new names, made by this incident alone."""
    record = {
        "title": f"The {CANARY} incident",
        "started_at": timezone.now() - datetime.timedelta(days=2),
        "categories": [f"{CANARY.title()}cat > Leaks"],
        "services": [f"{CANARY}svc"],
        "causes": [
            {"kind": "trigger", "description": "A cause.", "category": f"{CANARY.title()}cause"}
        ],
        "remediations": [
            {"title": "A fix", "kind": "prevent", "category": f"{CANARY.title()}fixcat"}
        ],
        "visibility": "restricted",
        "access_groups": ["Security"],
    }
    incident = Incident()
    save_report(incident, clean_report(record, by=alice), by=alice, expected_version=None)
    return incident


def _says_canary(client: Client, path: str) -> bool:
    return CANARY in client.get(path).content.decode().lower()


def test_the_positive_control_bob_meets_the_new_names(hidden: Incident, bob_client: Client) -> None:
    assert _says_canary(bob_client, "/categories/")
    assert _says_canary(bob_client, "/api/services/?limit=500")


def test_the_failure_mode_tree_does_not_name_a_category_only_a_hidden_incident_made(
    hidden: Incident, charlie_client: Client
) -> None:
    assert not _says_canary(charlie_client, "/categories/")


def test_the_categories_api_does_not_name_a_category_only_a_hidden_incident_made(
    hidden: Incident, charlie_client: Client
) -> None:
    assert not _says_canary(charlie_client, "/api/categories/?limit=500")


def test_the_category_page_of_a_hidden_incidents_new_category_answers_404(
    hidden: Incident, charlie_client: Client
) -> None:
    slug = hidden.categories.get().parent.slug  # "Wombatcanarycat"
    assert charlie_client.get(f"/categories/{slug}/").status_code == 404


def test_the_incident_list_filters_do_not_offer_a_hidden_incidents_category_or_service(
    hidden: Incident, charlie_client: Client
) -> None:
    assert not _says_canary(charlie_client, "/incidents/")


def test_the_new_incident_form_does_not_offer_a_hidden_incidents_categories(
    hidden: Incident, charlie_client: Client
) -> None:
    assert not _says_canary(charlie_client, "/incidents/new/")


def test_the_services_api_does_not_name_a_service_only_a_hidden_incident_named(
    hidden: Incident, charlie_client: Client
) -> None:
    assert not _says_canary(charlie_client, "/api/services/?limit=500")


def test_staff_do_not_find_a_hidden_incidents_category_or_service_in_the_admin(
    hidden: Incident, charlie: User, charlie_client: Client
) -> None:
    charlie.is_staff = True
    charlie.save()
    charlie.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    assert not _says_canary(charlie_client, "/admin/incidents/failurecategory/")
    assert not _says_canary(charlie_client, "/admin/incidents/service/")


def _paths(user: User | None) -> set[str]:
    return set(FailureCategory.objects.visible_to(user).values_list("path", flat=True))


def test_every_name_the_hidden_incident_made_is_hidden_from_an_outsider_only(
    hidden: Incident, alice: User, bob: User, charlie: User
) -> None:
    made = {
        "Wombatcanarycat", "Wombatcanarycat > Leaks", "Wombatcanarycause", "Wombatcanaryfixcat"
    }  # fmt: skip
    assert made <= _paths(bob) and made <= _paths(alice)  # a member; the author
    assert made <= _paths(None)  # the system
    assert not made & _paths(charlie)
    assert set(FailureCategory.objects.hidden_from(charlie).values_list("path", flat=True)) == made
    charlie.is_superuser = True
    assert made <= _paths(charlie)
    outsider = User.objects.get(pk=charlie.pk)
    assert not Service.objects.visible_to(outsider).filter(name__startswith=CANARY)
    assert Service.objects.visible_to(bob).filter(name__startswith=CANARY).exists()


def test_a_name_a_visible_incident_also_uses_stays_visible(hidden: Incident, charlie: User) -> None:
    IncidentFactory(
        categories=[FailureCategory.objects.get(path="Wombatcanarycat > Leaks")],
        services=[Service.objects.get(name=f"{CANARY}svc")],
    )
    assert {"Wombatcanarycat", "Wombatcanarycat > Leaks"} <= _paths(charlie)
    assert Service.objects.visible_to(charlie).filter(name=f"{CANARY}svc").exists()
    assert "Wombatcanarycause" not in _paths(charlie)


def test_an_empty_category_stays_visible_but_not_below_a_hidden_one(
    hidden: Incident, charlie: User
) -> None:
    get_or_create_category("Networking > DNS")
    get_or_create_category("Wombatcanarycat > Empty")  # its path names the hidden branch
    assert {"Networking", "Networking > DNS"} <= _paths(charlie)
    assert "Wombatcanarycat > Empty" not in _paths(charlie)
    unused = Service.objects.create(name="Unused")
    assert Service.objects.visible_to(charlie).filter(pk=unused.pk).exists()


def test_an_outsider_can_neither_rename_nor_open_a_hidden_category(
    hidden: Incident, charlie_client: Client
) -> None:
    category = FailureCategory.objects.get(path="Wombatcanarycat")
    edit = f"/categories/{category.slug}/edit/"
    assert charlie_client.get(edit).status_code == 404
    assert charlie_client.post(edit, {"name": "Renamed"}).status_code == 404
    api = charlie_client.patch(
        f"/api/categories/{category.pk}/", {"name": "Renamed"}, content_type="application/json"
    )
    assert api.status_code == 404
    below = charlie_client.post(
        "/api/categories/", {"name": "Child", "parent": category.pk},
        content_type="application/json",
    )  # fmt: skip
    assert below.status_code == 400
    assert FailureCategory.objects.get(pk=category.pk).name == "Wombatcanarycat"


def test_a_visible_categorys_page_does_not_list_a_hidden_child(
    hidden: Incident, charlie_client: Client
) -> None:
    get_or_create_category("Wombatcanarycat")
    shared = FailureCategory.objects.get(path="Wombatcanarycat > Leaks")
    other = get_or_create_category("Wombatcanarycat > Public")
    IncidentFactory(categories=[other])
    assert shared.parent is not None
    page = charlie_client.get(shared.parent.get_absolute_url())
    assert page.status_code == 200
    assert "Public" in page.content.decode() and "Leaks" not in page.content.decode()


def test_the_rule_costs_two_queries_whatever_the_size_of_the_tree(
    hidden: Incident, charlie: User, django_assert_max_num_queries: Any
) -> None:
    for n in range(30):
        IncidentFactory(categories=[get_or_create_category(f"Mode {n} > Sub")])
    with django_assert_max_num_queries(3):  # the rule's two, and the list itself
        paths = [c.path for c in FailureCategory.objects.visible_to(charlie)]
    assert "Mode 7 > Sub" in paths and "Wombatcanarycat" not in paths


def test_the_service_pages_and_suggestions_do_not_name_a_hidden_incidents_service(
    hidden: Incident, charlie_client: Client, bob_client: Client
) -> None:
    service = hidden.services.get()
    for path in ("/services/", "/incidents/new/", "/services/?sort=recent"):
        assert CANARY not in charlie_client.get(path).content.decode().lower(), path
        assert CANARY in bob_client.get(path).content.decode().lower(), path
    for path in (f"/services/{service.pk}/", f"/services/{service.pk}/history/"):
        assert charlie_client.get(path).status_code == 404, path
        assert bob_client.get(path).status_code == 200, path
