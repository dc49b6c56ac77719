"""Operations on incidents, categories and services, shared by views, API, commands and tasks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify

from common import audit, changes
from common.concurrency import StaleVersion, claim_version, save_versioned, serialize
from common.roles import require_staff, require_writer
from common.validation import Errors
from incidents import images
from incidents.models import (
    PATH_SEPARATOR,
    Cause,
    FailureCategory,
    Incident,
    Service,
    ServiceAlias,
    TimelineEntry,
    Visibility,
    same_name,
)
from incidents.names import canonical_name
from incidents.records import (
    INCIDENT_FIELDS,
    MAX_CAUSES,
    MAX_DESIGN_NOTES,
    MAX_TIMELINE,
    clean_duplicate_of,
)

User = AbstractBaseUser | AnonymousUser


def _unique_slug(path: str) -> str:
    base = slugify(path.replace(PATH_SEPARATOR, " ")) or "category"
    base = base[:100]
    slug, n = base, 2
    while FailureCategory.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def save_category(
    category: FailureCategory, *, by: User | None, expected_version: int | None = None
) -> FailureCategory:
    """Create or update a category, keeping the stored paths of it and its sub-categories right.

    Call `category.full_clean()` first (a form does): it refuses cycles and bad names. An
    update that names the version it started from is refused with StaleVersion, writing
    nothing, when someone saved the category meanwhile; each update makes a new version.
    Writers create and rename categories (they classify incidents); PermissionDenied for a
    viewer (`by` None is the system).
    """
    require_writer(by)
    old_path = None
    if category.pk:
        stored = FailureCategory.objects.get(pk=category.pk)
        if (stored.name, stored.parent_id, stored.description) == (
            category.name,
            category.parent_id,
            category.description,
        ):
            return category  # nothing changed: no new version
        current = stored.version
        claim_version(category, current if expected_version is None else expected_version)
        old_path = FailureCategory.objects.values_list("path", flat=True).get(pk=category.pk)
    parent_path = category.parent.path if category.parent else ""
    category.path = (
        f"{parent_path}{PATH_SEPARATOR}{category.name}" if parent_path else category.name
    )
    if not category.slug:
        category.slug = _unique_slug(category.path)
    category.save()
    if old_path is not None and old_path != category.path:
        changes.category_moved(category.pk)
        # Rename or move: rewrite the path prefix of everything below, deepest last.
        below = FailureCategory.objects.filter(path__startswith=old_path + PATH_SEPARATOR)
        for child in below.order_by("path"):
            child.path = category.path + child.path[len(old_path) :]
            child.save(update_fields=["path"])
    return category


def split_category_path(path: str) -> list[str]:
    """'A > B' → ['A', 'B'], tolerant of stray spaces around the separator."""
    return [part.strip() for part in path.split(PATH_SEPARATOR.strip()) if part.strip()]


def get_or_create_category(path: str) -> FailureCategory:
    """The category at the path "A > B", creating any missing level."""
    names = split_category_path(path)
    if not names:
        raise ValueError("A category path needs at least one name.")
    parent: FailureCategory | None = None
    for depth in range(len(names)):
        full = PATH_SEPARATOR.join(names[: depth + 1])
        # Ignoring case: "networking > dns" is the failure mode "Networking > DNS", not a
        # second tree beside it that recurrence would never connect.
        existing = FailureCategory.objects.filter(path__iexact=full).first()
        if existing is None:
            # The caller (save_incident, an import, the demo) has checked who writes.
            existing = save_category(FailureCategory(name=names[depth], parent=parent), by=None)
        parent = existing
    assert parent is not None
    return parent


def service_named(name: str) -> Service | None:
    """The service called `name` (ignoring case, as its unique constraint does), or the one it
    was merged into; else None. `name` is read in its one spelling (`canonical_name`)."""
    name = canonical_name(name)
    service = Service.objects.filter(same_name(name)).first()
    if service is None:
        alias = ServiceAlias.objects.select_related("service").filter(same_name(name)).first()
        service = alias.service if alias is not None else None
    return service


def get_or_create_services(names: Iterable[str]) -> list[Service]:
    """Services by name (case-insensitive), created when missing, in the order given.

    A name merged into another service (an alias) is that service (PRODUCT.md, "service":
    `aliases`), so the API and the importers keep accepting old names.
    """
    services: list[Service] = []
    for raw in names:
        name = canonical_name(raw)  # look-alike names are one service (names.py)
        if not name:
            continue
        service = service_named(name)
        if service is None:
            service = Service.objects.create(name=name)
        if service not in services:
            services.append(service)
    return services


def stored_service_names(names: Iterable[str]) -> dict[str, str]:
    """{name given: the name of the service it names}, for each name that names an existing
    service, ignoring case (`same_name`) or as a name merged into it (an alias). Names of no
    service are left out. Two queries, none without a name."""
    wanted = list(dict.fromkeys(name.strip() for name in names if name.strip()))
    if not wanted:
        return {}
    match = Q()
    for name in wanted:
        match |= Q(same_name(canonical_name(name)))
    # Which given name each row matches, in the database's own idea of case (one column each).
    matches = {f"given_{n}": same_name(canonical_name(name)) for n, name in enumerate(wanted)}
    found: dict[str, str] = {}
    rows = [
        *Service.objects.filter(match).annotate(**matches).values("name", *matches),
        *ServiceAlias.objects.filter(match).annotate(**matches).values("service__name", *matches),
    ]
    for row in rows:
        for n, name in enumerate(wanted):
            if row[f"given_{n}"]:
                found.setdefault(name, row.get("name") or row["service__name"])
    return found


NAME_UNAVAILABLE = "“{name}” can't be a service name here: choose another name."


def service_name_taken(
    name: str, *, by_other_than: Service, viewer: User | None = None
) -> str | None:
    """Why `name` (in its one spelling) can't be this service's, as told to `viewer` (None:
    the system, which sees every service); None when it can be.

    Another service has the name, or it is another service's alias (a name merged into it):
    the message names that service. A service hidden from `viewer` (`Service.objects
    .visible_to`: only restricted incidents they can't see name it) is neither named nor said
    to exist: NAME_UNAVAILABLE, which a name no one may take for other reasons could give too
    (the breaker's item 1 of issue 17). A name merged into this very service is refused too:
    it already leads here (in the API and the importer), and as its name it would be both.
    """
    name = canonical_name(name)
    visible = Service.objects.visible_to(viewer)
    other = Service.objects.filter(same_name(name)).exclude(pk=by_other_than.pk).first()
    if other is not None:
        if visible.filter(pk=other.pk).exists():
            return f"There is already a service “{other.name}”."
        return NAME_UNAVAILABLE.format(name=name)
    alias = ServiceAlias.objects.filter(same_name(name)).select_related("service").first()
    if alias is None:
        return None
    if by_other_than.pk and alias.service_id == by_other_than.pk:
        return (
            f"“{alias.name}” is already another name of this service (merged into it): it "
            f"leads here in the API and the importer. Keep “{by_other_than.name}”, or choose "
            "a name no service has had."
        )
    if visible.filter(pk=alias.service_id).exists():
        return f"“{name}” is another name of the service “{alias.service.name}”."
    return NAME_UNAVAILABLE.format(name=name)


def save_service(
    service: Service,
    *,
    by: User | None,
    name: str | None = None,
    description: str | None = None,
    design_notes: str | None = None,
    expected_version: int | None = None,
) -> Service:
    """Create a service, or rename it or change its description or design notes.

    Each change makes a new version, kept in its history with `by` as author (PRODUCT.md,
    "every write is versioned"). An update naming the version it started from is refused with
    StaleVersion, writing nothing, when someone saved meanwhile; without one it is based on
    the stored version. A rename re-indexes the incidents it affected. A new name is stored in
    its one spelling (`names.canonical_name`). Raises ValueError when another service or an
    alias has the name, ignoring case (`service_name_taken`, whose message hides services
    hidden from `by`), or it is empty, and PermissionDenied for a viewer (`by` None is the
    system). Fields left None are unchanged.
    """
    require_writer(by)
    stored = Service.objects.filter(pk=service.pk).first() if service.pk else None
    name = service.name if name is None else name
    if stored is None or name != stored.name:
        name = canonical_name(name)
        if not name:
            raise ValueError("A service needs a name.")
    if stored is None or name != stored.name:
        clash = service_name_taken(name, by_other_than=service, viewer=by)
        if clash:
            raise ValueError(clash)
    new = {
        "name": name,
        "description": service.description if description is None else description,
        "design_notes": service.design_notes if design_notes is None else design_notes,
    }
    if stored is not None and all(getattr(stored, k) == v for k, v in new.items()):
        if expected_version is not None and expected_version != stored.version:
            raise StaleVersion(stored, expected_version)
        return stored  # nothing changed: no new version
    renamed = stored is not None and stored.name != name
    for field, value in new.items():
        setattr(service, field, value)
    with transaction.atomic():
        if stored is not None and expected_version is None:
            expected_version = stored.version
        if stored is not None:
            claim_version(service, expected_version if expected_version is not None else -1)
        if by is not None and by.is_authenticated:
            service._history_user = by  # type: ignore[attr-defined]  # read by simple-history
        service.save()
        if renamed:
            changes.service_changed(service.pk)
    return service


def merge_services(source: Service, target: Service, *, by: User | None) -> Service:
    """Merge `source` into `target`: staff only (PRODUCT.md, "Merging services").

    The incidents and scenarios of `source` move to `target`; its name and aliases become
    aliases of `target` (its old page redirects there); its design notes, if any, are added
    at the end of `target`'s (a new version of it), so nothing written is lost. `source` is
    deleted, which the audit log records. The moved incidents are re-indexed after the commit.
    Raises ValueError when both are the same service, when either was merged away or deleted
    meanwhile, or when the notes together would pass MAX_DESIGN_NOTES (nothing changed),
    PermissionDenied for anyone but staff.
    """
    require_staff(by)
    if source.pk == target.pk:
        raise ValueError("A service can't be merged into itself.")
    with transaction.atomic():
        # Both rows locked in id order: two merges of one pair, either way round, wait for each
        # other instead of deadlocking; a row the first one merged away is then not found.
        locked = {
            service.pk: service
            for service in Service.objects.select_for_update()
            .filter(pk__in=[source.pk, target.pk])
            .order_by("pk")
        }
        for gone in (source, target):
            if gone.pk not in locked:
                raise ValueError(_gone_meanwhile(gone, by))
        source, target = locked[source.pk], locked[target.pk]
        notes = source.design_notes.strip()
        joined = f"{target.design_notes.rstrip()}\n\n## From {source.name}\n\n{notes}\n".lstrip()
        if notes and len(joined) > MAX_DESIGN_NOTES:
            # Stored, they would be notes no page, API call or admin save could keep (each
            # checks the limit): nothing is merged; shortening either first lets it through.
            raise ValueError(
                f"Together the design notes of “{source.name}” and “{target.name}” would be "
                f"{len(joined):,} characters long; the limit is {MAX_DESIGN_NOTES:,}. Shorten "
                "either first: nothing was changed."
            )
        moved = list(source.incidents.values_list("pk", flat=True))
        links = Incident.services.through.objects
        already = set(links.filter(service=target, incident_id__in=moved).values_list(
            "incident_id", flat=True
        ))  # fmt: skip
        links.bulk_create(
            links.model(incident_id=pk, service_id=target.pk) for pk in moved if pk not in already
        )
        # Scenarios are the game days' (which build on incidents): reached through the relation.
        scenario_links = Service.scenarios.through.objects
        scenario_ids = list(scenario_links.filter(service=source).values_list(
            "scenario_id", flat=True
        ))  # fmt: skip
        have = set(scenario_links.filter(service=target, scenario_id__in=scenario_ids)
                   .values_list("scenario_id", flat=True))  # fmt: skip
        scenario_links.bulk_create(
            scenario_links.model(scenario_id=pk, service_id=target.pk)
            for pk in scenario_ids
            if pk not in have
        )
        source.aliases.update(service=target)
        target_pk, source_name, source_pk = target.pk, source.name, source.pk
        audit.record(
            audit.Action.DELETION,
            by=by,
            target=audit.describe(source),
            detail={"merged_into": {"id": target_pk, "name": target.name}},
        )
        source.delete()  # its links go with it; the incidents now name the target
        # One alias per name: one of the source's own already spelled like it (a rename before
        # that was refused, issue 17) gets its old page instead of a second row (an error).
        same = ServiceAlias.objects.filter(same_name(source_name))
        if same.exists():
            same.filter(former_id__isnull=True).update(former_id=source_pk)
        else:
            ServiceAlias.objects.create(service=target, name=source_name, former_id=source_pk)
        if notes:
            save_service(target, by=by, design_notes=joined)
        changes.incidents_changed(moved)
    return target


def _gone_meanwhile(service: Service, by: User | None) -> str:
    """Why a service read a moment ago can't be merged now: merged into another, or deleted."""
    alias = ServiceAlias.objects.filter(former_id=service.pk).select_related("service").first()
    if alias is not None and Service.objects.visible_to(by).filter(pk=alias.service_id).exists():
        return (
            f"“{service.name}” was merged into “{alias.service.name}” meanwhile: "
            "nothing was changed. Choose again."
        )
    return f"“{service.name}” was deleted meanwhile: nothing was changed. Choose again."


def delete_category(category: FailureCategory, *, by: User | None) -> None:
    """Delete a category: staff only (PRODUCT.md, "Who may see and change what").

    The incidents it classified lose it and are re-evaluated after the commit. Raises
    PermissionDenied for anyone but staff, and ProtectedError (nothing deleted) while causes,
    remediations, flags, scenarios or sub-categories still use it.
    """
    require_staff(by)
    with transaction.atomic():
        affected = list(category.incidents.values_list("pk", flat=True))
        category.delete()
        if affected:
            changes.incidents_changed(affected)


def delete_service(service: Service, *, by: User | None) -> None:
    """Delete a service: staff only. The incidents it affected lose it and are re-indexed."""
    require_staff(by)
    with transaction.atomic():
        affected = list(service.incidents.values_list("pk", flat=True))
        service.delete()
        if affected:
            changes.incidents_changed(affected)


class CategoryCache:
    """Categories and services named in records, each looked up (or created) once.

    An import shares one across its lines; call `forget()` after a rolled-back transaction,
    since rows created in it no longer exist.
    """

    def __init__(self) -> None:
        self.forget()

    def forget(self) -> None:
        self._categories: dict[str, FailureCategory] = {}
        self._services: dict[str, Service] = {}
        self._service_names: dict[str, str] = {}  # a name as given, stripped: as stored

    def category(self, path: str) -> FailureCategory:
        if path not in self._categories:
            self._categories[path] = get_or_create_category(path)
        return self._categories[path]

    def services(self, names: Iterable[str]) -> list[Service]:
        found: list[Service] = []
        for name in names:
            key = canonical_name(name).lower()
            if key and key not in self._services:
                (self._services[key],) = get_or_create_services([name])
            if key and self._services[key] not in found:
                found.append(self._services[key])
        return found

    def service_names(self, names: list[str]) -> list[str]:
        """The names as an incident or scenario naming them holds them: a name of an existing
        service, in any case or merged into it (an alias), is that service's name, and each
        service is named once. So a record naming a service in another case or by an old name
        compares equal to the stored one (no empty new version; an import line "unchanged"),
        and its history names the services it has. Each name is looked up once (two queries
        for those not yet seen, `stored_service_names`)."""
        missing = [n.strip() for n in names if n.strip() and n.strip() not in self._service_names]
        # A name no service has is stored as it will be created: in its one spelling.
        if missing:
            stored = stored_service_names(missing)
            self._service_names.update(
                {name: stored.get(name, canonical_name(name)) for name in missing}
            )
        canonical: list[str] = []
        for raw in names:
            name = self._service_names.get(raw.strip(), "")
            if name and name.lower() not in {n.lower() for n in canonical}:
                canonical.append(name)
        return canonical


def parts_of(record: dict[str, Any]) -> dict[str, Any]:
    """The nested parts of a cleaned record as kept in each history version (JSON).

    Shape: {"categories": [paths, sorted], "services": [names, sorted ignoring case],
    "causes": [{"kind", "description", "category"}], "timeline": [{"at": ISO 8601, "text"}],
    "access_groups": [group names, sorted]}. Versions kept before access groups existed have
    no "access_groups" (read them as []).
    """
    return {
        "access_groups": sorted(record.get("access_groups", [])),
        "categories": sorted(record["categories"]),
        "services": sorted(record["services"], key=str.lower),
        "causes": [
            {"kind": c["kind"], "description": c["description"], "category": c["category"]}
            for c in record["causes"]
        ],
        "timeline": [
            {"at": t["at"].isoformat().replace("+00:00", "Z"), "text": t["text"]}
            for t in record["timeline"]
        ],
    }


def same_record(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when two records hold the same fields and parts (in `parts_of`'s order)."""
    return all(a[name] == b[name] for name in INCIDENT_FIELDS) and parts_of(a) == parts_of(b)


def record_of(incident: Incident) -> dict[str, Any]:
    """The stored incident as a cleaned record (the input of `save_incident`).

    Prefetch categories, services, causes with their category, the timeline and the access
    groups.
    """
    return {
        **{name: getattr(incident, name) for name in INCIDENT_FIELDS},
        "categories": [c.path for c in incident.categories.all()],
        "services": [s.name for s in incident.services.all()],
        "causes": [
            {
                "kind": c.kind,
                "description": c.description,
                "category": c.category.path if c.category else None,
            }  # fmt: skip
            for c in incident.causes.all()
        ],
        "timeline": [{"at": t.at, "text": t.text} for t in incident.timeline.all()],
        "access_groups": sorted(g.name for g in incident.access_groups.all()),
    }


def save_incident(
    incident: Incident,
    record: dict[str, Any],
    *,
    by: User | None,
    expected_version: int | None,
    cache: CategoryCache | None = None,
) -> Incident:
    """Create an incident, or update it from the version the writer started from, whole.

    `record` comes from `incidents.records.clean_incident` (or `remediations.records.
    clean_report`): the incident's fields and all its parts — categories, services, causes,
    timeline — which replace the stored ones. One new version covers all of it; the version's
    history record keeps the parts (`parts_of`), so history and the conflict page show them.
    After the commit, search and the recurrence engine hear of it (common/changes.py).

    Raises StaleVersion, writing nothing, when someone saved a newer version meanwhile, and
    PermissionDenied for a viewer (`by` None is the system: an import command, a task).
    """
    require_writer(by)
    cache = cache or CategoryCache()
    record = {**record, "services": cache.service_names(record["services"])}
    # `duplicate_of` (an id, from clean_duplicate_of) is optional: left out, it stays as stored.
    duplicate_of = record.get("duplicate_of", incident.duplicate_of_id)
    marked = duplicate_of != incident.duplicate_of_id
    if incident.pk and not marked and same_record(record_of(incident), record):
        return incident  # nothing changed: no new version, no history entry, no conflict
    seen_by = _visibility_of(incident.pk) if incident.pk else None  # for the audit log
    with transaction.atomic():
        if marked and duplicate_of is not None:
            duplicate_of = _recheck_original(incident, duplicate_of, by=by)
        for name in INCIDENT_FIELDS:
            setattr(incident, name, record[name])
        incident.duplicate_of_id = duplicate_of
        save_versioned(incident, by=by, expected_version=expected_version, creator_field="author")
        incident.categories.set([cache.category(path) for path in record["categories"]])
        incident.services.set(cache.services(record["services"]))
        incident.access_groups.set(Group.objects.filter(name__in=record.get("access_groups", [])))
        incident.causes.all().delete()
        Cause.objects.bulk_create(
            Cause(
                incident=incident,
                kind=cause["kind"],
                description=cause["description"],
                category=cache.category(cause["category"]) if cause["category"] else None,
            )
            for cause in record["causes"]
        )
        incident.timeline.all().delete()
        TimelineEntry.objects.bulk_create(
            TimelineEntry(incident=incident, at=entry["at"], text=entry["text"])
            for entry in record["timeline"]
        )
        latest = incident.history.order_by("-history_id").values_list("history_id", flat=True)[:1]
        incident.history.filter(history_id__in=list(latest)).update(parts=parts_of(record))
        images.bind_pending(incident, record["body"], by=by)  # pictures of a new report
        changed = [incident.pk]
        if marked and duplicate_of is not None:
            changed += _repoint_duplicates(incident, duplicate_of)
        if seen_by is not None and seen_by[0] != incident.visibility:
            # Its duplicates are searched on their own while it is restricted (search.index).
            changed += Incident.objects.filter(duplicate_of=incident).values_list("pk", flat=True)
        changes.incidents_changed(changed)
        _audit_visibility(incident, seen_by, by=by)
    return incident


def _recheck_original(incident: Incident, original_id: int, *, by: User | None) -> int:
    """The original `incident` is about to be marked a duplicate of, checked again under a lock
    every marking takes: the check made before (clean_duplicate_of) read rows that someone
    marking at the same moment may have changed since — B marked a duplicate of A while A is
    being marked one of B would leave a cycle whose pages redirect to each other forever, and
    a target just marked a duplicate itself would leave a chain. Returns the original's id
    (its own original's, if it has just become a duplicate); raises RecordInvalid for a cycle,
    with the reason clean_duplicate_of gives."""
    serialize("incident duplicate_of")
    errors = Errors()
    checked = clean_duplicate_of(original_id, ("duplicate_of",), errors, by=by, incident=incident)
    errors.raise_if_any()
    assert checked is not None
    return checked


def _repoint_duplicates(incident: Incident, original_id: int) -> list[int]:
    """Incidents marked as duplicates of `incident`, now a duplicate itself, are marked as
    duplicates of its original: no chains. Each is a new version, saved by the system."""
    moved = []
    for duplicate in Incident.objects.filter(duplicate_of=incident).exclude(pk=original_id):
        duplicate.duplicate_of_id = original_id
        save_versioned(
            duplicate, by=None, expected_version=duplicate.version, creator_field="author"
        )
        _keep_parts(duplicate)
        moved.append(duplicate.pk)
    return moved


def _keep_parts(incident: Incident) -> None:
    """Copy the parts of the previous version onto the newest history record (a save that
    changed only a field keeps the parts as they were)."""
    rows = list(incident.history.order_by("-history_id").values_list("history_id", "parts")[:2])
    if len(rows) == 2:
        incident.history.filter(history_id=rows[0][0]).update(parts=rows[1][1])


def mark_duplicate(
    incident: Incident,
    original: Any,
    *,
    by: User | None,
    expected_version: int | None,
    carry_timeline: bool = False,
    carry_causes: bool = False,
) -> Incident:
    """Mark `incident` as a duplicate of `original` (an id or "INC-42"), or un-mark it (None).

    The incident then leaves lists, search and the review agenda, and its page redirects to
    the original, which lists it (PRODUCT.md, "Writing, duplicates and importing Markdown").
    With `carry_timeline` / `carry_causes`, its timeline entries and causes are added to the
    original's (those it already has are not repeated), as a new version of the original.

    Raises RecordInvalid when `original` is the incident itself, a cycle, unknown or hidden
    from `by` (incidents.records.clean_duplicate_of), StaleVersion when the incident changed
    since `expected_version`, and PermissionDenied for a viewer.
    """
    require_writer(by)
    errors = Errors()
    target = clean_duplicate_of(original, ("duplicate_of",), errors, by=by, incident=incident)
    if original in (None, "") and target is not None:
        # Un-marking asked for by someone the original is hidden from: the validator keeps the
        # link for them (a null they were shown); this action says so rather than pretend.
        errors.add(
            ("duplicate_of",),
            "It is a duplicate of an incident you can't see: only someone who may see that "
            "incident can un-mark it.",
        )
    errors.raise_if_any()
    with transaction.atomic():
        save_incident(
            incident,
            {**record_of(incident), "duplicate_of": target},
            by=by,
            expected_version=expected_version,
        )
        if target is not None and (carry_timeline or carry_causes):
            _carry_over(incident, target, by=by, timeline=carry_timeline, causes=carry_causes)
    return incident


def _carry_over(
    duplicate: Incident, original_id: int, *, by: User | None, timeline: bool, causes: bool
) -> None:
    original = Incident.objects.select_for_update().get(pk=original_id)
    record = record_of(original)
    theirs = record_of(duplicate)
    errors = Errors()
    if _seen_by_more(original, than=duplicate):
        errors.add(
            ("carry_timeline",) if timeline else ("carry_causes",),
            f"{duplicate.reference} is restricted and INC-{original_id} may be seen by people "
            f"{duplicate.reference} is hidden from: its timeline and causes are not carried "
            "over. Mark it without carrying them, or copy over by hand what may be shared.",
        )
        errors.raise_if_any()
    if timeline:
        for entry in theirs["timeline"]:
            if entry not in record["timeline"]:
                record["timeline"].append(entry)
        record["timeline"].sort(key=lambda e: e["at"])
        if len(record["timeline"]) > MAX_TIMELINE:
            errors.add(
                ("carry_timeline",),
                f"The original would have more than {MAX_TIMELINE} timeline entries.",
            )
    if causes:
        for cause in theirs["causes"]:
            if cause not in record["causes"]:
                record["causes"].append(cause)
        if len(record["causes"]) > MAX_CAUSES:
            errors.add(("carry_causes",), f"The original would have more than {MAX_CAUSES} causes.")
    errors.raise_if_any()
    save_incident(original, record, by=by, expected_version=original.version)


def _seen_by_more(original: Incident, *, than: Incident) -> bool:
    """Whether someone who may not see the restricted incident `than` may see `original`.

    A restricted incident's text exists only for its audience (PRODUCT.md, "Who may see and
    change what"): carrying its timeline or causes into an original seen more widely would
    show them to everyone who sees that original. Judged conservatively: the original must be
    restricted to groups all among `than`'s, and its author must see `than`."""
    if than.visibility != Visibility.RESTRICTED:
        return False
    if original.visibility != Visibility.RESTRICTED:
        return True
    theirs = set(than.access_groups.values_list("pk", flat=True))
    if not set(original.access_groups.values_list("pk", flat=True)) <= theirs:
        return True
    return original.author_id is not None and not than.is_visible_to(original.author)


# --- The audit log: who may see an incident (PRODUCT.md, "/audit/ lists … changes of
# visibility"). Compared as stored, before and after the save, whatever the caller changed.

Seen = tuple[str, list[str]]  # (visibility, access group names, sorted)


def _visibility_of(pk: int) -> Seen | None:
    """The stored visibility and access groups of incident `pk` (one query); None if absent."""
    rows = list(Incident.objects.filter(pk=pk).values_list("visibility", "access_groups__name"))
    if not rows:
        return None
    return rows[0][0], sorted(name for _, name in rows if name)


def audit_new_incident_visibility(incident: Incident, *, by: User | None) -> None:
    """Record who may see an incident created without `save_incident` (a bulk import writes
    rows directly: reports/importer.py), exactly as `save_incident` records a new one: an
    event only if it starts restricted or with access groups. Call it in the transaction
    that created the incident, after its access groups are stored."""
    _audit_visibility(incident, None, by=by)


def _audit_visibility(incident: Incident, before: Seen | None, *, by: User | None) -> None:
    """Record a change of visibility or access groups; a new incident only if restricted."""
    before = before or (Visibility.EVERYONE.value, [])
    after = _visibility_of(incident.pk)
    if after is not None and after != before:
        audit.record(
            audit.Action.VISIBILITY_CHANGE,
            by=by,
            target=incident,
            detail={"visibility": [before[0], after[0]], "access_groups": [before[1], after[1]]},
        )
