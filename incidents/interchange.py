"""The interchange format (PRODUCT.md): one incident as a JSON object, with its remediations.

`parse_record` validates a decoded record and says exactly what is wrong; `apply_record`
stores a valid one, creating or updating the incident by `external_id`.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from incidents import actions
from incidents.models import (
    Cause,
    CauseKind,
    FailureCategory,
    Incident,
    IncidentStatus,
    Service,
    Severity,
)
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


@functools.cache
def _allowed(choices: type) -> frozenset[str]:
    return frozenset(choices.values)  # type: ignore[attr-defined]


def _choice(value: Any, key: str, choices: type, default: str) -> str:
    if value is None or value == "":
        return default
    if not isinstance(value, str) or value not in _allowed(choices):
        allowed = ", ".join(choices.values)  # type: ignore[attr-defined]
        raise InvalidRecord(f"{key} {value!r} is not one of {allowed}")
    return value


def _category_path(value: str, where: str) -> str:
    names = actions.split_category_path(value)
    for name in names:
        if len(name) > 100:
            raise InvalidRecord(
                f"{where} {name[:30]!r}…: a category name is at most 100 characters"
            )
    return " > ".join(names)


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
        "categories": [
            _category_path(c, f"categories[{n}]")
            for n, c in enumerate(_list(record, "categories", str), start=1)
            if c.strip()
        ],
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
                "category": _category_path(
                    _text(cause, "category", where=where), f"{where}category"
                )
                or None,
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
                "category": _category_path(_text(item, "category", where=where), f"{where}category")
                or None,
                "tracker_url": _text(item, "tracker_url", max_length=500, where=where),
            }
        )
    return parsed


class Resolver:
    """Categories, services and users named in records, each looked up once per import.

    Call `forget()` after a rolled-back transaction: rows created in it no longer exist.
    """

    def __init__(self) -> None:
        self.forget()

    def forget(self) -> None:
        self._categories: dict[str, FailureCategory] = {}
        self._services: dict[str, Service] = {}
        self._users: dict[str, Any] = {}

    def category(self, path: str) -> FailureCategory:
        if path not in self._categories:
            self._categories[path] = actions.get_or_create_category(path)
        return self._categories[path]

    def services(self, names: list[str]) -> list[Service]:
        found: list[Service] = []
        for name in names:
            key = name.strip().lower()
            if key and key not in self._services:
                (self._services[key],) = actions.get_or_create_services([name])
            if key and self._services[key] not in found:
                found.append(self._services[key])
        return found

    def user(self, username: str) -> Any:
        if username not in self._users:
            self._users[username] = get_user_model().objects.filter(username=username).first()
        return self._users[username]


def _check(instance: models.Model, exclude: list[str]) -> None:
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        reasons = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
        raise InvalidRecord(reasons) from None


INCIDENT_FIELDS = (
    "title", "summary", "body", "severity", "status", "started_at", "detected_at",
    "resolved_at", "source_url",
)  # fmt: skip


def fill_incident(incident: Incident, parsed: dict[str, Any]) -> Incident:
    """Copy a parsed record's own fields onto an incident and check them (no database writes)."""
    for name in INCIDENT_FIELDS:
        setattr(incident, name, parsed[name])
    _check(incident, exclude=["author", "external_id"])
    return incident


def fill_remediation(
    remediation: Remediation, item: dict[str, Any], incident: Incident, resolver: Resolver
) -> list[str]:
    """Copy a parsed remediation onto a row and check it; returns warnings for the report.

    Its category is resolved (and created) by the caller, inside its transaction.
    """
    warnings = []
    owner = resolver.user(item["owner"]) if item["owner"] else None
    if item["owner"] and owner is None:
        warnings.append(
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
    _check(remediation, exclude=["owner", "incident", "category", "created_by"])
    return warnings


@transaction.atomic
def apply_record(
    parsed: dict[str, Any], *, by: Any = None, resolver: Resolver | None = None
) -> ApplyResult:
    """Create or update the incident (by external_id) with its causes, timeline and remediations.

    Causes and the timeline are replaced; remediations are matched by title and updated, and
    none is deleted. Raises InvalidRecord, storing nothing, when the facts don't hold together.
    """
    resolver = resolver or Resolver()
    incident = None
    if parsed["external_id"]:
        incident = Incident.objects.filter(external_id=parsed["external_id"]).first()
    created = incident is None
    incident = fill_incident(incident or Incident(external_id=parsed["external_id"]), parsed)
    result = ApplyResult(incident=incident, created=created)

    incident = actions.save_incident(
        incident,
        by=by,
        expected_version=None if created else incident.version,
        categories=[resolver.category(path) for path in parsed["categories"]],
        services=resolver.services(parsed["services"]),
    )
    actions.replace_causes(incident, parsed["causes"], category_for=resolver.category)
    actions.replace_timeline(incident, parsed["timeline"])
    existing = {r.title: r for r in incident.remediations.all()}
    for item in parsed["remediations"]:
        remediation = existing.get(item["title"]) or Remediation(incident=incident)
        result.warnings += fill_remediation(remediation, item, incident, resolver)
        remediation.category = resolver.category(item["category"]) if item["category"] else None
        save_remediation(
            remediation, by=by, expected_version=remediation.version if remediation.pk else None
        )
    return result


def _stamp(moment: datetime.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def for_export(queryset: QuerySet[Incident]) -> QuerySet[Incident]:
    """The incidents with everything export_record reads, in a fixed number of queries."""
    return queryset.prefetch_related(
        "categories",
        "services",
        "timeline",
        Prefetch("causes", queryset=Cause.objects.select_related("category")),
        Prefetch("remediations", queryset=Remediation.objects.select_related("owner", "category")),
    )


def canonical(parsed: dict[str, Any], resolver: Resolver) -> dict[str, Any]:
    """A parsed record in export_record's shape: equal to its export if import changes nothing."""
    started = parsed["started_at"]
    opened_default = parsed["resolved_at"] or started
    return {
        "external_id": parsed["external_id"],
        **{name: parsed[name] for name in ("title", "summary", "body", "severity", "status")},
        "started_at": _stamp(started),
        "detected_at": _stamp(parsed["detected_at"]),
        "resolved_at": _stamp(parsed["resolved_at"]),
        "categories": sorted(set(parsed["categories"])),
        "services": sorted({s.strip(): None for s in parsed["services"]}, key=str.lower),
        "causes": parsed["causes"],
        "timeline": [{"at": _stamp(t["at"]), "text": t["text"]} for t in parsed["timeline"]],
        "remediations": [
            {
                "title": r["title"],
                "description": r["description"],
                "kind": r["kind"],
                "status": r["status"],
                # What the import would store: an owner matching no user is left unassigned.
                "owner": r["owner"] if r["owner"] and resolver.user(r["owner"]) else None,
                "due_date": r["due_date"].isoformat() if r["due_date"] else None,
                "opened_at": _stamp(r["opened_at"] or opened_default),
                "done_at": _stamp(r["done_at"]),
                "category": r["category"],
                "tracker_url": r["tracker_url"],
            }
            for r in parsed["remediations"]
        ],
        "source_url": parsed["source_url"],
    }


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
