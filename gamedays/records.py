"""The one validator of a game day record, with its scenarios: the form, the API, the import
and the admin turn their input into a record and call `clean_game_day` (PRODUCT.md, "One set
of rules for every way in"; "Game day", "Scenario").

A record: `external_id`, `title`, `scheduled_at`, `environment`, `facilitator` (username or
null), `participants` (usernames), `plan`, `notes` (Markdown), `status`, and `scenarios`, each
`id` (of a stored scenario of this game day, or absent for a new one), `title`, `category` (a
path, required), `services` (names), `injection` (required), `hypothesis`,
`abort_conditions`, `rollback_plan`, `verifies` (remediation ids), `outcome`,
`observations` (Markdown), `ran_at`. Times are ISO 8601 strings or datetimes.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from common import dates
from common.validation import (
    Errors,
    clean_choice,
    clean_list,
    clean_moment,
    clean_text,
)
from gamedays.models import Environment, GameDayStatus, Outcome
from incidents.records import (
    MAX_EXTERNAL_ID,
    MAX_SERVICES,
    MAX_TITLE,
    clean_category_path,
    clean_service_name,
)

# The documented limits (docs/api.md).
MAX_SCENARIOS = 50
MAX_PARTICIPANTS = 100
MAX_VERIFIES = 50
MAX_TEXT = 10_000  # injection, hypothesis, abort conditions, rollback plan
MAX_MARKDOWN = 100_000  # plan, notes, observations
MAX_USERNAME = 150
# How far ahead of the server's clock a scenario's `ran_at` may be (a clock or a time zone off).
RAN_AT_SLACK = datetime.timedelta(days=1)

GAME_DAY_FIELDS = (
    "external_id", "title", "scheduled_at", "environment", "facilitator", "plan", "notes",
    "status",
)  # fmt: skip
SCENARIO_FIELDS = (
    "title", "category", "services", "injection", "hypothesis", "abort_conditions",
    "rollback_plan", "verifies", "outcome", "observations", "ran_at",
)  # fmt: skip


def _username(value: Any, path: tuple[Any, ...], errors: Errors) -> str | None:
    return (
        clean_text(value, path, errors, max_length=MAX_USERNAME, single_line=True, strip=True)
        or None
    )


def clean_game_day(raw: Mapping[str, Any], errors: Errors) -> dict[str, Any]:
    """The record, normalised; every problem is added to `errors` at its path.

    Rules: `title`, `scheduled_at` and each scenario's `category` and `injection` are
    required; `environment` defaults to staging and `status` to planned; a scenario with an
    outcome other than pending ran at `ran_at` (the time of saving when not given), a pending
    one has no `ran_at`; at most MAX_SCENARIOS scenarios, MAX_PARTICIPANTS participants and
    MAX_VERIFIES fixes per scenario. Whether the fixes exist and cover the scenario's failure
    mode is checked by `gamedays.actions.save_game_day`, which reads the database.
    """
    record: dict[str, Any] = {
        "external_id": clean_text(
            raw.get("external_id"), ("external_id",), errors,
            max_length=MAX_EXTERNAL_ID, single_line=True, strip=True,
        ) or None,
        "title": clean_text(
            raw.get("title"), ("title",), errors,
            max_length=MAX_TITLE, single_line=True, strip=True, required=True,
        ),
        "scheduled_at": clean_moment(
            raw.get("scheduled_at"), ("scheduled_at",), errors, required=True
        ),
        "environment": clean_choice(
            raw.get("environment"), ("environment",), errors,
            allowed=Environment.values, default=Environment.STAGING,
        ),
        "facilitator": _username(raw.get("facilitator"), ("facilitator",), errors),
        "plan": clean_text(raw.get("plan"), ("plan",), errors, max_length=MAX_MARKDOWN),
        "notes": clean_text(raw.get("notes"), ("notes",), errors, max_length=MAX_MARKDOWN),
        "status": clean_choice(
            raw.get("status"), ("status",), errors,
            allowed=GameDayStatus.values, default=GameDayStatus.PLANNED,
        ),
    }  # fmt: skip
    participants: dict[str, str] = {}
    items = clean_list(
        raw.get("participants"), ("participants",), errors, item=str, max_items=MAX_PARTICIPANTS
    )
    for n, value in enumerate(items):
        name = _username(value, ("participants", n), errors)
        if name:
            participants.setdefault(name.lower(), name)
    record["participants"] = list(participants.values())

    record["scenarios"] = []
    items = clean_list(
        raw.get("scenarios"), ("scenarios",), errors, item=dict, max_items=MAX_SCENARIOS
    )
    for n, scenario in enumerate(items):
        record["scenarios"].append(clean_scenario(scenario, ("scenarios", n), errors))
    return record


def clean_scenario(raw: Mapping[str, Any], at: tuple[Any, ...], errors: Errors) -> dict[str, Any]:
    """One scenario of a game day record (see `clean_game_day`); `at` is its path."""
    scenario_id = raw.get("id")
    if scenario_id is not None and not (
        isinstance(scenario_id, int)
        and not isinstance(scenario_id, bool)
        and 0 < scenario_id < 2**63
    ):
        errors.add(
            (*at, "id"),
            f"must be the id of one of this game day's scenarios, not {str(scenario_id)[:30]!r}.",
        )
        scenario_id = None
    record: dict[str, Any] = {
        "id": scenario_id,
        "title": clean_text(
            raw.get("title"), (*at, "title"), errors,
            max_length=MAX_TITLE, single_line=True, strip=True,
        ),
        "category": clean_category_path(raw.get("category"), (*at, "category"), errors),
        "injection": clean_text(
            raw.get("injection"), (*at, "injection"), errors,
            max_length=MAX_TEXT, strip=True, required=True,
        ),
        "hypothesis": clean_text(
            raw.get("hypothesis"), (*at, "hypothesis"), errors, max_length=MAX_TEXT, strip=True
        ),
        "abort_conditions": clean_text(
            raw.get("abort_conditions"), (*at, "abort_conditions"), errors,
            max_length=MAX_TEXT, strip=True,
        ),
        "rollback_plan": clean_text(
            raw.get("rollback_plan"), (*at, "rollback_plan"), errors,
            max_length=MAX_TEXT, strip=True,
        ),
        "outcome": clean_choice(
            raw.get("outcome"), (*at, "outcome"), errors,
            allowed=Outcome.values, default=Outcome.PENDING,
        ),
        "observations": clean_text(
            raw.get("observations"), (*at, "observations"), errors, max_length=MAX_MARKDOWN
        ),
        "ran_at": clean_moment(raw.get("ran_at"), (*at, "ran_at"), errors),
    }  # fmt: skip
    if record["category"] is None and not str(raw.get("category") or "").strip(" >"):
        errors.add((*at, "category"), "is required: the failure mode the scenario exercises.")
    if record["outcome"] == Outcome.PENDING:
        record["ran_at"] = None  # it has not run (yet): a time would claim otherwise
    elif record["ran_at"] is None:
        record["ran_at"] = timezone.now().replace(microsecond=0)  # recorded as it happens
    elif record["ran_at"] > timezone.now() + RAN_AT_SLACK:
        # The latest evidence wins: a mistyped year would outrank every real result.
        errors.add(
            (*at, "ran_at"),
            f"is in the future ({dates.moment(record['ran_at'])}): a result is recorded "
            "once the scenario ran.",
        )

    services: dict[str, str] = {}
    items = clean_list(
        raw.get("services"), (*at, "services"), errors, item=str, max_items=MAX_SERVICES
    )
    for n, value in enumerate(items):
        name = clean_service_name(value, (*at, "services", n), errors)
        if name:
            services.setdefault(name.lower(), name)
    record["services"] = list(services.values())

    verifies: list[int] = []
    items = clean_list(
        raw.get("verifies"), (*at, "verifies"), errors, item=int, max_items=MAX_VERIFIES
    )
    for n, value in enumerate(items):
        if isinstance(value, bool) or not 0 < value < 2**63:
            errors.add((*at, "verifies", n), f"must be a remediation id, not {value!r}.")
        elif value not in verifies:
            verifies.append(value)
    record["verifies"] = verifies
    return record
