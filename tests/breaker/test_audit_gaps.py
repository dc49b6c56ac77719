"""`/audit/` lists views of restricted incidents (PRODUCT.md, "Who may see and change what").
A restricted incident's fix page shows the incident's title and its fix (which shares its
visibility), so a look at it is a look at the restricted incident."""

from __future__ import annotations

import pytest
from django.test import Client

from common.models import AuditAction, AuditEvent
from incidents.models import Incident

pytestmark = pytest.mark.django_db


def _views() -> int:
    return AuditEvent.objects.filter(action=AuditAction.RESTRICTED_VIEW).count()


def test_a_look_at_a_restricted_incidents_fix_page_is_recorded(
    hidden: Incident, bob_client: Client
) -> None:
    fix = hidden.remediations.get()
    before = _views()
    assert bob_client.get(f"/remediations/{fix.pk}/").status_code == 200
    assert _views() == before + 1


def test_a_restricted_incidents_fix_read_through_the_api_is_recorded(
    hidden: Incident, bob_client: Client
) -> None:
    fix = hidden.remediations.get()
    before = _views()
    assert bob_client.get(f"/api/remediations/{fix.pk}/").status_code == 200
    assert _views() == before + 1
