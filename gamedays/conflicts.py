"""A game day's versions, for its history page, and a refused stale edit, for the conflict page.

A version covers the whole game day: its fields, participants and scenarios. Each history
record keeps the participants and scenarios of its version (`parts`, written by
`gamedays.actions.save_game_day`), so both pages can say what changed scenario by scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from common.conflicts import Conflict
from common.history import FieldChange, Version, field_changes, versions
from gamedays.actions import game_day_record_of, parts_of, without_scenarios
from gamedays.models import GameDay, Outcome

FIELDS = ["title", "scheduled_at", "environment", "facilitator", "plan", "notes", "status"]
_OUTCOMES = dict(Outcome.choices)


@dataclass
class GameDayVersion:
    version: Version
    participants: list[str] = field(default_factory=list)
    # The scenarios of this version, as kept in its history record (None: not kept).
    scenarios: list[dict[str, Any]] | None = None


def scenario_name(scenario: dict[str, Any]) -> str:
    if scenario.get("title"):
        return str(scenario["title"])
    lines = (scenario.get("injection") or "").strip().splitlines()
    return lines[0][:120] if lines else f"{scenario.get('category')} scenario"


def scenario_text(scenario: dict[str, Any]) -> str:
    """A scenario of a version as a person reads it, one line per field that says something."""
    lines = [
        f"Failure mode: {scenario.get('category')}",
        f"Services: {', '.join(scenario.get('services') or []) or '—'}",
        f"Injected: {scenario.get('injection') or '—'}",
    ]
    labels = {
        "hypothesis": "Hypothesis", "abort_conditions": "Abort when",
        "rollback_plan": "Rollback", "observations": "Observations",
    }  # fmt: skip
    for key, label in labels.items():
        if scenario.get(key):
            lines.append(f"{label}: {scenario[key]}")
    verifies = scenario.get("verifies") or []
    lines.append(f"Verifies: {', '.join(f'#{pk}' for pk in verifies) or '—'}")
    outcome = _OUTCOMES.get(scenario.get("outcome") or "pending", scenario.get("outcome"))
    ran = str(scenario.get("ran_at") or "")[:16].replace("T", " ")
    lines.append(f"Outcome: {outcome}{f' ({ran} UTC)' if ran else ''}")
    return "\n".join(lines)


def _change(label: str, old: str, new: str) -> FieldChange:
    # Multi-line values get a hunk diff from FieldChange itself (common/diffs.py).
    return FieldChange(label=label, before=old, after=new)


def _by_id(parts: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    # Scenarios by id; by position for parts kept without ids.
    return {s.get("id") or f"#{n}": s for n, s in enumerate(parts.get("scenarios") or [])}


def part_changes(before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    """What changed in participants and scenarios between two versions' parts."""
    changes = []
    old_people = ", ".join(before.get("participants") or []) or "—"
    new_people = ", ".join(after.get("participants") or []) or "—"
    if old_people != new_people:
        changes.append(_change("Participants", old_people, new_people))
    old, new = _by_id(before), _by_id(after)
    for pk, scenario in new.items():
        if pk not in old:
            changes.append(
                _change(f"Scenario “{scenario_name(scenario)}” added", "—", scenario_text(scenario))
            )
        elif old[pk] != scenario:
            changes.append(
                _change(
                    f"Scenario “{scenario_name(scenario)}”",
                    scenario_text(old[pk]),
                    scenario_text(scenario),
                )
            )
    for pk, scenario in old.items():
        if pk not in new:
            changes.append(
                _change(
                    f"Scenario “{scenario_name(scenario)}” removed", scenario_text(scenario), "—"
                )
            )
    if [s.get("id") for s in before.get("scenarios") or []] != [
        s.get("id") for s in after.get("scenarios") or []
    ] and set(old) == set(new):
        changes.append(_change("Order of the scenarios", "", "changed"))
    return changes


def game_day_versions(game_day: GameDay, hidden: set[int] | None = None) -> list[GameDayVersion]:
    """Every version of the game day, newest first, with what it changed and its scenarios,
    leaving out the `hidden` scenarios (ids hidden from the reader) in every version."""
    result = versions(game_day, FIELDS, related=("facilitator",))
    history = game_day.history
    parts = [
        without_scenarios(kept, hidden or set()) if kept is not None else None
        for kept in history.order_by("history_date", "history_id").values_list("parts", flat=True)
    ]
    oldest_first = list(reversed(result))
    entries = []
    for n, version in enumerate(oldest_first):
        kept = parts[n] if n < len(parts) else None
        earlier = parts[n - 1] if n else None
        if kept is not None and earlier is not None:
            version.changes.extend(part_changes(earlier, kept))
        entries.append(
            GameDayVersion(
                version=version,
                participants=(kept or {}).get("participants") or [],
                scenarios=(kept or {}).get("scenarios") if kept is not None else None,
            )
        )
    return list(reversed(entries))


@dataclass
class GameDayConflict:
    conflict: Conflict  # what the other person changed
    added: list[dict[str, Any]]  # scenarios others added meanwhile, to keep in the form
    gone: set[int]  # scenarios of the editor's that others removed meanwhile


def game_day_conflict(
    current: GameDay, base_version: int, mine: set[int], hidden: set[int] | None = None
) -> GameDayConflict:
    """What changed since `base_version` (the version the editor started from), for an edit
    that was refused as stale; `mine` are the ids of the scenarios the editor sent; the
    `hidden` scenarios (hidden from the editor) are left out of what it says."""
    hidden = hidden or set()
    history = current.history
    base = history.filter(version=base_version).order_by("-history_id").first()
    latest = history.order_by("-history_id").first()
    record = without_scenarios(game_day_record_of(current), hidden)
    now = parts_of(record)
    if base is None:
        changes = [FieldChange(label="(earlier version not found)", before="", after="")]
    else:
        changes = field_changes(base, current, GameDay, FIELDS)
        if base.parts is not None:
            changes += part_changes(without_scenarios(base.parts, hidden), now)
    base_ids = {s.get("id") for s in base.parts["scenarios"]} if base and base.parts else set(mine)
    current_ids = {s["id"] for s in record["scenarios"]}
    return GameDayConflict(
        conflict=Conflict(
            changed_by=getattr(latest, "history_user", None),
            changed_at=getattr(latest, "history_date", None),
            current_version=current.version,
            changes=changes,
        ),
        added=[s for s in record["scenarios"] if s["id"] not in base_ids | mine],
        gone=(base_ids | mine) - current_ids,
    )
