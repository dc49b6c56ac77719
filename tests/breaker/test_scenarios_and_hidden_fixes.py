"""A game-day scenario names the fixes it verifies by id. A fix of a restricted incident shares
its visibility (PRODUCT.md, "Who may see and change what"), so for charlie its id must be as
unknown as an id nobody has: its title must not appear in an error, and he must not be able to
tie it to his scenario (a failed scenario would mark that hidden fix regressed)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from incidents.models import Incident
from remediations.models import Remediation
from tests.breaker.conftest import CANARY

pytestmark = pytest.mark.django_db


def _plan(category: str, fix_id: int) -> dict[str, Any]:
    scenario = {"category": category, "injection": "Pull the plug.", "verifies": [fix_id]}
    return {"title": "Probe", "scheduled_at": "2030-01-10T10:00:00Z", "scenarios": [scenario]}


def _hidden_fix(hidden: Incident) -> Remediation:
    fix = hidden.remediations.get()
    Remediation.objects.filter(pk=fix.pk).update(title=f"Rotate the {CANARY} key")
    return fix


def test_an_error_about_a_verified_fix_does_not_name_a_hidden_fix(
    hidden: Incident, charlie_client: Client
) -> None:
    fix = _hidden_fix(hidden)
    answer = charlie_client.post(
        "/api/game-days/", _plan("Storage", fix.pk), content_type="application/json"
    )
    assert answer.status_code == 400
    assert CANARY not in answer.content.decode().lower()


def test_a_hidden_fix_is_refused_as_if_it_did_not_exist(
    hidden: Incident, charlie_client: Client
) -> None:
    fix = _hidden_fix(hidden)
    answer = charlie_client.post(
        "/api/game-days/", _plan(fix.category.path, fix.pk), content_type="application/json"
    )
    assert answer.status_code == 400, answer.json()
    assert f"There is no remediation {fix.pk}." in answer.content.decode()
