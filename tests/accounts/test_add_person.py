"""Adding a remediation's owner from the incident form's dialog (issue 15, item 2): staff add a
person in place; other writers read who can."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import MODEL_BACKEND
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/people/add/"


@pytest.fixture
def staff_client(db: None) -> Client:
    client = Client()
    client.force_login(UserFactory(username="sam", is_staff=True), backend=MODEL_BACKEND)
    return client


def test_staff_add_a_person_who_can_own_work_but_has_no_password(staff_client: Client) -> None:
    response = staff_client.post(URL, {"person-username": "dave", "person-email": ""})
    assert response.status_code == 200
    dave = get_user_model().objects.get(username="dave")
    assert json.loads(response["HX-Trigger"]) == {
        "personAdded": {"id": dave.pk, "username": "dave"}
    }
    assert dave.is_active and not dave.is_staff and not dave.has_usable_password()


def test_a_name_taken_in_any_case_or_invalid_is_refused(staff_client: Client, alice: Any) -> None:
    for name, words in [
        ("Alice", "There is already a person “alice”"),
        ("bad name!", "Enter a valid username"),
    ]:
        response = staff_client.post(URL, {"person-username": name})
        assert response.status_code == 400
        assert words in response.content.decode()
    assert get_user_model().objects.count() == 2


def test_a_writer_who_isnt_staff_is_told_who_can(alice_client: Client) -> None:
    html = alice_client.get(URL).content.decode()
    assert "Only staff can add people to Once." in html and 'name="person-username"' not in html
    response = alice_client.post(URL, {"person-username": "mallory"})
    assert response.status_code == 403
    assert "Only staff can add people to Once." in response.content.decode()
    assert not get_user_model().objects.filter(username="mallory").exists()


def test_viewers_cannot_add_anyone(victor: Any) -> None:
    victor.is_staff = True
    victor.save()
    client = Client()
    client.force_login(victor, backend=MODEL_BACKEND)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"person-username": "mallory"}).status_code == 403
    assert not get_user_model().objects.filter(username="mallory").exists()
