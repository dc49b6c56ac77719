"""What a review meeting decides: each is recorded against the week's meeting."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from common.concurrency import StaleVersion, claim_version
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


@transaction.atomic
def save_meeting(form: Any, *, expected_version: int | None) -> ReviewMeeting:
    """Save the meeting's notes and attendees from its form, from the version it showed.

    Raises StaleVersion, writing nothing, when someone saved the notes meanwhile (a meeting
    saved for the first time by two people at once: the second is an update of the first).
    """
    meeting: ReviewMeeting = form.instance
    if expected_version is None and meeting.pk is not None and _blank(meeting):
        # The page was opened before the week had a meeting; marking an incident reviewed
        # made one since, with no notes nor attendees: nothing of anybody's to lose.
        expected_version = meeting.version
    if meeting.pk is not None and _same(meeting, form.cleaned_data):
        return meeting  # nothing changed: no new version
    if meeting.pk is None:
        existing = ReviewMeeting.objects.filter(week_start=meeting.week_start).first()
        if existing is not None:
            raise StaleVersion(existing, expected_version or 0)
    else:
        claim_version(meeting, expected_version if expected_version is not None else -1)
    return form.save()


def _same(meeting: ReviewMeeting, cleaned: dict[str, Any]) -> bool:
    stored = ReviewMeeting.objects.get(pk=meeting.pk)
    attendees = {user.pk for user in cleaned.get("attendees") or []}
    return stored.notes == cleaned.get("notes", "") and attendees == set(
        stored.attendees.values_list("pk", flat=True)
    )


def _blank(meeting: ReviewMeeting) -> bool:
    stored = ReviewMeeting.objects.get(pk=meeting.pk)
    return not stored.notes and not stored.attendees.exists()
