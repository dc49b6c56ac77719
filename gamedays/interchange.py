"""Game days in the interchange format: a `game_days` JSON Lines file, one game day a line,
with its scenarios (PRODUCT.md, "Interchange format"; docs/import-export.md).

`parse_record` hands a decoded line to the one validator (`gamedays.records.clean_game_day`)
after turning the fixes each scenario verifies from references into ids; `apply_record`
hands it to the one write path (`gamedays.actions.save_game_day`); `export_record` writes a
game day back so that export → import → export is identical.

A fix a scenario verifies is named portably, by its title and its incident's `external_id`:
`{"title": "Five etcd members", "incident": "pm-2019-014"}` — what `import_incidents`
matches remediations on too. A fix without such an incident is named by its id on the
instance that exported it, with its title as a check: `{"title": "…", "id": 12}`; importing
it elsewhere names the mismatch. A bare id (`12`) is taken as well.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet

from common.jsonlines import InvalidRecord
from common.validation import Errors, RecordInvalid
from gamedays.actions import game_day_record_of, save_game_day
from gamedays.models import GameDay, Scenario
from gamedays.records import MAX_SCENARIOS, MAX_VERIFIES, clean_game_day
from remediations.models import Remediation


@dataclass
class ApplyResult:
    game_day: GameDay
    state: str  # created | updated | unchanged
    warnings: list[str] = field(default_factory=list)


class FixResolver:
    """Remediation references of a file, each looked up once per import."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, Any, Any], int | str] = {}

    def resolve(self, ref: Any) -> int | str:
        """The id of the fix `ref` names, or a message (text) saying why there is none."""
        if isinstance(ref, int) and not isinstance(ref, bool):
            return ref  # an id: the write path says whether it exists and fits
        if not isinstance(ref, dict):
            return (
                'must name a remediation: {"title": …, "incident": "<external_id>"}, '
                '{"title": …, "id": …} or an id.'
            )
        title, incident, pk = ref.get("title"), ref.get("incident"), ref.get("id")
        if not isinstance(title, str) or not title.strip():
            return "must give the remediation's `title`."
        key = (title, incident, pk)
        if key not in self._found:
            self._found[key] = self._look_up(title.strip(), incident, pk)
        return self._found[key]

    @staticmethod
    def _look_up(title: str, incident: Any, pk: Any) -> int | str:
        if isinstance(incident, str) and incident.strip():
            ids = list(
                Remediation.objects.filter(
                    incident__external_id=incident.strip(), title=title
                ).values_list("pk", flat=True)[:2]
            )
            if not ids:
                return f"names no remediation: none called “{title}” on incident {incident!r}."
            if len(ids) > 1:
                return f"is ambiguous: incident {incident!r} has several “{title}”; use its id."
            return ids[0]
        if isinstance(pk, int) and not isinstance(pk, bool) and 0 < pk < 2**63:
            fix = Remediation.objects.filter(pk=pk).only("title").first()
            if fix is None:
                return f"names no remediation: there is no remediation {pk}."
            if fix.title != title:
                return (
                    f"names remediation {pk}, which is “{fix.title}” here, not “{title}”: was "
                    "the file exported elsewhere? Name it by its incident's external_id."
                )
            return pk
        return "must name its `incident` (an external_id) or its `id`."


def parse_record(value: Any, resolver: FixResolver | None = None) -> dict[str, Any]:
    """A decoded line checked by the one validator; InvalidRecord with every reason.

    Scenario `id`s in a file are ignored: they belong to the instance that wrote it.
    """
    if not isinstance(value, dict):
        raise InvalidRecord("a line must hold a JSON object")
    resolver = resolver or FixResolver()
    errors = Errors()
    raw = dict(value)
    scenarios = raw.get("scenarios")
    if isinstance(scenarios, list) and len(scenarios) <= MAX_SCENARIOS:
        raw["scenarios"] = [
            _with_fix_ids(item, n, resolver, errors) if isinstance(item, dict) else item
            for n, item in enumerate(scenarios)
        ]
    record = clean_game_day(raw, errors)
    if errors:
        raise InvalidRecord(" | ".join(errors.as_lines()))
    return record


def _with_fix_ids(
    item: dict[str, Any], n: int, resolver: FixResolver, errors: Errors
) -> dict[str, Any]:
    scenario = {key: value for key, value in item.items() if key != "id"}
    refs = scenario.get("verifies")
    if isinstance(refs, list) and len(refs) <= MAX_VERIFIES:
        ids = []
        for m, ref in enumerate(refs):
            found = resolver.resolve(ref)
            if isinstance(found, str):
                errors.add(("scenarios", n, "verifies", m), found)
            else:
                ids.append(found)
        scenario["verifies"] = ids
    return scenario


@transaction.atomic
def apply_record(parsed: dict[str, Any]) -> ApplyResult:
    """Create or update the game day (by external_id) with its scenarios.

    The file's scenarios are matched to the stored ones by failure mode and injection, then
    in order; stored ones left unmatched are removed, unless they ran (then the line fails,
    as the API would refuse it: a result is evidence). InvalidRecord with every reason.
    """
    game_day = None
    if parsed["external_id"]:
        game_day = GameDay.objects.filter(external_id=parsed["external_id"]).first()
    created = game_day is None
    game_day = game_day or GameDay()
    if not created:
        _match_scenarios(parsed, game_day_record_of(game_day)["scenarios"])
    version = game_day.version
    try:
        warnings = save_game_day(
            game_day, parsed, by=None, expected_version=None if created else version
        )
    except RecordInvalid as invalid:
        raise InvalidRecord(" | ".join(invalid.errors.as_lines())) from None
    if created:
        return ApplyResult(game_day, "created", warnings)
    return ApplyResult(
        game_day, "unchanged" if game_day.version == version else "updated", warnings
    )


def _match_scenarios(parsed: dict[str, Any], stored: list[dict[str, Any]]) -> None:
    remaining = list(stored)
    for item in parsed["scenarios"]:
        same = next(
            (s for s in remaining
             if (s["category"], s["injection"]) == (item["category"], item["injection"])),
            None,
        )  # fmt: skip
        if same is not None:
            item["id"] = same["id"]
            remaining.remove(same)
    for item in parsed["scenarios"]:
        if item["id"] is None and remaining:
            item["id"] = remaining.pop(0)["id"]


def _stamp(moment: datetime.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def for_export(queryset: QuerySet[GameDay], *, user: Any = None) -> QuerySet[GameDay]:
    """The game days with everything export_record reads, in a fixed number of queries.

    `user` (None: the system, which sees everything) leaves out the scenarios and fixes
    hidden from them (those of restricted incidents they may not see)."""
    fixes = Remediation.objects.visible_to(user).select_related("incident")
    scenarios = (
        Scenario.objects.visible_to(user)
        .select_related("category")
        .prefetch_related("services", Prefetch("verifies", fixes))
    )
    return queryset.select_related("facilitator").prefetch_related(
        "participants", Prefetch("scenarios", scenarios)
    )


def fix_reference(fix: Remediation) -> dict[str, Any]:
    """A fix named portably when its incident has an external_id, else by its id here."""
    if fix.incident is not None and fix.incident.external_id:
        return {"title": fix.title, "incident": fix.incident.external_id}
    return {"title": fix.title, "id": fix.pk}


def _reference_order(ref: dict[str, Any]) -> tuple[str, str, int]:
    return (ref["title"], ref.get("incident") or "", ref.get("id") or 0)


def export_record(game_day: GameDay) -> dict[str, Any]:
    """One game day in the interchange format (use for_export's queryset)."""
    return {
        "external_id": game_day.external_id,
        "title": game_day.title,
        "scheduled_at": _stamp(game_day.scheduled_at),
        "environment": game_day.environment,
        "facilitator": game_day.facilitator.get_username() if game_day.facilitator else None,
        "participants": sorted(
            (u.get_username() for u in game_day.participants.all()), key=str.lower
        ),
        "plan": game_day.plan,
        "notes": game_day.notes,
        "status": game_day.status,
        "scenarios": [
            {
                "title": s.title,
                "category": s.category.path,
                "services": sorted((x.name for x in s.services.all()), key=str.lower),
                "injection": s.injection,
                "hypothesis": s.hypothesis,
                "abort_conditions": s.abort_conditions,
                "rollback_plan": s.rollback_plan,
                "verifies": sorted(
                    (fix_reference(fix) for fix in s.verifies.all()), key=_reference_order
                ),
                "outcome": s.outcome,
                "observations": s.observations,
                "ran_at": _stamp(s.ran_at),
            }
            for s in game_day.scenarios.all()
        ],
    }
