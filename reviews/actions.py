"""What a review meeting decides: each is recorded against the week's meeting."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from incidents.actions import record_of, save_incident
from incidents.models import Incident, IncidentStatus
from remediations.records import clean_report
from reviews.models import ReviewMeeting
from reviews.weeks import Week


def meeting_for(week: Week) -> ReviewMeeting:
    meeting, _ = ReviewMeeting.objects.get_or_create(week_start=week.monday)
    return meeting


@transaction.atomic
def mark_reviewed(incident: Incident, *, week: Week, by: Any, expected_version: int | None) -> None:
    """The incident is reviewed, in this week's meeting. Raises StaleVersion if it changed."""
    record = clean_report({**record_of(incident), "status": IncidentStatus.REVIEWED})
    save_incident(incident, record, by=by, expected_version=expected_version)
    meeting_for(week).reviewed_incidents.add(incident)
