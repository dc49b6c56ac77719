"""Operations on game days that the pages, the API, the commands and the admin share.

`save_game_day` is the one write path of a game day and its scenarios. Recording one
scenario's outcome as it happens (`record_outcome`) and recording a Chaos Toolkit run go
through it too, so every change is validated, versioned, kept in history and followed by the
effectiveness of the fixes the scenarios verify (PRODUCT.md, "Effectiveness of a done fix").
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction

from common import changes
from common.concurrency import StaleVersion, save_versioned
from common.people import left_out, people_named
from common.roles import require_writer
from common.validation import Errors, RecordInvalid
from gamedays.models import GameDay, GameDayStatus, Outcome, Scenario
from gamedays.records import GAME_DAY_FIELDS, SCENARIO_FIELDS, clean_game_day
from incidents.actions import CategoryCache
from incidents.models import FailureCategory
from remediations import effectiveness
from remediations.models import Remediation, RemediationQuerySet
from remediations.recurrence import ancestor_paths, recurrence_kinds

User = AbstractBaseUser | AnonymousUser


def scenario_record_of(scenario: Scenario) -> dict[str, Any]:
    """A stored scenario as a record (prefetch category, services and verifies)."""
    return {
        "id": scenario.pk,
        "title": scenario.title,
        "category": scenario.category.path,
        "services": [s.name for s in scenario.services.all()],
        "injection": scenario.injection,
        "hypothesis": scenario.hypothesis,
        "abort_conditions": scenario.abort_conditions,
        "rollback_plan": scenario.rollback_plan,
        "verifies": sorted(r.pk for r in scenario.verifies.all()),
        "outcome": scenario.outcome,
        "observations": scenario.observations,
        "ran_at": scenario.ran_at,
    }


def game_day_record_of(game_day: GameDay) -> dict[str, Any]:
    """The stored game day as a cleaned record (the input of `save_game_day`)."""
    scenarios = game_day.scenarios.select_related("category").prefetch_related(
        "services", "verifies"
    )
    return {
        "external_id": game_day.external_id,
        "title": game_day.title,
        "scheduled_at": game_day.scheduled_at,
        "environment": game_day.environment,
        "facilitator": game_day.facilitator.get_username() if game_day.facilitator else None,
        "participants": sorted(
            (u.get_username() for u in game_day.participants.all()), key=str.lower
        ),
        "plan": game_day.plan,
        "notes": game_day.notes,
        "status": game_day.status,
        "scenarios": [scenario_record_of(s) for s in scenarios],
    }


def hidden_scenario_ids(game_day: GameDay, user: Any) -> set[int]:
    """The game day's scenarios hidden from `user`: those linked to a restricted incident
    `user` may not see share its visibility (PRODUCT.md, "Who may see and change what")."""
    if not game_day.pk:
        return set()
    hidden = Scenario.objects.hidden_from(user).filter(game_day=game_day)
    return set(hidden.values_list("pk", flat=True))


def without_scenarios(record: dict[str, Any], hidden: set[int]) -> dict[str, Any]:
    """A game-day record (or a history version's parts) without the `hidden` scenarios."""
    if not hidden or record.get("scenarios") is None:
        return record
    return {**record, "scenarios": [s for s in record["scenarios"] if s.get("id") not in hidden]}


def keeping_scenarios(
    record: dict[str, Any], stored: dict[str, Any], hidden: set[int], user: Any
) -> dict[str, Any]:
    """`record`, written by `user`, who can't see the `hidden` scenarios of `stored`, with
    those kept as stored (after the others): what a person can't see they can't change or
    remove. An id of a hidden scenario sent anyway is read as a new scenario. Likewise a
    stored scenario keeps verifying the fixes hidden from `user` (they could not uncheck
    what they were not shown)."""
    typed = record.get("scenarios")
    if not stored or not isinstance(typed, list):
        return record  # nothing stored, or the validator says what is wrong with it
    before = {s["id"]: s for s in stored["scenarios"]}
    named = {pk for s in stored["scenarios"] for pk in s["verifies"]}
    unseen = named - set(
        Remediation.objects.visible_to(user).filter(pk__in=named).values_list("pk", flat=True)
    )
    if not hidden and not unseen:
        return record
    mine = []
    for item in typed:
        if isinstance(item, dict) and item.get("id") in hidden:
            item = {**item, "id": None}
        elif (
            isinstance(item, dict)
            and item.get("id") in before
            and isinstance(item.get("verifies"), list)
        ):
            kept = [pk for pk in before[item["id"]]["verifies"] if pk in unseen]
            item = {
                **item,
                "verifies": item["verifies"] + [pk for pk in kept if pk not in item["verifies"]],
            }
        mine.append(item)
    return {**record, "scenarios": mine + [s for s in stored["scenarios"] if s["id"] in hidden]}


def parts_of(record: dict[str, Any]) -> dict[str, Any]:
    """What a history version keeps beside the game day's own fields: its participants and
    scenarios, as JSON."""

    def iso(moment: datetime.datetime | None) -> str | None:
        return moment.isoformat().replace("+00:00", "Z") if moment else None

    return {
        "participants": sorted(record["participants"], key=str.lower),
        "scenarios": [
            # With its id, so history and the conflict page follow a scenario across versions.
            {"id": s.get("id"), **{name: s[name] for name in SCENARIO_FIELDS},
             "ran_at": iso(s["ran_at"])}
            for s in record["scenarios"]
        ],
    }  # fmt: skip


def _same(stored: dict[str, Any], record: dict[str, Any]) -> bool:
    if any(stored[name] != record[name] for name in GAME_DAY_FIELDS):
        return False
    if [s["id"] for s in stored["scenarios"]] != [s["id"] for s in record["scenarios"]]:
        return False
    return parts_of(stored) == parts_of(record)


def save_game_day(
    game_day: GameDay,
    record: dict[str, Any],
    *,
    by: User | None,
    expected_version: int | None,
    announce: bool = True,
) -> list[str]:
    """Create a game day or update it whole, with its scenarios, from a cleaned record.

    Scenarios with an `id` update that scenario of this game day; those without are new; a
    stored scenario the record leaves out is removed, unless it ran (its result is evidence).
    Scenarios that failed in this save are announced after the commit, unless `announce` is
    False (the demo's people are made up: loading it tells nobody anything).
    Returns warnings (names that match no user are left out). Raises RecordInvalid with the
    messages at their paths (a fix that does not exist or does not cover the scenario's
    failure mode, a scenario of another game day) and StaleVersion, writing nothing, when
    someone saved a newer version meanwhile. PermissionDenied for a viewer (`by` None is the
    system: an import, the demo).
    """
    require_writer(by)
    warnings: list[str] = []
    cache = CategoryCache()
    # Services as stored (another case, a merged old name): an unchanged record is unchanged.
    # In place, as the scenario ids are written back below: callers read both from `record`.
    for scenario in record["scenarios"]:
        scenario["services"] = cache.service_names(scenario["services"])
    with transaction.atomic():
        stored = game_day_record_of(game_day) if game_day.pk else None
        if stored is not None and _same(stored, record):
            return warnings
        errors = Errors()
        fixes = _check_scenarios(game_day, record, stored, errors, by=by)
        if errors:
            raise RecordInvalid(errors)
        users = _users(record, warnings)
        for name in ("external_id", "title", "scheduled_at", "environment", "plan", "notes",
                     "status"):  # fmt: skip
            setattr(game_day, name, record[name])
        game_day.facilitator = users.get((record["facilitator"] or "").lower())
        save_versioned(
            game_day, by=by, expected_version=expected_version, creator_field="created_by"
        )
        game_day.participants.set(
            [users[name.lower()] for name in record["participants"] if name.lower() in users]
        )
        touched = _write_scenarios(game_day, record, fixes, cache)
        if stored is not None:
            touched |= {pk for s in stored["scenarios"] for pk in s["verifies"]}
        latest = game_day.history.order_by("-history_id").values_list("history_id", flat=True)[:1]
        game_day.history.filter(history_id__in=list(latest)).update(parts=parts_of(record))
        # The fixes the scenarios verify (or verified) follow their outcomes at once.
        effectiveness.assess(touched)
        newly_failed = _newly_failed(stored, game_day) if announce else []
        if newly_failed:
            from gamedays.notifications import announce_failed

            transaction.on_commit(lambda: announce_failed(newly_failed))
        changes.game_day_changed(game_day.pk)
    return warnings


def _users(record: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    names = {n.lower(): n for n in [record["facilitator"], *record["participants"]] if n}
    named = people_named(names.values())
    for name in names.values():
        if name not in named:
            warnings.append(left_out(name, "left out of the game day"))
    return {name.lower(): user for name, user in named.items()}


def _check_scenarios(
    game_day: GameDay,
    record: dict[str, Any],
    stored: dict[str, Any] | None,
    errors: Errors,
    *,
    by: User | None,
) -> dict[int, Remediation]:
    """The database's part of the rules: scenario ids, kept results, the fixes verified.

    A fix hidden from `by` reads as one that does not exist ("There is no remediation N."),
    unless the scenario already verified it (`keeping_scenarios` keeps what `by` was not
    shown): its title is never told, and `by` can't tie it to a scenario (PRODUCT.md, "Who
    may see and change what": a restricted incident's remediations share its visibility)."""
    own = {s["id"]: s for s in stored["scenarios"]} if stored else {}
    kept = {s["id"] for s in record["scenarios"] if s["id"]}
    for n, scenario in enumerate(record["scenarios"]):
        if scenario["id"] and scenario["id"] not in own:
            errors.add(
                ("scenarios", n, "id"), f"is not a scenario of this game day: {scenario['id']}."
            )
    for pk, scenario in own.items():
        if pk not in kept and scenario["outcome"] != Outcome.PENDING:
            errors.add(
                ("scenarios",),
                f"Scenario {pk} ran ({scenario['outcome']}): its result is evidence for the "
                "fixes it verifies and can't be removed. Mark it aborted instead.",
            )
    wanted = {pk for s in record["scenarios"] for pk in s["verifies"]}
    fixes = {r.pk: r for r in Remediation.objects.filter(pk__in=wanted).select_related("category")}
    hidden = set(
        Remediation.objects.hidden_from(by).filter(pk__in=wanted).values_list("pk", flat=True)
    )
    for n, scenario in enumerate(record["scenarios"]):
        covered = set(ancestor_paths(scenario["category"])) if scenario["category"] else set()
        before = own.get(scenario["id"]) if scenario["id"] else None
        # Links this scenario already had, on the same failure mode, are not judged again: a
        # fix re-filed under another mode (or a mode moved in the tree) since the game day was
        # planned must not block recording its results. New links must cover the mode.
        planned = (
            set(before["verifies"])
            if before is not None and before["category"] == scenario["category"]
            else set()
        )
        linked = set(before["verifies"]) if before is not None else set()
        for m, pk in enumerate(scenario["verifies"]):
            fix = fixes.get(pk)
            if pk in hidden and pk in linked:
                continue  # kept as it was: `by` was not shown it, nor may judge it
            if fix is None or pk in hidden:
                errors.add(("scenarios", n, "verifies", m), f"There is no remediation {pk}.")
            elif pk in planned:
                continue
            elif fix.category is None or fix.category.path not in covered:
                errors.add(
                    ("scenarios", n, "verifies", m),
                    f"“{fix.title}” does not cover {scenario['category']}: a scenario verifies "
                    "fixes on its failure mode or above it.",
                )
    return fixes


def _write_scenarios(
    game_day: GameDay, record: dict[str, Any], fixes: dict[int, Remediation], cache: CategoryCache
) -> set[int]:
    """Upsert the record's scenarios in order and remove the others; the fixes they verify."""
    existing = {s.pk: s for s in game_day.scenarios.all()}
    kept: set[int] = set()
    touched: set[int] = set()
    for position, item in enumerate(record["scenarios"]):
        scenario = existing.get(item["id"]) if item["id"] else None
        scenario = scenario or Scenario(game_day=game_day)
        scenario.position = position
        for name in ("title", "injection", "hypothesis", "abort_conditions", "rollback_plan",
                     "outcome", "observations", "ran_at"):  # fmt: skip
            setattr(scenario, name, item[name])
        scenario.category = cache.category(item["category"])
        scenario.save()
        scenario.services.set(cache.services(item["services"]))
        scenario.verifies.set([fixes[pk] for pk in item["verifies"]])
        item["id"] = scenario.pk  # a new scenario's id, for the history version
        kept.add(scenario.pk)
        touched.update(item["verifies"])
    game_day.scenarios.exclude(pk__in=kept).delete()
    return touched


def _newly_failed(stored: dict[str, Any] | None, game_day: GameDay) -> list[int]:
    before = {s["id"]: s["outcome"] for s in stored["scenarios"]} if stored else {}
    return sorted(
        pk
        for pk, outcome in game_day.scenarios.values_list("pk", "outcome")
        if outcome == Outcome.FAILED and before.get(pk) != Outcome.FAILED
    )


class GameDayClosed(Exception):
    """A result recorded on a game day that is done or cancelled: reopen it first."""


def record_outcome(
    scenario: Scenario,
    *,
    outcome: str,
    observations: str,
    ran_at: datetime.datetime | None,
    by: User | None,
    seen: dict[str, Any] | None = None,
    journal: dict[str, Any] | None = None,
) -> Scenario:
    """Record how one scenario went, as it happens, through `save_game_day`.

    Two people may record different scenarios of one game day at once: each applies to the
    game day as it is now. `seen` is the scenario's outcome and observations as the writer
    last saw them; when someone changed them meanwhile, StaleVersion is raised and nothing is
    written. RecordInvalid as `save_game_day`. Sets the game day running if it was planned.
    PermissionDenied for a viewer, before anything else.
    """
    require_writer(by)
    with transaction.atomic():
        game_day = GameDay.objects.select_for_update().get(pk=scenario.game_day_id)
        if game_day.status in (GameDayStatus.DONE, GameDayStatus.CANCELLED):
            # Every way in alike: the page, the API's journal and import_chaos_journal.
            raise GameDayClosed(
                f"This game day is {game_day.get_status_display().lower()}: results are "
                "recorded while it is planned or running."
            )
        current = game_day_record_of(game_day)
        item = next(s for s in current["scenarios"] if s["id"] == scenario.pk)
        if seen is not None and any(item[k] != seen.get(k) for k in ("outcome", "observations")):
            raise StaleVersion(game_day, game_day.version)
        raw = {**current, "scenarios": [
            {**s, "outcome": outcome, "observations": observations, "ran_at": ran_at}
            if s["id"] == scenario.pk else s
            for s in current["scenarios"]
        ]}  # fmt: skip
        if game_day.status == "planned" and outcome != Outcome.PENDING:
            raw["status"] = "running"
        errors = Errors()
        record = clean_game_day(raw, errors)
        if errors:
            raise RecordInvalid(errors)
        save_game_day(game_day, record, by=by, expected_version=game_day.version)
        if journal is not None:
            Scenario.objects.filter(pk=scenario.pk).update(journal=journal)
    scenario.refresh_from_db()
    return scenario


def covering_fixes(category: FailureCategory) -> list[Remediation]:
    """The done fixes a scenario on `category` can verify: on it or above it, unverified
    first, then oldest done first (the form offers these)."""
    order = {"unverified": 0, "regressed": 1, "holding": 2, "verified": 3}
    fixes = Remediation.objects.filter(
        category__path__in=ancestor_paths(category.path), status="done"
    ).select_related("category", "owner")
    return sorted(fixes, key=lambda r: (order.get(r.effectiveness or "", 9), r.done_at, r.pk))


def add_fix_to_game_day(
    game_day: GameDay, fix: Remediation, *, by: User | None
) -> tuple[Scenario, bool]:
    """Plan a test of `fix` in a planned game day ("add to a game day", from the backlog).

    A pending scenario on the fix's failure mode (or below it, which the fix covers too) is
    extended to verify it; when there is none, a scenario on that mode is added, to be planned
    in full on the game day's edit page. Applied to the game day as it is now, through
    `save_game_day`. Returns the scenario and whether it is new. RecordInvalid when the fix
    has no failure mode or the game day is no longer planned; PermissionDenied for a viewer.
    """
    require_writer(by)
    errors = Errors()
    if fix.category is None:
        errors.add(("verifies",), f"“{fix.title}” has no failure mode: a scenario can't test it.")
        raise RecordInvalid(errors)
    path = fix.category.path
    with transaction.atomic():
        locked = GameDay.objects.select_for_update().get(pk=game_day.pk)
        if locked.status != GameDayStatus.PLANNED:
            errors.add(
                ("status",),
                f"“{locked.title}” is {locked.get_status_display().lower()}: fixes are added "
                "to planned game days.",
            )
            raise RecordInvalid(errors)
        raw = game_day_record_of(locked)
        candidates = [
            s for s in raw["scenarios"]
            if s["outcome"] == Outcome.PENDING
            and (s["category"] == path or s["category"].startswith(f"{path} > "))
        ]  # fmt: skip
        # The scenario on the mode itself first, then the one already verifying the most.
        candidates.sort(key=lambda s: (s["category"] != path, -len(s["verifies"])))
        created = not candidates
        if candidates:
            target = candidates[0]
            if fix.pk not in target["verifies"]:
                target["verifies"].append(fix.pk)
        else:
            target = {
                "id": None, "title": f"Test: {fix.title}"[:200], "category": path,
                "services": [], "verifies": [fix.pk],
                "injection": f"To plan: what to inject to see whether “{fix.title}” holds.",
                "hypothesis": "", "abort_conditions": "", "rollback_plan": "",
                "outcome": Outcome.PENDING, "observations": "", "ran_at": None,
            }  # fmt: skip
            raw["scenarios"].append(target)
        position = raw["scenarios"].index(target)
        record = clean_game_day(raw, errors)
        if errors:
            raise RecordInvalid(errors)
        save_game_day(locked, record, by=by, expected_version=locked.version)
    # save_game_day wrote each scenario's id into the record.
    return Scenario.objects.get(pk=record["scenarios"][position]["id"]), created


def _save_current(game_day: GameDay, raw: dict[str, Any], by: User | None) -> None:
    """Save a change made to the game day as it is now (it is locked by the caller)."""
    errors = Errors()
    record = clean_game_day(raw, errors)
    if errors:
        raise RecordInvalid(errors)
    save_game_day(game_day, record, by=by, expected_version=game_day.version)


def start_game_day(game_day: GameDay, *, by: User | None) -> GameDay:
    """Set a planned game day running (recording a first result does it too). A game day
    that is already running, done or cancelled is left as it is: starting twice is harmless.
    PermissionDenied for a viewer."""
    require_writer(by)
    with transaction.atomic():
        locked = GameDay.objects.select_for_update().get(pk=game_day.pk)
        if locked.status == GameDayStatus.PLANNED:
            _save_current(locked, {**game_day_record_of(locked), "status": "running"}, by)
    return locked


def close_game_day(
    game_day: GameDay, *, status: str, notes: str, by: User | None, seen_version: int | None
) -> GameDay:
    """Close a game day with its notes: *done*, or *cancelled*.

    The closing page is open while others still record results (each a new version), so
    only what it changes counts: StaleVersion when the notes or the status changed after
    `seen_version`, the version the writer started from; otherwise it applies to the game day
    as it is now. RecordInvalid for a status other than done or cancelled, or notes the
    validator refuses. PermissionDenied for a viewer.
    """
    require_writer(by)
    errors = Errors()
    if status not in (GameDayStatus.DONE, GameDayStatus.CANCELLED):
        errors.add(("status",), "A game day is closed as done or cancelled.")
        raise RecordInvalid(errors)
    with transaction.atomic():
        locked = GameDay.objects.select_for_update().get(pk=game_day.pk)
        seen = locked.history.filter(version=seen_version or -1).order_by("-history_id").first()
        if seen is None or (seen.notes, seen.status) != (locked.notes, locked.status):
            raise StaleVersion(locked, seen_version or 0)
        _save_current(locked, {**game_day_record_of(locked), "status": status, "notes": notes}, by)
    return locked


def awaiting_verification() -> RemediationQuerySet:
    """Done fixes of the kinds that make a promise (ONCE_RECURRENCE_KINDS: prevent and
    mitigate by default) that no evidence has tested yet: the backlog of untested fixes,
    oldest done first."""
    return (
        Remediation.objects.filter(
            status="done", kind__in=recurrence_kinds(), effectiveness="unverified"
        )
        .select_related("category", "owner", "incident")
        .order_by("done_at", "pk")
    )
