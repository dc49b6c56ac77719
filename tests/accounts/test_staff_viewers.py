"""Staff who are also in `Viewers` only read, like every viewer: managing is changing
(common/roles.py; PRODUCT.md, "Who may see and change what")."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from accounts.models import ApiToken, SingleSignOnIdentity
from common.roles import VIEWERS
from tests.api_helpers import api_key_for

pytestmark = pytest.mark.django_db


def test_a_staff_viewer_cannot_revoke_a_colleagues_token_in_the_admin(
    alice: User, charlie: User, charlie_client: Client
) -> None:
    api_key_for(alice, name="alice's nightly export")
    token = ApiToken.objects.get()
    charlie.is_staff = True
    charlie.save()
    charlie.groups.add(Group.objects.get_or_create(name=VIEWERS)[0])
    charlie.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts"))
    charlie_client.post(
        "/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    token.refresh_from_db()
    assert token.revoked_at is None


def test_a_staff_viewer_cannot_unlink_a_colleagues_single_sign_on_identity(
    alice: User, charlie: User, charlie_client: Client
) -> None:
    identity = SingleSignOnIdentity.objects.create(
        user=alice, issuer="https://sso.example", subject="alice-at-the-provider"
    )
    charlie.is_staff = True
    charlie.save()
    charlie.groups.add(Group.objects.get_or_create(name=VIEWERS)[0])
    charlie.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts"))
    url = f"/admin/accounts/singlesignonidentity/{identity.pk}/delete/"
    assert charlie_client.post(url, {"post": "yes"}).status_code == 403
    charlie_client.post(
        "/admin/accounts/singlesignonidentity/",
        {"action": "delete_selected", "_selected_action": [identity.pk], "post": "yes"},
    )
    assert SingleSignOnIdentity.objects.filter(pk=identity.pk).exists()


def test_staff_who_write_still_revoke_a_token_and_unlink_an_identity(
    alice: User, charlie: User, charlie_client: Client
) -> None:
    api_key_for(alice, name="alice's nightly export")
    token = ApiToken.objects.get()
    identity = SingleSignOnIdentity.objects.create(
        user=alice, issuer="https://sso.example", subject="alice-at-the-provider"
    )
    charlie.is_staff = True
    charlie.save()
    charlie.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts"))
    charlie_client.post(
        "/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    url = f"/admin/accounts/singlesignonidentity/{identity.pk}/delete/"
    assert charlie_client.post(url, {"post": "yes"}).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert not SingleSignOnIdentity.objects.filter(pk=identity.pk).exists()
