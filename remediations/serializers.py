"""API representations of remediations and recurrence flags (PRODUCT.md, "REST API")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.api import VersionField, require_version
from common.validation import Errors
from incidents.models import Incident
from incidents.serializers import CategoryPathField
from remediations.actions import merged_changes, save_remediation
from remediations.models import (
    Effectiveness,
    FlagOutcome,
    RecurrenceFlag,
    Remediation,
    RemediationKind,
    RemediationStatus,
)
from remediations.records import REMEDIATION_FIELDS, clean_follow_up_of, clean_remediation


class RemediationSerializer(serializers.ModelSerializer):
    url = serializers.CharField(source="get_absolute_url", read_only=True)
    version = VersionField()
    kind = serializers.ChoiceField(choices=RemediationKind.choices, default=RemediationKind.PREVENT)
    status = serializers.ChoiceField(
        choices=RemediationStatus.choices, default=RemediationStatus.OPEN
    )
    owner = serializers.CharField(
        max_length=150, allow_null=True, allow_blank=True, required=False,
        help_text="A username. One that matches no user leaves the remediation unassigned, "
        "and the response's `warnings` say so.",
    )  # fmt: skip
    category = CategoryPathField(
        allow_null=True, required=False,
        help_text='The failure category it addresses, as a path; created when missing.',
    )  # fmt: skip
    incident = serializers.PrimaryKeyRelatedField(
        queryset=Incident.objects.all(), allow_null=True, required=False
    )
    follow_up_of = serializers.PrimaryKeyRelatedField(
        queryset=Remediation.objects.all(), allow_null=True, required=False,
        help_text="The id of the fix this one follows up (one that did not hold), or null.",
    )  # fmt: skip
    follow_ups = serializers.SerializerMethodField()
    scenario: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The game-day scenario it came from, or null."
    )
    linked_incidents = serializers.SerializerMethodField()
    effectiveness = serializers.ChoiceField(
        choices=Effectiveness.choices, read_only=True, allow_null=True,
        help_text="What the evidence says of a done fix; null while it is not done.",
    )  # fmt: skip
    effectiveness_since = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the evidence behind it happened."
    )
    effectiveness_evidence = serializers.CharField(
        read_only=True, help_text="The evidence that set the effectiveness, in a sentence."
    )
    verified_at = serializers.DateTimeField(read_only=True, allow_null=True)
    regressed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    warnings = serializers.SerializerMethodField()

    class Meta:
        model = Remediation
        fields = [
            "id", "url", "version", "title", "description", "kind", "status", "owner",
            "due_date", "opened_at", "done_at", "tracker_url", "category", "incident",
            "follow_up_of", "follow_ups", "scenario", "linked_incidents", "effectiveness",
            "effectiveness_since", "effectiveness_evidence", "verified_at", "regressed_at",
            "created_at", "updated_at", "warnings",
        ]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"description": {"max_length": 50_000, "trim_whitespace": False}}

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_follow_ups(self, remediation: Remediation) -> list[int]:
        return sorted(follow_up.pk for follow_up in remediation.follow_ups.all())

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_linked_incidents(self, remediation: Remediation) -> list[int]:
        return sorted(link.incident_id for link in remediation.recurrence_links.all())

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, remediation: Remediation) -> list[str]:
        return getattr(remediation, "_warnings", [])

    def to_representation(self, instance: Remediation) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["owner"] = instance.owner.get_username() if instance.owner else None
        return data

    def get_validators(self) -> list[Any]:
        return []  # every rule is in the one validator (to_internal_value)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """The body checked by the one validator of a remediation (remediations.records).

        An update starts from the stored remediation, so fields left out keep their values;
        a status change that says nothing of `done_at` keeps it in step (`merged_changes`).
        """
        if not isinstance(data, Mapping):
            raise serializers.ValidationError(
                {"non_field_errors": ["Send a JSON object with the remediation's fields."]}
            )
        given = {key: value for key, value in data.items() if key in REMEDIATION_FIELDS}
        raw = merged_changes(self.instance, given) if self.instance is not None else given
        errors = Errors()
        record = clean_remediation(raw, errors)
        incident: Incident | None = self.instance.incident if self.instance else None
        if "incident" in data:
            incident = self._incident(data["incident"], errors, self.context["request"].user)
        follows: Remediation | None = self.instance.follow_up_of if self.instance else None
        if "follow_up_of" in data:
            follows = clean_follow_up_of(data["follow_up_of"], self.instance, errors)
        if errors:
            raise serializers.ValidationError(errors.as_nested())
        record["incident"] = incident
        record["follow_up_of"] = follows
        return record

    @staticmethod
    def _incident(value: Any, errors: Errors, user: Any) -> Incident | None:
        """The incident it came from, by id; one hidden from `user` reads as not existing."""
        if value is None:
            return None
        incident = None
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
            incident = Incident.objects.visible_to(user).filter(pk=value).first()
        if incident is None:
            errors.add(("incident",), f"There is no incident {str(value)[:30]!r}.")
        return incident

    def create(self, validated_data: dict[str, Any]) -> Remediation:
        return self._save(Remediation(), validated_data, expected_version=None)

    def update(self, instance: Remediation, validated_data: dict[str, Any]) -> Remediation:
        return self._save(
            instance, validated_data, expected_version=require_version(self.initial_data)
        )

    def _save(
        self, remediation: Remediation, record: dict[str, Any], *, expected_version: int | None
    ) -> Remediation:
        remediation.incident = record["incident"]
        remediation.follow_up_of = record["follow_up_of"]
        warnings = save_remediation(
            remediation, record, by=self.context["request"].user, expected_version=expected_version
        )
        # Read back by get_warnings: an attribute of this response only, not a model field.
        remediation._warnings = warnings  # type: ignore[attr-defined]
        return remediation


class FlagSerializer(serializers.ModelSerializer):
    """A recurrence flag (PRODUCT.md, "flag")."""

    remediations = serializers.SerializerMethodField(
        help_text="Ids of the done fixes that did not hold, oldest first."
    )
    category_path = serializers.CharField(source="category.path", read_only=True)
    resolved_by = serializers.CharField(
        source="resolved_by.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = RecurrenceFlag
        fields = [
            "id", "incident", "category", "category_path", "remediations", "state", "outcome",
            "raised_at", "resolved_at", "resolved_by", "note", "reason",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_remediations(self, flag: RecurrenceFlag) -> list[int]:
        return sorted(fix.remediation_id for fix in flag.fixes.all())


class FlagNoteSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=10_000, help_text="Why it is not a recurrence: required."
    )


class AcknowledgeSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=[FlagOutcome.FIX_DID_NOT_HOLD, FlagOutcome.PARTIAL],
        help_text="`fix_did_not_hold`: the named fixes become regressed. `partial`: partly "
        "expected; they keep their effectiveness (a note is required).",
    )
    note = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
