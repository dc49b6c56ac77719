"""API representations of game days and their scenarios (PRODUCT.md, "game day", "scenario").

A game day is written whole with its scenarios; every body goes through the one validator
(`gamedays.records.clean_game_day`) and the one write path (`gamedays.actions.save_game_day`),
so the API refuses what the pages and the import refuse, with the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.api import VersionField, require_version
from common.validation import Errors, RecordInvalid
from gamedays.actions import (
    game_day_record_of,
    hidden_scenario_ids,
    keeping_scenarios,
    save_game_day,
    without_scenarios,
)
from gamedays.models import Environment, GameDay, GameDayStatus, Outcome, Scenario
from gamedays.records import (
    GAME_DAY_FIELDS,
    MAX_MARKDOWN,
    MAX_PARTICIPANTS,
    MAX_SCENARIOS,
    MAX_TEXT,
    MAX_VERIFIES,
    clean_game_day,
)
from incidents.records import MAX_SERVICES, MAX_TITLE
from incidents.serializers import CategoryPathField, ServiceNameListField
from remediations.models import Remediation

# The fields of a game day record a client writes.
WRITABLE = (*GAME_DAY_FIELDS, "participants", "scenarios")


class RemediationIdListField(serializers.ListField):
    """Remediations as their ids, in order."""

    child = serializers.IntegerField(min_value=1)

    def to_representation(self, data: Any) -> list[int]:
        return sorted(remediation.pk for remediation in data.all())


class UsernameListField(serializers.ListField):
    """Users as their usernames, sorted ignoring case."""

    child = serializers.CharField(max_length=150)

    def to_representation(self, data: Any) -> list[str]:
        return sorted((user.get_username() for user in data.all()), key=str.lower)


class ScenarioSerializer(serializers.ModelSerializer):
    """A scenario; written only with its game day (GameDaySerializer) or by a journal."""

    id = serializers.IntegerField(
        required=False, min_value=1,
        help_text="Send it to update that scenario of the game day; leave it out for a new one.",
    )  # fmt: skip
    game_day = serializers.IntegerField(source="game_day_id", read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True)
    title = serializers.CharField(max_length=MAX_TITLE, required=False, allow_blank=True)
    category = CategoryPathField(
        help_text='The failure mode it exercises, as a path ("Control plane > etcd"); created '
        "when missing.",
    )
    services = ServiceNameListField(
        max_length=MAX_SERVICES, required=False, help_text="Service names; created when missing."
    )
    injection = serializers.CharField(
        max_length=MAX_TEXT, help_text="What is injected: the failure, and how."
    )
    hypothesis = serializers.CharField(
        max_length=MAX_TEXT, required=False, allow_blank=True,
        help_text="The steady-state hypothesis: what must keep working.",
    )  # fmt: skip
    abort_conditions = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True)
    rollback_plan = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True)
    verifies = RemediationIdListField(
        max_length=MAX_VERIFIES, required=False,
        help_text="Ids of the done remediations it verifies, on its failure mode or above it.",
    )  # fmt: skip
    outcome = serializers.ChoiceField(choices=Outcome.choices, default=Outcome.PENDING)
    observations = serializers.CharField(
        max_length=MAX_MARKDOWN, required=False, allow_blank=True, help_text="Markdown."
    )
    ran_at = serializers.DateTimeField(
        required=False, allow_null=True,
        help_text="When it ran; the time of saving when an outcome comes without it. A "
        "pending scenario has none.",
    )  # fmt: skip
    has_journal = serializers.SerializerMethodField(
        help_text="Whether it was recorded from a Chaos Toolkit journal."
    )

    class Meta:
        model = Scenario
        fields = [
            "id", "game_day", "url", "title", "category", "services", "injection", "hypothesis",
            "abort_conditions", "rollback_plan", "verifies", "outcome", "observations", "ran_at",
            "has_journal",
        ]  # fmt: skip

    def get_has_journal(self, scenario: Scenario) -> bool:
        return scenario.journal is not None


class GameDaySerializer(serializers.ModelSerializer):
    url = serializers.CharField(source="get_absolute_url", read_only=True)
    version = VersionField()
    external_id = serializers.CharField(
        max_length=200, required=False, allow_null=True, allow_blank=True,
        help_text="Your own reference; import_game_days matches game days on it.",
    )  # fmt: skip
    title = serializers.CharField(max_length=MAX_TITLE)
    environment = serializers.ChoiceField(choices=Environment.choices, default=Environment.STAGING)
    facilitator = serializers.CharField(
        max_length=150, required=False, allow_null=True, allow_blank=True,
        help_text="A username; one that matches no user is left out, and `warnings` say so.",
    )  # fmt: skip
    participants = UsernameListField(
        max_length=MAX_PARTICIPANTS, required=False,
        help_text="Usernames; those that match no user are left out, and `warnings` say so.",
    )  # fmt: skip
    plan = serializers.CharField(
        max_length=MAX_MARKDOWN, required=False, allow_blank=True, help_text="Markdown."
    )
    notes = serializers.CharField(
        max_length=MAX_MARKDOWN, required=False, allow_blank=True, help_text="Markdown."
    )
    status = serializers.ChoiceField(choices=GameDayStatus.choices, default=GameDayStatus.PLANNED)
    # many=True hands max_length to the ListSerializer; the DRF stubs only know the child's.
    scenarios = ScenarioSerializer(  # type: ignore[call-arg]
        many=True, required=False, max_length=MAX_SCENARIOS,
        help_text="Written with the game day: one with an `id` updates that scenario, one "
        "without is new, a stored one left out is removed — unless it ran (its result is "
        "evidence for the fixes it verifies: mark it aborted instead).",
    )  # fmt: skip
    warnings = serializers.SerializerMethodField()

    class Meta:
        model = GameDay
        fields = [
            "id", "url", "version", "external_id", "title", "scheduled_at", "environment",
            "facilitator", "participants", "plan", "notes", "status", "scenarios",
            "created_at", "updated_at", "warnings",
        ]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, game_day: GameDay) -> list[str]:
        """What the write left undone: names that match no user (this response only)."""
        return list(getattr(game_day, "_warnings", []))

    def to_representation(self, instance: GameDay) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["facilitator"] = instance.facilitator.get_username() if instance.facilitator else None
        if "scenarios" not in getattr(instance, "_prefetched_objects_cache", {}):
            # Just written (reads prefetch only what the caller may see): leave out the
            # scenarios hidden from the caller.
            user = getattr(self.context.get("request"), "user", None)
            hidden = hidden_scenario_ids(instance, user)
            data["scenarios"] = [s for s in data["scenarios"] if s["id"] not in hidden]
            # and the fixes hidden from the caller that a scenario verifies (kept as stored).
            named = {pk for s in data["scenarios"] for pk in s["verifies"]}
            visible = Remediation.objects.visible_to(user).filter(pk__in=named)
            shown = set(visible.values_list("pk", flat=True))
            for scenario in data["scenarios"]:
                scenario["verifies"] = [pk for pk in scenario["verifies"] if pk in shown]
        return data

    def get_validators(self) -> list[Any]:
        return []  # every rule is in the one validator (to_internal_value)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """The body checked by the one validator of a game day (gamedays.records).

        An update starts from the stored record, so fields left out keep their values (PUT
        and PATCH alike). Within `scenarios`, an item with the `id` of a stored scenario
        starts from that scenario, so `{"id": 7, "outcome": "held"}` records an outcome.
        """
        if not isinstance(data, Mapping):
            raise serializers.ValidationError(
                {"non_field_errors": ["Send a JSON object with the game day's fields."]}
            )
        given = {key: value for key, value in data.items() if key in WRITABLE}
        errors = Errors()
        user = self.context["request"].user
        stored = game_day_record_of(self.instance) if self.instance is not None else None
        # Scenarios hidden from the caller read as absent, and are kept as stored.
        hidden = hidden_scenario_ids(self.instance, user) if self.instance is not None else set()
        seen = without_scenarios(stored, hidden) if stored else None
        if "scenarios" in given:
            given["scenarios"] = _merged_scenarios(
                seen["scenarios"] if seen else [], given["scenarios"], errors
            )
        raw = {**stored, **given} if stored else given
        if stored and "scenarios" in given:
            raw = keeping_scenarios(raw, stored, hidden, user)
        record = clean_game_day(raw, errors)
        if errors:
            raise serializers.ValidationError(errors.as_nested())
        if record["external_id"]:
            clash = GameDay.objects.filter(external_id=record["external_id"])
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise serializers.ValidationError(
                    {"external_id": ["Another game day already has this external_id."]}
                )
        return record

    def create(self, validated_data: dict[str, Any]) -> GameDay:
        return self._save(GameDay(), validated_data, expected_version=None)

    def update(self, instance: GameDay, validated_data: dict[str, Any]) -> GameDay:
        return self._save(
            instance, validated_data, expected_version=require_version(self.initial_data)
        )

    def _save(
        self, game_day: GameDay, record: dict[str, Any], *, expected_version: int | None
    ) -> GameDay:
        try:
            warnings = save_game_day(
                game_day, record, by=self.context["request"].user,
                expected_version=expected_version,
            )  # fmt: skip
        except RecordInvalid as invalid:  # the database's part: fixes, scenario ids, results
            raise serializers.ValidationError(invalid.errors.as_nested()) from None
        game_day._warnings = warnings  # type: ignore[attr-defined]  # for this response only
        return game_day


def _merged_scenarios(stored: list[dict[str, Any]], given: Any, errors: Errors) -> Any:
    """Given scenarios, each with the `id` of a stored one laid over that one; an `id` of no
    scenario of this game day is an error at its path."""
    if not isinstance(given, list):
        return given  # the validator says what is wrong with it
    by_id = {scenario["id"]: scenario for scenario in stored}
    merged = []
    for n, item in enumerate(given):
        scenario_id = item.get("id") if isinstance(item, Mapping) else None
        if _is_id(scenario_id) and scenario_id in by_id:
            merged.append({**by_id[scenario_id], **item})
            continue
        if _is_id(scenario_id) and n < MAX_SCENARIOS:
            errors.add(("scenarios", n, "id"),
                       f"is not a scenario of this game day: {scenario_id}.")  # fmt: skip
            item = {**item, "id": None}  # said once: the write path would say it again
        merged.append(item)
    return merged


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class JournalSerializer(serializers.Serializer):
    """For the schema only: a Chaos Toolkit journal, as `chaos run` writes it."""

    experiment = serializers.DictField(help_text="The experiment that ran.")
    status = serializers.ChoiceField(choices=["completed", "failed", "aborted", "interrupted"])
    deviated = serializers.BooleanField()
    start = serializers.DateTimeField()
    steady_states = serializers.DictField(required=False)
    run = serializers.ListField(child=serializers.DictField(), required=False)
    rollbacks = serializers.ListField(child=serializers.DictField(), required=False)
