"""The digest a member of Security receives holds the restricted incidents they may see; the
admin's delivery log must not show it to staff who need not be in Security (PRODUCT.md, "Who
may see and change what": a restricted incident is absent for anyone else from every page and
digest). A message is personal: staff see when, where and how it went; its subject, body and
payload are for its recipient and superusers."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.utils import timezone

from common.models import Notification
from incidents.models import Incident
from remediations.actions import save_report
from remediations.records import clean_report
from reviews.digest import send_digest
from reviews.weeks import Week
from tests.conftest import MODEL_BACKEND

pytestmark = pytest.mark.django_db

CANARY = "wombatcanary"  # a word nothing else in Once holds


@pytest.fixture
def bobs_digest(alice: User, bob: User) -> Notification:
    """bob (in Security) is sent the week's digest, which names a restricted incident's
    overdue fix."""
    bob.groups.add(Group.objects.create(name="Security"))
    record = {
        "title": f"The {CANARY} incident",
        "started_at": timezone.now() - datetime.timedelta(days=2),
        "remediations": [{
            "title": f"Rotate the {CANARY} key", "kind": "prevent",
            "due_date": timezone.localdate() - datetime.timedelta(days=1),
        }],
        "visibility": "restricted",
        "access_groups": ["Security"],
    }  # fmt: skip
    save_report(Incident(), clean_report(record, by=alice), by=alice, expected_version=None)
    send_digest(Week.current())
    digest = Notification.objects.get(recipient=bob.email, key__startswith="digest:")
    assert CANARY in digest.body  # the positive control: bob may read it
    return digest


def _staff(user: User) -> Client:
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(codename="view_notification"))
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)
    return client


def test_staff_outside_the_group_do_not_read_a_members_digest_in_the_admin(
    bobs_digest: Notification, charlie: User
) -> None:
    client = _staff(charlie)
    page = client.get(f"/admin/common/notification/{bobs_digest.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert CANARY not in text.lower()
    assert bobs_digest.recipient in text and "Withheld" in text  # the metadata stays
    listing = client.get("/admin/common/notification/")
    assert listing.status_code == 200
    assert CANARY not in listing.content.decode().lower()
    # Searching the log for a word would tell whether someone's message holds it.
    found = client.get("/admin/common/notification/", {"q": CANARY})
    assert found.status_code == 200
    assert found.context["cl"].result_count == 0


def test_the_recipient_and_superusers_read_the_message(
    bobs_digest: Notification, bob: User, charlie: User
) -> None:
    page = _staff(bob).get(f"/admin/common/notification/{bobs_digest.pk}/change/")
    assert CANARY in page.content.decode()
    charlie.is_superuser = True
    page = _staff(charlie).get(f"/admin/common/notification/{bobs_digest.pk}/change/")
    assert CANARY in page.content.decode()
