"""One way to name a person (issue 16, item 4): the remediation form and the review page's
rows take an owner the same way — a username, case aside, suggested from one list — and refuse
an unknown one with the same message, keeping what was typed; staff get a way to add them."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from remediations.models import Remediation
from reviews.weeks import Week
from tests.factories import RemediationFactory, UserFactory

pytestmark = pytest.mark.django_db


def overdue_fix(**fields: Any) -> Remediation:
    """A fix the review's agenda lists (overdue), so its row can answer there."""
    return RemediationFactory(due_date=timezone.localdate() - datetime.timedelta(days=3), **fields)


MESSAGE = "Nobody is called “mallory” in Once. Check the spelling; staff can add people."


def _form(client: Client, fix: Remediation, owner: str) -> Any:
    data = {
        "version": fix.version, "title": fix.title, "kind": fix.kind, "status": fix.status,
        "owner": owner, "due_date": fix.due_date.isoformat(), "category": "", "tracker_url": "",
        "opened_at": fix.opened_at.strftime("%Y-%m-%dT%H:%M"), "description": "",
    }  # fmt: skip
    return client.post(f"/remediations/{fix.pk}/edit/", data)


def _review_row(client: Client, fix: Remediation, owner: str) -> Any:
    prefix = f"remediation-{fix.pk}"
    data = {f"{prefix}-version": fix.version, f"{prefix}-status": fix.status,
            f"{prefix}-owner": owner, f"{prefix}-due_date": fix.due_date.isoformat()}  # fmt: skip
    return client.post(f"/review/{Week.current().label}/remediations/{fix.pk}/", data)


@pytest.mark.parametrize("way", [_form, _review_row], ids=["remediation form", "review row"])
def test_an_unknown_name_gets_the_same_message_and_is_kept(
    way: Any, alice_client: Client, alice: User
) -> None:
    fix = overdue_fix(owner=alice)
    response = way(alice_client, fix, "mallory")
    page = response.content.decode()
    assert response.status_code == 400
    assert MESSAGE in page and 'value="mallory"' in page
    assert "Add a person" not in page  # alice is not staff
    assert Remediation.objects.get(pk=fix.pk).owner == alice


@pytest.mark.parametrize("way", [_form, _review_row], ids=["remediation form", "review row"])
def test_a_name_in_other_letters_finds_the_person_and_an_inactive_one_is_unknown(
    way: Any, alice_client: Client
) -> None:
    UserFactory(username="Bob.Jones")
    UserFactory(username="gone", is_active=False)
    fix = overdue_fix()
    assert way(alice_client, fix, "bob.jones").status_code in (200, 302)
    fix.refresh_from_db()
    assert fix.owner is not None and fix.owner.username == "Bob.Jones"
    refused = way(alice_client, fix, "gone").content.decode()
    assert "Nobody is called “gone” in Once." in refused


@pytest.mark.parametrize("way", [_form, _review_row], ids=["remediation form", "review row"])
def test_staff_get_a_way_to_add_the_person(way: Any, alice_client: Client, alice: User) -> None:
    alice.is_staff = True
    alice.save()
    page = way(alice_client, overdue_fix(), "mallory").content.decode()
    assert MESSAGE in page and 'href="/admin/auth/user/add/"' in page


def test_both_pages_suggest_the_same_people(alice_client: Client, alice: User) -> None:
    UserFactory(username="zed", is_active=False)
    fix = RemediationFactory(owner=alice)
    form = alice_client.get(f"/remediations/{fix.pk}/edit/").content.decode()
    assert 'list="people"' in form and '<option value="alice">' in form
    assert '<option value="zed">' not in form
    assert 'value="alice"' in form  # the current owner, by name
