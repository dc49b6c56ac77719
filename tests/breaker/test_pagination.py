"""The "Older →" link of a list leads to the next page (not the same page again)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.factories import IncidentFactory

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
