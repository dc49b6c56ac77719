"""History is among the places a restricted incident is absent from (PRODUCT.md, "Who may see
and change what"): a fix moved from a restricted incident to a public one keeps the words it
had while it was hidden in its history, which everyone can now read."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from incidents.models import Incident
from remediations.actions import save_report
from remediations.records import clean_report
from tests.breaker.conftest import CANARY

pytestmark = pytest.mark.django_db


def test_a_fix_moved_out_of_a_restricted_incident_shows_no_hidden_title_in_its_history(
    hidden: Incident, alice_client: Client, charlie_client: Client
) -> None:
    public = Incident()
    record = clean_report({"title": "Public one", "started_at": timezone.now()})
    save_report(public, record, by=None, expected_version=None)
    fix = hidden.remediations.get()
    url = f"/api/remediations/{fix.pk}/"
    renamed = alice_client.patch(
        url, {"version": fix.version, "title": f"Rotate the {CANARY} key"},
        content_type="application/json",
    )  # fmt: skip
    assert renamed.status_code == 200, renamed.content
    moved = alice_client.patch(
        url, {"version": renamed.json()["version"], "incident": public.pk, "title": "Rotate keys"},
        content_type="application/json",
    )  # fmt: skip
    assert moved.status_code == 200, moved.content
    history = charlie_client.get(f"/remediations/{fix.pk}/history/")
    assert history.status_code == 200
    assert CANARY not in history.content.decode().lower()
