"""The digest a member of Security receives holds the restricted incidents they may see; the
admin's delivery log shows every message's body to staff, who need not be in Security
(PRODUCT.md, "Who may see and change what": a restricted incident is absent for anyone else
from every page and digest)."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from common.models import Notification
from incidents.models import Incident
from remediations.models import Remediation
from reviews.digest import send_digest
from reviews.weeks import Week
from tests.breaker.conftest import CANARY

pytestmark = pytest.mark.django_db


def test_staff_outside_the_group_do_not_read_a_members_digest_in_the_admin(
    hidden: Incident, bob: User, charlie: User, charlie_client: Client
) -> None:
    fix = hidden.remediations.get()
    Remediation.objects.filter(pk=fix.pk).update(
        title=f"Rotate the {CANARY} key", due_date=timezone.localdate() - datetime.timedelta(days=1)
    )
    send_digest(Week.current())
    bobs = Notification.objects.get(recipient=bob.email, key__startswith="digest:")
    assert CANARY in bobs.body  # the positive control: bob may read it
    charlie.is_staff = True
    charlie.save()
    charlie.user_permissions.set(Permission.objects.filter(codename="view_notification"))
    page = charlie_client.get(f"/admin/common/notification/{bobs.pk}/change/")
    assert page.status_code in (200, 302, 404)
    assert CANARY not in page.content.decode().lower()
