"""A restricted incident's words include the names it gave to new categories and services: for
anyone outside its groups they must be as absent as its title (PRODUCT.md, "Who may see and
change what": absent from every page, list, category page…)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from incidents.models import Incident
from tests.breaker.conftest import CANARY

pytestmark = pytest.mark.django_db


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
    from django.contrib.auth.models import Permission

    charlie.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    assert not _says_canary(charlie_client, "/admin/incidents/failurecategory/")
    assert not _says_canary(charlie_client, "/admin/incidents/service/")
