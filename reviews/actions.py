"""What a review meeting decides: each decision is made through the action that owns the record
and written into the week's minutes (`ReviewDecision`) in the same transaction."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from common import dates
from common.concurrency import StaleVersion, claim_version
from common.roles import require_writer
from common.validation import Errors, RecordInvalid, render_path, sentence
from incidents.actions import record_of, save_incident
from incidents.models import Incident, IncidentStatus, Visibility
from remediations.actions import (
    FlagAlreadyResolved,
    TriageRefused,
    clean_triage,
    next_steps,
    remediation_record_of,
    save_remediation,
    triage_flag,
)
from remediations.models import (
    OPEN_STATUSES,
    RecurrenceFlag,
    Remediation,
    RemediationStatus,
)
from remediations.records import clean_report
from reviews.models import DecisionKind, ReviewDecision, ReviewMeeting
from reviews.weeks import Week


class ReviewRefused(Exception):
    """A decision the rules refuse, with the sentence to show on its row."""


def meeting_for(week: Week) -> ReviewMeeting:
    meeting, _ = ReviewMeeting.objects.get_or_create(week_start=week.monday)
    return meeting


def record_decision(
    week: Week,
    kind: DecisionKind,
    *,
    by: Any,
    subject: str,
    detail: str = "",
    url: str = "",
    incident: Incident | None = None,
    remediation: Remediation | None = None,
    flag: RecurrenceFlag | None = None,
    outcome: str = "",
    next_steps: Iterable[dict[str, str]] = (),
) -> ReviewDecision:
    """One line of the week's minutes. Call inside the transaction of the decision itself."""
    return ReviewDecision.objects.create(
        meeting=meeting_for(week), kind=kind, by=by if getattr(by, "pk", None) else None,
        subject=subject[:300], detail=detail, url=url[:200], incident=incident,
        remediation=remediation, flag=flag, outcome=outcome, next_steps=list(next_steps),
    )  # fmt: skip


def _when(moment: datetime.datetime) -> str:
    return dates.moment(moment)


# --- Incidents -------------------------------------------------------------------------------


def needs_resolved_time(incident: Incident) -> bool:
    """Still investigating, with no resolved time: it can't be reviewed until it says when it
    was resolved (a resolved one imported without the time is reviewed as it is)."""
    return incident.status == IncidentStatus.INVESTIGATING and incident.resolved_at is None


def review_refusal(incident: Incident) -> str:
    """Why the incident can't be marked reviewed as it is, or "" when it can."""
    if needs_resolved_time(incident):
        return (
            f"{incident.reference} is still investigating: "
            "say when it was resolved to mark it reviewed."
        )
    return ""


@transaction.atomic
def mark_reviewed(
    incident: Incident,
    *,
    week: Week,
    by: Any,
    expected_version: int | None,
    resolved_at: datetime.datetime | None = None,
) -> ReviewDecision:
    """The incident is reviewed in this week's meeting, resolved at `resolved_at` if given.

    An incident still investigating without a resolved time can't be reviewed (ReviewRefused
    says why); the time given goes through the incident's one validator (started ≤ detected ≤
    resolved). Raises StaleVersion, writing nothing, if the incident changed since
    `expected_version`; PermissionDenied for a viewer.
    """
    require_writer(by)
    raw = {**record_of(incident), "status": IncidentStatus.REVIEWED}
    if resolved_at is not None:
        raw["resolved_at"] = resolved_at
    elif needs_resolved_time(incident):
        raise ReviewRefused(review_refusal(incident))
    try:
        record = clean_report(raw)
    except RecordInvalid as invalid:
        raise ReviewRefused(_reasons(invalid.errors)) from invalid
    save_incident(incident, record, by=by, expected_version=expected_version)
    meeting_for(week).reviewed_incidents.add(incident)
    return record_decision(
        week, DecisionKind.REVIEWED, by=by, incident=incident,
        subject=f"{incident.reference} {incident.title}", url=incident.get_absolute_url(),
        detail=f"resolved at {_when(record['resolved_at'])}" if resolved_at is not None else "",
    )  # fmt: skip


def _reasons(errors: Errors) -> str:
    """The validator's messages as one text for the row: sentences as they are, the others
    after the name of their field ("resolved_at is not a date and time…")."""
    return " ".join(
        message if message[:1].isupper() else f"{render_path(path)} {message}"
        for path, message in errors.items
    )


# --- Recurrence flags ------------------------------------------------------------------------


def next_steps_of(flag: RecurrenceFlag) -> list[dict[str, str]]:
    """What a triage calls for (remediations.actions.next_steps), for the minutes.

    The minutes are read by everyone who sees the flag's incident, so a follow-up of a fix
    that came from a restricted incident is left out: its title would name it (PRODUCT.md,
    "Who may see and change what"). Its link stays on the flag's own page.
    """
    secret = Remediation.objects.filter(
        pk__in=flag.fixes.values("remediation_id"), incident__visibility=Visibility.RESTRICTED
    ).values_list("pk", flat=True)
    hidden_urls = {f"follow_up={pk}&" for pk in secret}
    return [step for step in next_steps(flag) if not any(u in step["url"] for u in hidden_urls)]


def triage(flag: RecurrenceFlag, *, outcome: str, note: str, week: Week, by: Any) -> ReviewDecision:
    """Triage one flag (remediations.actions.triage_flag) and write it into the minutes.

    Raises TriageRefused or FlagAlreadyResolved, writing nothing, as triage_flag does;
    PermissionDenied for a viewer.
    """
    require_writer(by)
    with transaction.atomic():
        triage_flag(flag, outcome=outcome, by=by, note=note)
        outcome_label = flag.get_outcome_display()
        return record_decision(
            week, DecisionKind.TRIAGED, by=by, flag=flag, incident=flag.incident,
            subject=f"{flag.category.path} in {flag.incident.reference} {flag.incident.title}",
            detail=f"{outcome_label}: {flag.note}" if flag.note else outcome_label,
            url=flag.get_absolute_url(), outcome=flag.outcome or "",
            next_steps=next_steps_of(flag),
        )  # fmt: skip


@dataclass
class Triaged:
    """What a group triage did to one of its flags: its decision, or why it was left."""

    flag: RecurrenceFlag
    decision: ReviewDecision | None = None
    error: str = ""


def triage_group(
    flags: Iterable[RecurrenceFlag], *, outcome: str, note: str, week: Week, by: Any
) -> list[Triaged]:
    """The same outcome and note for each flag, each through `triage`, each on its own: one
    that someone else triaged meanwhile is reported and the others go through.

    Raises TriageRefused, touching none, when the outcome or note is refused for all of them;
    PermissionDenied for a viewer.
    """
    require_writer(by)
    errors = Errors()
    clean_triage(outcome, note, errors)
    if errors:
        raise TriageRefused(" ".join(sentence(message) for _, message in errors.items))
    results = []
    for flag in flags:
        try:
            results.append(
                Triaged(flag, triage(flag, outcome=outcome, note=note, week=week, by=by))
            )
        except (FlagAlreadyResolved, TriageRefused) as refused:
            results.append(Triaged(flag, error=str(refused)))
    return results


# --- Remediations ----------------------------------------------------------------------------

RemediationRecord = dict[str, Any]


def _username(name: str | None) -> str:
    return name or "unassigned"


def _status(value: str) -> str:
    return str(RemediationStatus(value).label).lower()


def _decisions_between(
    before: RemediationRecord, after: RemediationRecord
) -> list[tuple[DecisionKind, str]]:
    """The decisions a change of a remediation amounts to, each with its detail."""
    found: list[tuple[DecisionKind, str]] = []
    old, new = before["status"], after["status"]
    if old != new:
        if new == RemediationStatus.DONE:
            found.append((DecisionKind.MARKED_DONE, f"{_status(old)} → done"))
        elif new in OPEN_STATUSES and old not in OPEN_STATUSES:
            found.append((DecisionKind.REOPENED, f"{_status(old)} → {_status(new)}"))
        else:
            found.append((DecisionKind.STATUS_CHANGED, f"{_status(old)} → {_status(new)}"))
    if before["owner"] != after["owner"]:
        found.append(
            (
                DecisionKind.REASSIGNED,
                f"{_username(before['owner'])} → {_username(after['owner'])}",
            )
        )
    if before["due_date"] != after["due_date"]:
        old_due = dates.day(before["due_date"]) if before["due_date"] else "no due date"
        new_due = dates.day(after["due_date"]) if after["due_date"] else "no due date"
        found.append((DecisionKind.RESCHEDULED, f"due {old_due} → {new_due}"))
    return found


def decide_remediation(
    remediation: Remediation,
    record: RemediationRecord,
    *,
    week: Week,
    by: Any,
    expected_version: int | None,
) -> list[ReviewDecision]:
    """Save the remediation from a record cleaned by `clean_remediation` (reassign, reschedule,
    reopen, mark done…) and write what changed into the minutes, in one transaction.

    Raises StaleVersion, writing nothing, if it changed since `expected_version`;
    PermissionDenied for a viewer.
    """
    require_writer(by)
    before = remediation_record_of(remediation)
    with transaction.atomic():
        save_remediation(remediation, record, by=by, expected_version=expected_version)
        return [
            record_decision(
                week,
                kind,
                by=by,
                remediation=remediation,
                subject=remediation.title,
                detail=detail,
                url=remediation.get_absolute_url(),
            )  # fmt: skip
            for kind, detail in _decisions_between(before, record)
        ]


# --- Meeting notes ---------------------------------------------------------------------------


@transaction.atomic
def save_meeting(form: Any, *, by: Any, expected_version: int | None) -> ReviewMeeting:
    """Save the meeting's notes and attendees from its form, from the version it showed.

    Raises StaleVersion, writing nothing, when someone saved the notes meanwhile (a meeting
    saved for the first time by two people at once: the second is an update of the first);
    PermissionDenied for a viewer.
    """
    require_writer(by)
    meeting: ReviewMeeting = form.instance
    if expected_version is None and meeting.pk is not None and _blank(meeting):
        # The page was opened before the week had a meeting; a decision made one since,
        # with no notes nor attendees: nothing of anybody's to lose.
        expected_version = meeting.version
    if meeting.pk is not None and _same(meeting, form.cleaned_data):
        return meeting  # nothing changed: no new version
    if meeting.pk is None:
        existing = ReviewMeeting.objects.filter(week_start=meeting.week_start).first()
        if existing is not None:
            raise StaleVersion(existing, expected_version or 0)
        try:
            with transaction.atomic():  # another first save may commit between check and insert
                return form.save()
        except IntegrityError:
            existing = ReviewMeeting.objects.get(week_start=meeting.week_start)
            raise StaleVersion(existing, expected_version or 0) from None
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
