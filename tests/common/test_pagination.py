"""The "Older →" link of a list leads to the next page (not the same page again): Django 5.1+'s
{% querystring %} already starts with "?", so `href="?{% querystring … %}"` makes "??page=2"."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from common import audit
from common.models import AuditAction
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db


def _ids(html: str) -> list[str]:
    return re.findall(r'href="/incidents/(\d+)/"', html)


def test_older_on_the_incident_list_shows_the_next_incidents(alice_client: Client) -> None:
    IncidentFactory.create_batch(30)
    first = alice_client.get("/incidents/").content.decode()
    link = re.search(r'<a href="([^"]*)" rel="next"', first)
    assert link is not None
    href = link.group(1).replace("&amp;", "&")
    assert not href.startswith("??"), href  # "??page=2" is read as the parameter "?page"
    second = alice_client.get("/incidents/" + href).content.decode()
    assert set(_ids(second)).isdisjoint(_ids(first))


def test_older_on_the_audit_page_shows_older_events(db: None) -> None:
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    for n in range(60):
        audit.record(AuditAction.SIGN_IN_FAILED, by=None, username=f"tried-{n:02}")
    client = Client()
    client.force_login(root, backend="django.contrib.auth.backends.ModelBackend")
    first = client.get("/audit/").content.decode()
    link = re.search(r'<a href="([^"]*)" rel="next"', first)
    assert link is not None
    second = client.get("/audit/" + link.group(1).replace("&amp;", "&")).content.decode()
    assert "tried-00" in second  # the oldest event, on the second page
