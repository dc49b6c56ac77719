"""What the breaker's tests share: a restricted incident alice wrote for the group Security
(bob is in it, charlie is not), whose every name is a canary word found nowhere else."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from incidents.models import Incident
from remediations.actions import save_report
from remediations.records import clean_report

CANARY = "wombatcanary"  # a word nothing else in Once holds


@pytest.fixture
def security(bob: User) -> Group:
    group = Group.objects.create(name="Security")
    bob.groups.add(group)
    return group


@pytest.fixture
def hidden(alice: User, security: Group) -> Incident:
    """Restricted to Security; its category, cause category, remediation category and service
    are all new names, made by this incident alone."""
    record = {
        "title": f"The {CANARY} incident",
        "started_at": timezone.now() - datetime.timedelta(days=2),
        "categories": [f"{CANARY.title()}cat > Leaks"],
        "services": [f"{CANARY}svc"],
        "causes": [
            {"kind": "trigger", "description": "A cause.", "category": f"{CANARY.title()}cause"}
        ],
        "remediations": [
            {"title": "A fix", "kind": "prevent", "category": f"{CANARY.title()}fixcat"}
        ],
        "visibility": "restricted",
        "access_groups": ["Security"],
    }
    incident = Incident()
    save_report(incident, clean_report(record, by=alice), by=alice, expected_version=None)
    return incident
