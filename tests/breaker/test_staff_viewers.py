"""Staff who are also in `Viewers` only read, like every viewer: managing is changing
(common/roles.py; PRODUCT.md, "Who may see and change what")."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from accounts.models import ApiToken
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
