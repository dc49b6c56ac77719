"""The `hidden_incident` fixture: the restricted world of the hidden-fix tests.

An incident restricted to the group Security (bob is in it, charlie is not), written by alice
through the one write path, with one fix in its failure mode. Both titles hold CANARY, so a
test can check that no answer to charlie names either of them. A fix of a restricted incident
shares its visibility (PRODUCT.md, "Who may see and change what").
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from incidents.models import Incident
from remediations.actions import save_report
from remediations.records import clean_report

CANARY = "wombatcanary"  # a word nothing else in Once holds

HiddenIncident = Callable[[str], Incident]


@pytest.fixture
def hidden_incident(alice: User, bob: User) -> HiddenIncident:
    """`hidden_incident(mode)` saves the restricted incident in failure mode `mode` (a path,
    "Storage > Leaks"), with its one fix (kind prevent, still open) in the same mode, and
    returns the incident. Call it once per test: the group Security is made here."""
    security = Group.objects.create(name="Security")
    bob.groups.add(security)

    def make(mode: str) -> Incident:
        record = {
            "title": f"The {CANARY} incident",
            "started_at": timezone.now() - datetime.timedelta(days=2),
            "categories": [mode],
            "remediations": [{"title": f"Rotate the {CANARY} key", "kind": "prevent", "category": mode}],
            "visibility": "restricted",
            "access_groups": [security.name],
        }  # fmt: skip
        incident = Incident()
        save_report(incident, clean_report(record, by=alice), by=alice, expected_version=None)
        return incident

    return make
