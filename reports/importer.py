"""Importing many interchange records quickly: new incidents are written in batches.

New incidents, their category and service links, causes, timelines and remediations are
inserted with one COPY per table and batch on PostgreSQL (common/bulk.py); their edit
history is written the same way, so bulk imports are never missing from the history.
Records that update an existing incident take the careful per-record path (`apply_record`),
changing only the fields the line names (`reports.interchange.onto`, the API's rule).
If a batch fails in the database, its records are retried one by one, so the failure is
pinned to its line and the other lines still import.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group
from django.db import DatabaseError, transaction

from common import changes
from common.bulk import create_with_history, insert_rows, relax_commit_durability
from common.roles import require_writer
from incidents.actions import audit_new_incident_visibility, parts_of
from incidents.models import Cause, Incident, TimelineEntry, Visibility
from incidents.records import INCIDENT_FIELDS
from remediations.actions import unassigned
from remediations.models import Remediation
from reports.interchange import (
    InvalidRecord,
    Resolver,
    apply_record,
    canonical,
    export_record,
    for_export,
    names_an_original,
    onto,
)


@dataclass
class Outcome:
    """What happened to one line: created, updated, unchanged, or failed with a reason."""

    line: int
    state: str = "created"  # created | updated | unchanged | failed
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Prepared:
    line: int
    parsed: dict[str, Any]
    incident: Incident
    remediations: list[tuple[Remediation, dict[str, Any]]]
    warnings: list[str]


class BatchImporter:
    """Feed parsed records with `add`; call `flush` at the end. Both yield Outcomes.

    `by` is who imports (None: the system, e.g. `manage.py import_incidents`); a viewer is
    refused with PermissionDenied before anything is read.
    """

    def __init__(self, *, by: Any = None, batch_size: int = 500) -> None:
        require_writer(by)  # new incidents are bulk-written here, not through save_report
        self.by = by if by is not None and by.is_authenticated else None
        self.batch_size = batch_size
        self.resolver = Resolver()
        self._pending: list[tuple[int, dict[str, Any]]] = []
        self._pending_ids: set[str] = set()
        self._seen: dict[str, int] = {}  # external_id → the line that had it first

    def add(self, line: int, parsed: dict[str, Any]) -> Iterator[Outcome]:
        external_id = parsed["external_id"]
        if external_id and external_id in self._seen:
            # Two lines for one incident in one file: which is right is the writer's call.
            reason = (
                f"external_id {external_id!r} is also on line {self._seen[external_id]}; "
                "a file may hold each incident once (this line was not imported)"
            )
            yield Outcome(line=line, state="failed", error=reason)
            return
        if external_id:
            self._seen[external_id] = line
        if external_id and external_id in self._pending_ids:
            # The same incident twice in one batch: store the first before reading the second.
            yield from self.flush()
        if names_an_original(parsed):
            # A duplicate names an incident of an earlier line: those are stored first, then
            # this line alone, through the one write path (duplicates are few).
            yield from self.flush()
            self._pending.append((line, parsed))
            yield from self.flush()
            return
        self._pending.append((line, parsed))
        if external_id:
            self._pending_ids.add(external_id)
        if len(self._pending) >= self.batch_size:
            yield from self.flush()

    def flush(self) -> Iterator[Outcome]:
        batch, self._pending, self._pending_ids = self._pending, [], set()
        if not batch:
            return
        ids = [p["external_id"] for _, p in batch if p["external_id"]]
        stored = {
            incident.external_id: incident
            for incident in for_export(Incident.objects.filter(external_id__in=ids))
        }
        fresh: list[_Prepared] = []
        for line, parsed in batch:
            if parsed["external_id"] in stored:
                incident = stored[parsed["external_id"]]
                try:
                    parsed = onto(parsed, incident, by=self.by)  # what it leaves out is kept
                except InvalidRecord as error:
                    yield Outcome(line=line, state="failed", error=str(error))
                    continue
                if canonical(parsed, self.resolver) == export_record(incident):
                    # Nothing would change: no new version, no history entry.
                    yield Outcome(line=line, state="unchanged")
                else:
                    yield self._one(line, parsed)
                continue
            if names_an_original(parsed):
                yield self._one(line, parsed)  # resolves and checks its original (apply_record)
                continue
            try:
                fresh.append(self._prepare(line, parsed))
            except InvalidRecord as error:
                yield Outcome(line=line, state="failed", error=str(error))
        if not fresh:
            return
        try:
            with transaction.atomic():
                relax_commit_durability()
                self._create_all(fresh)
        except DatabaseError:
            self.resolver.forget()  # rows it created were rolled back
            for prepared in fresh:
                yield self._one(prepared.line, prepared.parsed)
        else:
            # What a save announces, once for the whole batch: search rebuilds the batch's
            # documents in one set-based pass (remediations included), and recurrence gets one
            # task for the incidents and one for their remediations, not one per remediation.
            changes.incidents_changed([p.incident.pk for p in fresh])
            changes.remediations_with_incidents(
                remediation.pk for prepared in fresh for remediation, _ in prepared.remediations
            )
            for prepared in fresh:
                yield Outcome(line=prepared.line, warnings=prepared.warnings)

    def _one(self, line: int, parsed: dict[str, Any]) -> Outcome:
        try:
            result = apply_record(parsed, by=self.by, resolver=self.resolver)
        except InvalidRecord as error:
            self.resolver.forget()
            return Outcome(line=line, state="failed", error=str(error))
        except DatabaseError as error:
            self.resolver.forget()
            reason = f"the database refused it: {str(error).splitlines()[0]}"
            return Outcome(line=line, state="failed", error=reason)
        state = "created" if result.created else "updated"
        return Outcome(line=line, state=state, warnings=result.warnings)

    def _prepare(self, line: int, parsed: dict[str, Any]) -> _Prepared:
        """Build the rows of one checked record, without touching the database."""
        incident = Incident(author=self.by, **{name: parsed[name] for name in INCIDENT_FIELDS})
        # Its history record's parts name the services as stored (another case, an old name).
        named = {**parsed, "services": self.resolver.service_names(parsed["services"])}
        incident.parts = parts_of(named)  # type: ignore[attr-defined]
        remediations, warnings = [], []
        for item in parsed["remediations"]:
            owner = self.resolver.user(item["owner"]) if item["owner"] else None
            if item["owner"] and owner is None:
                warnings.append(unassigned(item["owner"], item["title"]))
            remediation = Remediation(
                incident=incident, created_by=self.by, owner=owner,
                **{name: item[name] for name in (
                    "title", "description", "kind", "status", "due_date", "opened_at",
                    "done_at", "tracker_url",
                )},
            )  # fmt: skip
            remediations.append((remediation, item))
        return _Prepared(line, parsed, incident, remediations, warnings)

    def _create_all(self, batch: list[_Prepared]) -> None:
        category = self.resolver.category
        incidents = [p.incident for p in batch]
        create_with_history(Incident, incidents, user=self.by)
        insert_rows(
            Incident.categories.through,
            ["incident_id", "failurecategory_id"],
            [
                (p.incident.pk, category_id)
                for p in batch
                for category_id in {category(path).pk for path in p.parsed["categories"]}
            ],
        )
        insert_rows(
            Incident.services.through,
            ["incident_id", "service_id"],
            [
                (p.incident.pk, service.pk)
                for p in batch
                for service in self.resolver.services(p.parsed["services"])
            ],
        )
        groups = dict(
            Group.objects.filter(
                name__in={name for p in batch for name in p.parsed["access_groups"]}
            ).values_list("name", "pk")
        )
        insert_rows(
            Incident.access_groups.through,
            ["incident_id", "group_id"],
            [
                (p.incident.pk, groups[name])
                for p in batch
                for name in p.parsed["access_groups"]
                if name in groups  # deleted since the line was checked: nothing to grant
            ],
        )
        for p in batch:
            # Who may see it is audited as save_incident does (PRODUCT.md, "/audit/ lists …
            # changes of … visibility"); an incident for everyone with no groups needs no event.
            if p.parsed["visibility"] != Visibility.EVERYONE or p.parsed["access_groups"]:
                audit_new_incident_visibility(p.incident, by=self.by)
        insert_rows(
            Cause,
            ["incident_id", "kind", "description", "category_id"],
            [
                (
                    p.incident.pk,
                    c["kind"],
                    c["description"],
                    category(c["category"]).pk if c["category"] else None,
                )  # fmt: skip
                for p in batch
                for c in p.parsed["causes"]
            ],
        )
        insert_rows(
            TimelineEntry,
            ["incident_id", "at", "text"],
            [(p.incident.pk, t["at"], t["text"]) for p in batch for t in p.parsed["timeline"]],
        )
        remediations = []
        for p in batch:
            for remediation, item in p.remediations:
                remediation.incident = p.incident  # now saved: its id is known
                remediation.category = category(item["category"]) if item["category"] else None
                remediations.append(remediation)
        create_with_history(Remediation, remediations, user=self.by)
