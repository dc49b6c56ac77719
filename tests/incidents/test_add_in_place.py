"""Adding a failure mode from the incident form's dialog (issue 15, item 2): the category
page's form and action, answered in place."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from incidents.models import FailureCategory
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db

URL = "/incidents/add-failure-mode/"


def test_the_form_offers_the_dialog_instead_of_another_tab(alice_client: Client) -> None:
    html = alice_client.get(reverse("incident_create")).content.decode()
    assert 'data-dialog="add-mode"' in html and '<dialog id="add-mode"' in html
    assert 'data-dialog="add-person"' in html
    dialog = alice_client.get(URL)
    assert dialog.status_code == 200
    assert 'name="mode-name"' in dialog.content.decode()


def test_a_writer_adds_a_failure_mode_and_the_form_is_told_which(alice_client: Client) -> None:
    parent = CategoryFactory(name="Networking")
    response = alice_client.post(
        URL, {"mode-name": "Conntrack table full", "mode-parent": parent.pk, "mode-description": ""}
    )
    assert response.status_code == 200
    category = FailureCategory.objects.get(name="Conntrack table full")
    assert category.path == "Networking > Conntrack table full"
    assert json.loads(response["HX-Trigger"]) == {
        "categoryAdded": {"id": category.pk, "path": "Networking > Conntrack table full"}
    }
    # The dialog is ready for another one, and its parent list already has the new mode.
    html = response.content.decode()
    assert 'name="mode-name"' in html and "Conntrack table full</option>" in html


def test_a_name_outside_ascii_reaches_the_browser_intact(alice_client: Client) -> None:
    response = alice_client.post(URL, {"mode-name": "Pods don’t start ✗"})
    assert response.status_code == 200
    assert response["HX-Trigger"].isascii()
    assert json.loads(response["HX-Trigger"])["categoryAdded"]["path"] == "Pods don’t start ✗"


def test_the_dialog_refuses_what_the_category_page_refuses(alice_client: Client) -> None:
    CategoryFactory(name="etcd")
    for data, words in [
        ({"mode-name": "etcd"}, "There is already a category “etcd”."),
        ({"mode-name": "A > B"}, "must not contain “&gt;”"),
        ({"mode-name": ""}, "is required"),
    ]:
        page = alice_client.post(
            reverse("category_tree"), {f"new-{k[5:]}": v for k, v in data.items()}
        )
        response = alice_client.post(URL, data)
        assert response.status_code == 400 == page.status_code
        assert "HX-Trigger" not in response
        assert words in response.content.decode() and words in page.content.decode()
    assert FailureCategory.objects.count() == 1


def test_viewers_cannot_add_a_failure_mode(victor_client: Client) -> None:
    assert victor_client.get(URL).status_code == 403
    assert victor_client.post(URL, {"mode-name": "Sneaky"}).status_code == 403
    assert not FailureCategory.objects.exists()
