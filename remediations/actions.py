"""Operations on remediations that views, the API, commands and tasks share."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from common import changes
from common.concurrency import save_versioned
from common.people import left_out, person_named
from common.roles import require_writer
from common.validation import Errors, clean_choice, clean_text, sentence
from incidents.actions import CategoryCache, save_incident
from incidents.models import Incident
from remediations import effectiveness
from remediations.models import (
    STATE_OF_OUTCOME,
    FlagOutcome,
    FlagState,
    RecurrenceFlag,
    Remediation,
    RemediationStatus,
)
from remediations.records import REMEDIATION_FIELDS

User = AbstractBaseUser | AnonymousUser


def unassigned(name: str, title: str) -> str:
    """The warning for a remediation whose owner names nobody (the API, the importers)."""
    return left_out(name, f"the remediation “{title}” is left unassigned")


def remediation_record_of(remediation: Remediation) -> dict[str, Any]:
    """The stored remediation as a record (the input of `clean_remediation`)."""
    return {
        "title": remediation.title,
        "description": remediation.description,
        "kind": remediation.kind,
        "status": remediation.status,
        "owner": remediation.owner.get_username() if remediation.owner else None,
        "due_date": remediation.due_date,
        "opened_at": remediation.opened_at,
        "done_at": remediation.done_at,
        "category": remediation.category.path if remediation.category else None,
        "tracker_url": remediation.tracker_url,
    }


def merged_changes(remediation: Remediation, given: dict[str, Any]) -> dict[str, Any]:
    """The stored record with `given` values over it, for a partial update (PATCH, a decision).

    A status change that says nothing of `done_at` sets it in step: cleared when the status
    leaves done, the time of saving when it becomes done (`clean_remediation`).
    """
    raw = {**remediation_record_of(remediation), **given}
    if "status" in given and "done_at" not in given and given["status"] != remediation.status:
        raw["done_at"] = None
    return raw


def save_remediation(
    remediation: Remediation,
    record: dict[str, Any],
    *,
    by: User | None,
    expected_version: int | None,
    cache: CategoryCache | None = None,
) -> list[str]:
    """Create a remediation or update it, from a record cleaned by `clean_remediation`.

    Returns warnings for the writer (an `owner` that matches no user leaves it unassigned,
    `unassigned`'s words; a name finds its user as `common.people.person_named` does:
    PRODUCT.md, "Interchange format"). Raises StaleVersion, writing nothing, when someone
    saved a newer version meanwhile, and PermissionDenied for a viewer (`by` None: the system).
    """
    require_writer(by)
    cache = cache or CategoryCache()
    if remediation.pk and _unchanged(remediation, record):
        return []  # nothing changed: no new version, no history entry, no conflict
    warnings = []
    owner = None
    if record["owner"]:
        owner = person_named(record["owner"], active_only=False)
        if owner is None:
            warnings.append(unassigned(record["owner"], record["title"]))
    with transaction.atomic():
        for name in ("title", "description", "kind", "status", "due_date", "opened_at",
                     "done_at", "tracker_url"):  # fmt: skip
            setattr(remediation, name, record[name])
        remediation.owner = owner
        remediation.category = cache.category(record["category"]) if record["category"] else None
        if remediation.status != RemediationStatus.DONE:
            # Effectiveness is of done fixes only (a database constraint holds it to that).
            for name in effectiveness.FIELDS:
                setattr(remediation, name, "" if name == "effectiveness_evidence" else None)
        save_versioned(
            remediation, by=by, expected_version=expected_version, creator_field="created_by"
        )
        # Its own effectiveness follows its status and dates at once; the engine, after the
        # commit, follows up on the incidents and flags it affects.
        effectiveness.assess([remediation.pk])
        changes.remediation_changed(remediation.pk)
    return warnings


def _unchanged(remediation: Remediation, record: dict[str, Any]) -> bool:
    stored = Remediation.objects.select_related("owner", "category").get(pk=remediation.pk)
    return (
        stored.incident_id == remediation.incident_id
        and stored.follow_up_of_id == remediation.follow_up_of_id
        and stored.scenario_id == remediation.scenario_id
    ) and all(remediation_record_of(stored)[name] == record[name] for name in REMEDIATION_FIELDS)


@dataclass
class RemediationEdit:
    """An existing remediation of an incident edited along with it (the incident form):
    `record` cleaned by `clean_remediation`, `expected_version` the version the editor saw."""

    remediation: Remediation
    record: dict[str, Any]
    expected_version: int | None


def save_report(
    incident: Incident,
    report: dict[str, Any],
    *,
    by: User | None,
    expected_version: int | None,
    cache: CategoryCache | None = None,
    match_by_title: bool = False,
    edits: Sequence[RemediationEdit] = (),
) -> list[str]:
    """Save an incident with its parts and its remediations (a record from `clean_report`).

    The incident is saved whole by `incidents.actions.save_incident`. Its remediations are
    new ones (the page's and the API's "new remediations"), or — for an import, with
    `match_by_title` — matched to the incident's existing ones by title and updated, and none
    is deleted (PRODUCT.md, "Interchange format"). `edits` are existing remediations of the
    incident changed on its form, each saved by `save_remediation` against its own version.
    One transaction; returns the warnings. Raises StaleVersion, writing nothing, when the
    incident or an edited remediation changed meanwhile (`StaleVersion.instance` says which),
    ValueError for an edit of another incident's remediation, and PermissionDenied for a
    viewer.
    """
    require_writer(by)
    cache = cache or CategoryCache()
    warnings: list[str] = []
    with transaction.atomic():
        save_incident(incident, report, by=by, expected_version=expected_version, cache=cache)
        # Matched by title; two of one title are paired in order (as a download lists them).
        existing: dict[str, list[Remediation]] = {}
        for stored in incident.remediations.all() if match_by_title else ():
            existing.setdefault(stored.title, []).append(stored)
        for item in report["remediations"]:
            same = existing.get(item["title"])
            remediation = same.pop(0) if same else Remediation(incident=incident)
            warnings += save_remediation(
                remediation, item, by=by, cache=cache,
                expected_version=remediation.version if remediation.pk else None,
            )  # fmt: skip
        for edit in edits:
            if edit.remediation.incident_id != incident.pk:
                raise ValueError(f"{edit.remediation} is not a remediation of {incident}.")
            warnings += save_remediation(
                edit.remediation, edit.record, by=by, cache=cache,
                expected_version=edit.expected_version,
            )  # fmt: skip
    return warnings


class FlagAlreadyResolved(Exception):
    """A person tried to triage a flag that is no longer open (someone else just did)."""


class TriageRefused(ValueError):
    """A triage that the rules refuse: an unknown outcome, or a note that is required."""


# PRODUCT.md, "Triage": partly expected and not a recurrence must say why.
NOTE_REQUIRED = {
    FlagOutcome.PARTIAL: "Say in a note what was expected of it.",
    FlagOutcome.NOT_A_RECURRENCE: "Say in a note why this is not a recurrence.",
}


def clean_triage(outcome: Any, note: Any, errors: Errors) -> tuple[str, str]:
    """The one validator of a triage: (outcome, note) for every way in."""
    outcome = clean_choice(outcome, ("outcome",), errors, allowed=FlagOutcome.values, default="")
    if not outcome and not errors:
        errors.add(("outcome",), f"is required: one of {', '.join(FlagOutcome.values)}.")
    note = clean_text(note, ("note",), errors, max_length=10_000, strip=True)
    if outcome in NOTE_REQUIRED and not note:
        errors.add(("note",), NOTE_REQUIRED[FlagOutcome(outcome)])
    return outcome, note


def triage_flag(
    flag: RecurrenceFlag,
    *,
    outcome: str,
    by: User | None,
    note: str = "",
    at: datetime.datetime | None = None,
) -> RecurrenceFlag:
    """Close an open recurrence flag with a person's outcome (PRODUCT.md, "Triage").

    *fix_did_not_hold* and *partial* acknowledge it, *not_a_recurrence* dismisses it; the
    named fixes are re-assessed at once (a fix that did not hold is *regressed*). Raises
    TriageRefused (with the sentence to show) for an outcome or note the rules refuse, and
    FlagAlreadyResolved when the flag is no longer open: of two people triaging it at once,
    the first wins and the second is told. `at` (default now) is when it was decided, for
    decisions carried in from elsewhere (the demo's earlier reviews). PermissionDenied for a
    viewer, before anything else is looked at.
    """
    require_writer(by)
    if by is not None and not RecurrenceFlag.objects.visible_to(by).filter(pk=flag.pk).exists():
        # A flag hidden from `by` (its incident, or a fix it names) is not theirs to judge:
        # the same answer as an unknown flag (PRODUCT.md, "Who may see and change what").
        raise Http404("No recurrence flag matches the given query.")
    errors = Errors()
    outcome, note = clean_triage(outcome, note, errors)
    if errors:
        raise TriageRefused(" ".join(sentence(message) for _, message in errors.items))
    with transaction.atomic():
        updated = RecurrenceFlag.objects.filter(pk=flag.pk, state=FlagState.OPEN).update(
            state=STATE_OF_OUTCOME[FlagOutcome(outcome)], outcome=outcome, note=note,
            resolved_at=at or timezone.now(), resolved_by=by if getattr(by, "pk", None) else None,
        )  # fmt: skip
        flag.refresh_from_db()
        if not updated:
            raise FlagAlreadyResolved(
                f"This flag was already triaged: {flag.get_state_display().lower()}"
                + (f" ({flag.get_outcome_display().lower()})" if flag.outcome else "")
                + "."
            )
        effectiveness.assess(flag.fixes.values_list("remediation_id", flat=True))
    return flag


def next_steps(flag: RecurrenceFlag) -> list[dict[str, str]]:
    """What a triage calls for, as links ({"label", "url"}): a follow-up of each fix that did
    not hold, or reclassifying an incident that was not a recurrence (PRODUCT.md, "Triage")."""
    if flag.outcome == FlagOutcome.FIX_DID_NOT_HOLD:
        new = reverse("remediation_create")
        return [
            {
                "label": f"Open a follow-up of “{fix.title}”",
                "url": f"{new}?follow_up={fix.pk}&flag={flag.pk}",
            }
            for fix in flag.remediations.all()
        ]
    if flag.outcome == FlagOutcome.NOT_A_RECURRENCE:
        return [
            {
                "label": f"Reclassify {flag.incident.reference}",
                "url": reverse("incident_edit", args=[flag.incident_id]) + "#categories",
            }
        ]
    return []


def follow_up_of(fix: Remediation, flag: RecurrenceFlag | None = None) -> Remediation:
    """A new remediation filled in from a fix that did not hold: same failure mode, kind and
    owner, linked back to it (and to the incident it did not hold in). Not saved."""
    where = f" in {flag.incident.reference}" if flag is not None else ""
    description = (
        f"Follow-up of [{fix.title}]({fix.get_absolute_url()}), which did not hold{where}."
    )
    return Remediation(
        title=f"Follow-up: {fix.title}"[:200],
        kind=fix.kind,
        owner=fix.owner,
        category=fix.category,
        incident=flag.incident if flag is not None else fix.incident,
        follow_up_of=fix,
        description=description,
    )
