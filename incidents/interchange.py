"""The interchange format (PRODUCT.md): one incident as a JSON object, with its remediations.

`parse_record` validates a decoded record and says exactly what is wrong; `apply_record`
stores a valid one, creating or updating the incident by `external_id`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from incidents import actions
from incidents.models import Cause, CauseKind, Incident, IncidentStatus, Severity, TimelineEntry
from remediations.actions import save_remediation
from remediations.models import Remediation, RemediationKind, RemediationStatus


class InvalidRecord(ValueError):
    """A record that can't be stored; the message says why, in words a person understands."""


@dataclass
class ApplyResult:
    incident: Incident
    created: bool
    warnings: list[str] = field(default_factory=list)


def _text(
    record: dict[str, Any], key: str, *, max_length: int | None = None, where: str = ""
) -> str:
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidRecord(f"{where}{key} must be a string, not {type(value).__name__}")
    if max_length is not None and len(value) > max_length:
        raise InvalidRecord(f"{where}{key} is {len(value)} characters long; at most {max_length}")
    return value


def _moment(value: Any, key: str, *, required: bool = False) -> datetime.datetime | None:
    """A date-time or a date (taken as midnight UTC); naive date-times are UTC."""
    if value is None or value == "":
        if required:
            raise InvalidRecord(f"{key} is required")
        return None
    if not isinstance(value, str):
        raise InvalidRecord(f"{key} must be a date or date-time string, not {type(value).__name__}")
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            if day is None:
                raise ValueError
            moment = datetime.datetime.combine(day, datetime.time.min)
    except ValueError:
        raise InvalidRecord(f"{key} {value!r} is not a date or date-time (use ISO 8601)") from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, datetime.UTC)
    return moment


def _choice(value: Any, key: str, choices: type, default: str) -> str:
    if value is None or value == "":
        return default
    if value not in choices.values:  # type: ignore[attr-defined]
        allowed = ", ".join(choices.values)  # type: ignore[attr-defined]
        raise InvalidRecord(f"{key} {value!r} is not one of {allowed}")
    return str(value)


def _list(record: dict[str, Any], key: str, item_type: type) -> list[Any]:
    value = record.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, item_type) for v in value):
        kind = "strings" if item_type is str else "objects"
        raise InvalidRecord(f"{key} must be a list of {kind}")
    return value


def parse_record(record: Any) -> dict[str, Any]:
    """Check a decoded record; return it normalised, or raise InvalidRecord saying why."""
    if not isinstance(record, dict):
        raise InvalidRecord("a line must hold a JSON object")
    title = _text(record, "title", max_length=200).strip()
    if not title:
        raise InvalidRecord("title is required")
    parsed: dict[str, Any] = {
        "external_id": _text(record, "external_id", max_length=200) or None,
        "title": title,
        "summary": _text(record, "summary"),
        "body": _text(record, "body"),
        "severity": _choice(record.get("severity"), "severity", Severity, Severity.SEV3),
        "status": _choice(record.get("status"), "status", IncidentStatus, IncidentStatus.RESOLVED),
        "started_at": _moment(record.get("started_at"), "started_at", required=True),
        "detected_at": _moment(record.get("detected_at"), "detected_at"),
        "resolved_at": _moment(record.get("resolved_at"), "resolved_at"),
        "categories": [c for c in _list(record, "categories", str) if c.strip()],
        "services": [s for s in _list(record, "services", str) if s.strip()],
        "source_url": _text(record, "source_url", max_length=500),
        "causes": [],
        "timeline": [],
        "remediations": [],
    }
    for n, cause in enumerate(_list(record, "causes", dict), start=1):
        where = f"causes[{n}]."
        description = _text(cause, "description", where=where).strip()
        if not description:
            raise InvalidRecord(f"{where}description is required")
        parsed["causes"].append(
            {
                "kind": _choice(cause.get("kind"), f"{where}kind", CauseKind, CauseKind.ROOT_CAUSE),
                "description": description,
                "category": _text(cause, "category", where=where).strip() or None,
            }
        )
    for n, entry in enumerate(_list(record, "timeline", dict), start=1):
        where = f"timeline[{n}]."
        parsed["timeline"].append(
            {
                "at": _moment(entry.get("at"), f"{where}at", required=True),
                "text": _text(entry, "text", where=where),
            }
        )
    for n, item in enumerate(_list(record, "remediations", dict), start=1):
        where = f"remediations[{n}]."
        r_title = _text(item, "title", max_length=200, where=where).strip()
        if not r_title:
            raise InvalidRecord(f"{where}title is required")
        status = _choice(
            item.get("status"), f"{where}status", RemediationStatus, RemediationStatus.OPEN
        )
        done_at = _moment(item.get("done_at"), f"{where}done_at")
        if status == RemediationStatus.DONE and done_at is None:
            raise InvalidRecord(f"{where}done_at is required when status is done")
        if status != RemediationStatus.DONE and done_at is not None:
            raise InvalidRecord(f"{where}done_at is only allowed when status is done")
        due = item.get("due_date")
        due_date = None
        if due:
            due_date = parse_date(due) if isinstance(due, str) else None
            if due_date is None:
                raise InvalidRecord(f"{where}due_date {due!r} is not a date (use YYYY-MM-DD)")
        parsed["remediations"].append(
            {
                "title": r_title,
                "description": _text(item, "description", where=where),
                "kind": _choice(
                    item.get("kind"), f"{where}kind", RemediationKind, RemediationKind.PREVENT
                ),
                "status": status,
                "owner": _text(item, "owner", where=where).strip(),
                "due_date": due_date,
                "opened_at": _moment(item.get("opened_at"), f"{where}opened_at"),
                "done_at": done_at,
                "category": _text(item, "category", where=where).strip() or None,
                "tracker_url": _text(item, "tracker_url", max_length=500, where=where),
            }
        )
    return parsed


def _check(instance: models.Model, exclude: list[str]) -> None:
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        reasons = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
        raise InvalidRecord(reasons) from None


@transaction.atomic
def apply_record(parsed: dict[str, Any], *, by: Any = None) -> ApplyResult:
    """Create or update the incident (by external_id) with its causes, timeline and remediations.

    Causes and the timeline are replaced; remediations are matched by title and updated, and
    none is deleted. Raises InvalidRecord, storing nothing, when the facts don't hold together.
    """
    incident = None
    if parsed["external_id"]:
        incident = Incident.objects.filter(external_id=parsed["external_id"]).first()
    created = incident is None
    incident = incident or Incident(external_id=parsed["external_id"])
    for name in ("title", "summary", "body", "severity", "status", "started_at", "detected_at",
                 "resolved_at", "source_url"):  # fmt: skip
        setattr(incident, name, parsed[name])
    _check(incident, exclude=["author", "external_id"])
    result = ApplyResult(incident=incident, created=created)

    categories = [actions.get_or_create_category(path) for path in parsed["categories"]]
    incident = actions.save_incident(
        incident,
        by=by,
        expected_version=None if created else incident.version,
        categories=categories,
        services=actions.get_or_create_services(parsed["services"]),
    )
    incident.causes.all().delete()
    Cause.objects.bulk_create(
        Cause(
            incident=incident,
            kind=c["kind"],
            description=c["description"],
            category=actions.get_or_create_category(c["category"]) if c["category"] else None,
        )  # fmt: skip
        for c in parsed["causes"]
    )
    incident.timeline.all().delete()
    TimelineEntry.objects.bulk_create(
        TimelineEntry(incident=incident, at=t["at"], text=t["text"]) for t in parsed["timeline"]
    )
    users = get_user_model().objects
    existing = {r.title: r for r in incident.remediations.all()}
    for item in parsed["remediations"]:
        remediation = existing.get(item["title"]) or Remediation(incident=incident)
        owner = None
        if item["owner"]:
            owner = users.filter(username=item["owner"]).first()
            if owner is None:
                result.warnings.append(
                    f"owner {item['owner']!r} of remediation {item['title']!r} matches no user; "
                    "left unassigned"
                )
        remediation.title = item["title"]
        remediation.description = item["description"]
        remediation.kind = item["kind"]
        remediation.status = item["status"]
        remediation.owner = owner
        remediation.due_date = item["due_date"]
        # Opened with the incident's resolution unless said otherwise: never before it started.
        remediation.opened_at = item["opened_at"] or incident.resolved_at or incident.started_at
        remediation.done_at = item["done_at"]
        remediation.tracker_url = item["tracker_url"]
        remediation.category = (
            actions.get_or_create_category(item["category"]) if item["category"] else None
        )
        _check(remediation, exclude=["owner", "incident", "category", "created_by"])
        save_remediation(
            remediation, by=by, expected_version=remediation.version if remediation.pk else None
        )
    return result


def _stamp(moment: datetime.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def export_record(incident: Incident) -> dict[str, Any]:
    """One incident in the interchange format; prefetch causes, timeline and remediations."""
    return {
        "external_id": incident.external_id,
        "title": incident.title,
        "summary": incident.summary,
        "body": incident.body,
        "severity": incident.severity,
        "status": incident.status,
        "started_at": _stamp(incident.started_at),
        "detected_at": _stamp(incident.detected_at),
        "resolved_at": _stamp(incident.resolved_at),
        "categories": sorted(c.path for c in incident.categories.all()),
        "services": sorted((s.name for s in incident.services.all()), key=str.lower),
        "causes": [
            {
                "kind": c.kind,
                "description": c.description,
                "category": c.category.path if c.category else None,
            }  # fmt: skip
            for c in incident.causes.all()
        ],
        "timeline": [{"at": _stamp(t.at), "text": t.text} for t in incident.timeline.all()],
        "remediations": [
            {
                "title": r.title,
                "description": r.description,
                "kind": r.kind,
                "status": r.status,
                "owner": r.owner.get_username() if r.owner else None,
                "due_date": r.due_date.isoformat() if r.due_date else None,
                "opened_at": _stamp(r.opened_at),
                "done_at": _stamp(r.done_at),
                "category": r.category.path if r.category else None,
                "tracker_url": r.tracker_url,
            }
            for r in sorted(incident.remediations.all(), key=lambda r: r.pk)
        ],
        "source_url": incident.source_url,
    }
