"""The interchange format (PRODUCT.md): one incident a line of JSON, with its remediations.

This module only reads and writes lines: `decode_line` turns the bytes of one line into a
record, `parse_record` hands it to the one validator (`remediations.records.clean_report`),
`apply_record` to the one write path (`remediations.actions.save_report`), and
`export_record` / `encode_line` write an incident back so that export → import → export is
identical.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import transaction
from django.db.models import Prefetch, QuerySet

# Lines are read and written as every import and export does; decode_line and encode_line are
# used from here by the incident commands and tests.
from common.jsonlines import InvalidRecord, decode_line, encode_line  # noqa: F401
from common.people import person_named
from common.validation import Errors, RecordInvalid
from incidents.actions import CategoryCache, record_of
from incidents.models import Cause, Incident, IncidentQuerySet, shown_original
from incidents.records import clean_duplicate_of
from remediations.actions import merged_changes, save_report
from remediations.models import Remediation
from remediations.records import clean_report


@dataclass
class ApplyResult:
    incident: Incident
    created: bool
    warnings: list[str] = field(default_factory=list)


# The key of a parsed record that keeps the line as given, for `onto`.
RAW = "raw"


def parse_record(record: Any) -> dict[str, Any]:
    """A decoded line checked by the one validator; InvalidRecord with every reason.

    The result also keeps the line itself under `RAW`: a line that updates a stored incident
    changes only the fields it names (`onto`).
    """
    if not isinstance(record, dict):
        raise InvalidRecord("a line must hold a JSON object")
    try:
        # `duplicate_of` names an incident that may come on an earlier line of the same file:
        # it is resolved when the line is stored (`apply_record`, `onto`), not here.
        parsed = clean_report({k: v for k, v in record.items() if k != "duplicate_of"})
    except RecordInvalid as invalid:
        raise InvalidRecord(" | ".join(invalid.errors.as_lines())) from None
    parsed[RAW] = record
    return parsed


def names_an_original(parsed: dict[str, Any]) -> bool:
    """True when the line marks its incident a duplicate (a `duplicate_of` neither null nor
    empty): it is stored on its own, after the lines before it (reports.importer)."""
    return parsed.get(RAW, {}).get("duplicate_of") not in (None, "")


def original_name(pk: int | None) -> str | None:
    """How a file names the original `pk`: its external_id (which survives a move to another
    database), else its reference "INC-<id>" (which names it in this database only)."""
    if pk is None:
        return None
    external_id = Incident.objects.filter(pk=pk).values_list("external_id", flat=True).first()
    return external_id or f"INC-{pk}"


def onto(parsed: dict[str, Any], incident: Incident, *, by: Any = None) -> dict[str, Any]:
    """The parsed line as an update of the stored `incident`, checked again as a whole.

    Fields the line leaves out keep their stored values — `visibility` and `access_groups`
    included, so a file written before them (or by another tool) never makes a restricted
    incident public — exactly as the API's PUT and PATCH do (reports/serializers.py): one rule
    for every way in (PRODUCT.md). A field given, even as null or [], replaces the stored one;
    remediations are never deleted, and one matched by title keeps the fields its item leaves
    out (`merged_changes`, as `PUT /api/remediations/<id>/`). The result goes through the one
    validator with the stored incident and `by`, so the order of given and kept times and who
    would still see it are checked; InvalidRecord with every reason. Prefetch the incident's
    parts and remediations (`for_export`). A record without `RAW` (not from `parse_record`) is
    taken whole.
    """
    raw = parsed.get(RAW)
    if raw is None:
        return parsed
    merged = {**record_of(incident), "remediations": [], **raw}
    items = raw.get("remediations")
    if isinstance(items, list) and items:
        # A remediation matched by title keeps what its item leaves out, as the API's PUT of
        # a remediation does (`merged_changes`).
        # Two of one title are paired in order (a download lists them as they are stored).
        stored: dict[str, list[Remediation]] = {}
        for fix in incident.remediations.all():
            stored.setdefault(fix.title, []).append(fix)
        merged["remediations"] = [
            merged_changes(stored[item["title"].strip()].pop(0), item)
            if isinstance(item, dict)
            and isinstance(item.get("title"), str)
            and stored.get(item["title"].strip())
            else item
            for item in items
        ]
    try:
        result = clean_report(merged, by=by, incident=incident)
    except RecordInvalid as invalid:
        raise InvalidRecord(" | ".join(invalid.errors.as_lines())) from None
    result.setdefault("duplicate_of", incident.duplicate_of_id)  # left out: kept as stored
    return result


class Resolver(CategoryCache):
    """Categories, services and users named in records, each looked up once per import."""

    def forget(self) -> None:
        super().forget()
        self._users: dict[str, Any] = {}

    def user(self, username: str) -> Any:
        if username not in self._users:
            self._users[username] = person_named(username, active_only=False)
        return self._users[username]


@transaction.atomic
def apply_record(
    parsed: dict[str, Any],
    *,
    by: Any = None,
    resolver: Resolver | None = None,
    incident: Incident | None = None,
) -> ApplyResult:
    """Create or update the incident (by external_id, or the `incident` given: one a
    Markdown download names by its id) with its parts and remediations.

    An update changes the fields the line names and keeps the others (`onto`; InvalidRecord
    when the whole is refused). Causes and the timeline, when given, are replaced;
    remediations are matched by title and updated, and none is deleted (`save_report`).
    """
    resolver = resolver or Resolver()
    if incident is None and parsed["external_id"]:
        incident = Incident.objects.filter(external_id=parsed["external_id"]).first()
    created = incident is None
    if incident is not None:
        parsed = onto(parsed, incident, by=by)  # what the line leaves out is kept
    elif "duplicate_of" in parsed.get(RAW, {}):
        errors = Errors()
        original = clean_duplicate_of(parsed[RAW]["duplicate_of"], ("duplicate_of",), errors, by=by)
        if errors:
            raise InvalidRecord(" | ".join(errors.as_lines()))
        parsed = {**parsed, "duplicate_of": original}
    incident = incident or Incident()
    warnings = save_report(
        incident, parsed, by=by, cache=resolver, match_by_title=True,
        expected_version=None if created else incident.version,
    )  # fmt: skip
    return ApplyResult(incident=incident, created=created, warnings=warnings)


def _stamp(moment: datetime.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def for_export(queryset: QuerySet[Incident], *, user: Any = None) -> QuerySet[Incident]:
    """The incidents with everything export_record reads, in a fixed number of queries.

    `user` (None: the system, which sees everything) limits the remediations to those they
    may see, and `duplicate_of` to originals they may see; the caller limits the incidents
    (`Incident.objects.visible_to`).
    """
    remediations = Remediation.objects.visible_to(user).select_related("owner", "category")
    queryset = cast(IncidentQuerySet, queryset).with_shown_original(user)
    return queryset.select_related("duplicate_of").prefetch_related(
        "categories",
        "services",
        "timeline",
        Prefetch("causes", queryset=Cause.objects.select_related("category")),
        Prefetch("remediations", queryset=remediations),
        "access_groups",
    )


def canonical(parsed: dict[str, Any], resolver: Resolver) -> dict[str, Any]:
    """A parsed record in export_record's shape: equal to its export if import changes nothing."""
    return {
        "external_id": parsed["external_id"],
        **{name: parsed[name] for name in ("title", "summary", "body", "severity", "status")},
        "started_at": _stamp(parsed["started_at"]),
        "detected_at": _stamp(parsed["detected_at"]),
        "resolved_at": _stamp(parsed["resolved_at"]),
        "categories": sorted(parsed["categories"]),
        # As stored: a service named in another case or by a merged (old) name is the same.
        "services": sorted(resolver.service_names(parsed["services"]), key=str.lower),
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
                "opened_at": _stamp(r["opened_at"]),
                "done_at": _stamp(r["done_at"]),
                "category": r["category"],
                "tracker_url": r["tracker_url"],
            }
            for r in parsed["remediations"]
        ],
        "source_url": parsed["source_url"],
        "visibility": parsed["visibility"],
        "access_groups": sorted(parsed["access_groups"]),
        **_duplicate_of(original_name(parsed.get("duplicate_of"))),
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
        "visibility": incident.visibility,
        "access_groups": sorted(group.name for group in incident.access_groups.all()),
        **_duplicate_of(_exported_original(incident)),
    }


def _exported_original(incident: Incident) -> str | None:
    """The original as export_record names it (`original_name`), or None when the incident is
    no duplicate or its original is hidden from whoever exports (`for_export`'s `user`)."""
    if shown_original(incident, None) is None:  # reads for_export's annotation
        return None
    original = incident.duplicate_of
    assert original is not None
    return original.external_id or f"INC-{original.pk}"


def _duplicate_of(name: str | None) -> dict[str, str]:
    """The optional `duplicate_of` of a line: written only for a duplicate whose original the
    exporter may see. Left out, an import keeps what is stored, so a file exported by someone
    the original is hidden from never un-marks it, and a line of an incident that is no
    duplicate reads as it did before the field existed."""
    return {"duplicate_of": name} if name else {}
