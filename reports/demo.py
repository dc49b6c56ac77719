"""The demo knowledge base of `make run`: the data is in demo.json, this is its loader.

Dates in the file are offsets from the Monday of the current week (UTC), so the demo always
has incidents this week, remediations falling due and fixes done months ago.

Loading only adds what is missing: a demo incident, user, category or game day that is already
stored is left exactly as it is, so whatever a person changed in the demo survives `make run`
again.
"""

from __future__ import annotations

import datetime
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from incidents.models import FailureCategory, Incident

DEMO_FILE = Path(__file__).with_name("demo.json")
EXTERNAL_ID_PREFIX = "demo-"


@dataclass
class Loaded:
    """What one load did: the demo parts it added, and any record the write path refused."""

    users: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)
    game_days: list[str] = field(default_factory=list)
    design_notes: list[str] = field(default_factory=list)  # services given their notes
    kept: int = 0  # demo incidents already stored, left as they are
    errors: list[str] = field(default_factory=list)


def read_demo(path: Path = DEMO_FILE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as file:
        data: dict[str, Any] = json.load(file)
    return data


def this_monday() -> datetime.datetime:
    """09:30 UTC on the Monday of the current week: what every demo date is relative to."""
    today = timezone.now().astimezone(datetime.UTC).date()
    monday = today - datetime.timedelta(days=today.weekday())
    return datetime.datetime.combine(monday, datetime.time(9, 30), tzinfo=datetime.UTC)


def _iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _report(spec: dict[str, Any]) -> str:
    """The report's text: only what the incident's fields don't hold. Its summary, causes and
    timeline have their own fields and are shown once, from them (PRODUCT.md, "Writing,
    duplicates and importing Markdown")."""
    report = spec["report"]
    return (
        f"## Impact\n\n{report['impact']}\n\n"
        f"## Detection\n\n{report['detection']}\n\n## Resolution\n\n{report['resolution']}\n\n"
        f"## What went well\n\n- {report['went_well']}\n\n"
        f"## What went wrong\n\n- {report['went_wrong']}\n\n"
        f"## Where we got lucky\n\n- {report['lucky']}\n\n"
        f"## Lessons learned\n\n{report['lessons']}\n"
    )


# A remediation's description when the demo gives no `why`: what its kind promises
# (PRODUCT.md, "Domain"), not a sentence of the report again.
KIND_PROMISES = {
    "prevent": "Meant to stop this failure mode from happening again.",
    "mitigate": "Meant to make this failure mode hurt less when it comes back.",
    "detect": "Meant to let us see this failure mode sooner.",
    "process": "A change to how we work, so the same gap does not open again.",
}


def _remediation(
    item: dict[str, Any], resolved: datetime.datetime, monday: datetime.datetime
) -> dict[str, Any]:
    due_in, done_ago = item["due_in_days"], item["done_days_ago"]
    tracker = zlib.crc32(item["title"].encode()) % 900 + 100  # stable, made-up ticket numbers
    return {
        "title": item["title"],
        "description": item.get("why") or KIND_PROMISES[item["kind"]],
        "kind": item["kind"],
        "status": item["status"],
        "owner": item["owner"],
        "due_date": None
        if due_in is None
        else (monday.date() + datetime.timedelta(days=due_in)).isoformat(),
        "opened_at": _iso(resolved + datetime.timedelta(hours=2)),
        "done_at": _iso(monday - datetime.timedelta(days=done_ago))
        if item["status"] == "done"
        else None,
        "category": item["category"],
        # Process changes live in no tracker.
        "tracker_url": ""
        if item["kind"] == "process"
        else f"https://tracker.example/OPS-{tracker}",
    }


def demo_records(data: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The demo incidents in the interchange format (PRODUCT.md), dated from this Monday."""
    data = data or read_demo()
    monday = this_monday()
    records = []
    for spec in data["incidents"]:
        started = monday - datetime.timedelta(days=spec["days_ago"])
        resolved = started + datetime.timedelta(hours=spec["hours_to_resolve"])
        this_week = spec["days_ago"] <= 0
        timeline = spec["timeline"]
        records.append(
            {
                "external_id": EXTERNAL_ID_PREFIX + spec["key"],
                "title": spec["title"],
                "summary": spec["summary"],
                "body": _report(spec),
                "severity": spec["severity"],
                "status": "investigating"
                if this_week
                else ("reviewed" if spec["days_ago"] > 14 else "resolved"),
                "started_at": _iso(started),
                "detected_at": _iso(started + datetime.timedelta(minutes=timeline[1]["minutes"])),
                "resolved_at": None if this_week else _iso(resolved),
                "categories": spec["categories"],
                "services": spec["services"],
                "causes": spec["causes"],
                "timeline": [
                    {
                        "at": _iso(started + datetime.timedelta(minutes=entry["minutes"])),
                        "text": entry["text"],
                    }
                    for entry in timeline
                ],
                "remediations": [
                    _remediation(item, resolved, monday) for item in spec["remediations"]
                ],
            }
        )
    return records


def load_demo(data: dict[str, Any] | None = None) -> Loaded:
    """Add whatever part of the demo is missing; never change what is stored."""
    data = data or read_demo()
    loaded = Loaded()
    User = get_user_model()
    for username in data["owners"]:
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com"}
        )
        if created:
            user.set_unusable_password()  # the demo's people own work; nobody logs in as them
            user.save(update_fields=["password"])
            loaded.users.append(username)
    with transaction.atomic():
        for path, description in data["categories"].items():
            if not FailureCategory.objects.filter(path=path).exists():
                _create_category(path, description)
                loaded.categories.append(path)
        records = demo_records(data)
        stored = set(
            Incident.objects.filter(
                external_id__in=[r["external_id"] for r in records]
            ).values_list("external_id", flat=True)
        )
        missing = [r for r in records if r["external_id"] not in stored]
        loaded.kept = len(records) - len(missing)
        loaded.errors = _store(missing)
        loaded.incidents = [r["external_id"] for r in missing]
        # Earlier reviews' decisions, on the flags of the incidents added now only: a flag of
        # a demo incident that was already stored is left as people left it.
        added = {r["external_id"].removeprefix(EXTERNAL_ID_PREFIX) for r in missing}
        loaded.errors += _recurrences(
            added, [t for t in data.get("triage", []) if t["incident"] in added]
        )
        # Last: their scenarios verify the fixes of the incidents above.
        loaded.game_days, errors = _game_days(data.get("game_days", []))
        loaded.errors += errors
        loaded.design_notes = _design_notes(data.get("services", {}))
    return loaded


def demo_game_days(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The demo game days as raw records (`gamedays.records`), dated from this Monday; their
    scenarios' `verifies` still name fixes by title."""
    monday = this_monday().date()
    records = []
    for spec in specs:
        hour, minute = (int(part) for part in spec["at"].split(":"))
        starts = datetime.datetime.combine(
            monday + datetime.timedelta(days=spec["day"]),
            datetime.time(hour, minute),
            tzinfo=datetime.UTC,
        )
        scenarios = [
            {
                **{name: item[name] for name in (
                    "title", "category", "services", "injection", "hypothesis",
                    "abort_conditions", "rollback_plan", "verifies", "outcome", "observations",
                )},
                "ran_at": None if item["ran_minutes"] is None
                else starts + datetime.timedelta(minutes=item["ran_minutes"]),
            }
            for item in spec["scenarios"]
        ]  # fmt: skip
        records.append(
            {
                "external_id": EXTERNAL_ID_PREFIX + spec["key"],
                **{name: spec[name] for name in (
                    "title", "environment", "status", "facilitator", "participants", "plan",
                    "notes",
                )},
                "scheduled_at": starts,
                "scenarios": scenarios,
            }
        )  # fmt: skip
    return records


# --- The only calls into the write path: adapt these two when the actions change. ------------


def _create_category(path: str, description: str) -> None:
    from incidents import actions

    category = actions.get_or_create_category(path)
    if not category.description:
        category.description = description
        actions.save_category(category, by=None)


def _store(records: Iterable[dict[str, Any]]) -> list[str]:
    """Create the incidents through the import path (validated, versioned, in history, indexed,
    re-evaluated for recurrence); returns the reasons of any record it refused."""
    from reports.importer import BatchImporter
    from reports.interchange import parse_record

    importer = BatchImporter()
    outcomes = [
        outcome
        for number, record in enumerate(records, start=1)
        for outcome in importer.add(number, parse_record(record))
    ]
    outcomes += importer.flush()
    return [f"demo incident {o.line}: {o.error}" for o in outcomes if o.error]


def _design_notes(notes: dict[str, str]) -> list[str]:
    """Give the demo services their design notes, unless someone already wrote some; returns
    the names of the services given them."""
    from incidents import actions

    given = []
    for name, text in notes.items():
        (service,) = actions.get_or_create_services([name])
        if not service.design_notes:
            actions.save_service(service, by=None, design_notes=text)
            given.append(service.name)
    return given


def _game_days(specs: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Add the demo game days that are missing, through the game days' one write path (their
    scenarios' outcomes make the fixes they verify verified or regressed); a stored one is left
    as people left it. Returns the external ids added and the reasons of any refused."""
    from common.validation import Errors, RecordInvalid
    from gamedays.actions import save_game_day
    from gamedays.models import GameDay
    from gamedays.records import clean_game_day
    from remediations.models import Remediation
    from remediations.recurrence import ancestor_paths

    records = demo_game_days(specs)
    stored = set(
        GameDay.objects.filter(external_id__in=[r["external_id"] for r in records]).values_list(
            "external_id", flat=True
        )
    )
    missing = [r for r in records if r["external_id"] not in stored]
    # The demo's fixes by title, as they are now: one a person renamed, or moved off the
    # scenario's failure mode, is left out of what the scenario verifies.
    fix_paths = {
        title: (pk, path)
        for pk, title, path in Remediation.objects.filter(
            incident__external_id__startswith=EXTERNAL_ID_PREFIX, category__isnull=False
        ).values_list("pk", "title", "category__path")
    }
    added, errors = [], []
    for raw in missing:
        for scenario in raw["scenarios"]:
            covered = ancestor_paths(scenario["category"])
            scenario["verifies"] = [
                fix_paths[title][0]
                for title in scenario["verifies"]
                if title in fix_paths and fix_paths[title][1] in covered
            ]
        found = Errors()
        record = clean_game_day(raw, found)
        try:
            found.raise_if_any()
            save_game_day(GameDay(), record, by=None, expected_version=None, announce=False)
        except RecordInvalid as invalid:
            errors.append(
                f"demo game day {raw['external_id']}: " + "; ".join(invalid.errors.as_lines())
            )
        else:
            added.append(raw["external_id"])
    return added, errors


def _recurrences(keys: set[str], decisions: list[dict[str, Any]]) -> list[str]:
    """Raise the flags of the demo incidents added now, and triage them as the demo's earlier
    weekly reviews did."""
    from remediations.actions import FlagAlreadyResolved, TriageRefused, triage_flag
    from remediations.models import FlagState, RecurrenceFlag
    from remediations.recurrence import evaluate

    if not keys:
        return []
    ids = Incident.objects.filter(
        external_id__in=[EXTERNAL_ID_PREFIX + key for key in keys]
    ).values_list("pk", flat=True)
    # Now, not later on a worker: the decisions need the flags. Idempotent, so the tasks the
    # import enqueued change nothing when they run.
    evaluate(ids)
    User = get_user_model()
    monday, errors = this_monday(), []
    for decision in decisions:
        flag = RecurrenceFlag.objects.filter(
            incident__external_id=EXTERNAL_ID_PREFIX + decision["incident"],
            category__path=decision["category"], state=FlagState.OPEN,
        ).first()  # fmt: skip
        if flag is None:
            errors.append(f"demo triage of {decision['incident']}: no open flag to triage")
            continue
        try:
            triage_flag(
                flag, outcome=decision["outcome"], note=decision["note"],
                by=User.objects.filter(username=decision["by"]).first(),
                at=monday - datetime.timedelta(days=decision["days_ago"]),
            )  # fmt: skip
        except (TriageRefused, FlagAlreadyResolved) as error:
            errors.append(f"demo triage of {decision['incident']}: {error}")
    return errors
