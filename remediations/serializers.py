"""API representations of remediations and recurrence flags (PRODUCT.md, "REST API")."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.api import VersionField, require_version
from incidents import actions as incident_actions
from incidents.models import Incident
from incidents.serializers import CategoryPathField
from remediations.actions import save_remediation
from remediations.models import (
    RecurrenceFlag,
    Remediation,
    RemediationKind,
    RemediationStatus,
    done_at_for,
)


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
    linked_incidents = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()

    class Meta:
        model = Remediation
        fields = [
            "id", "url", "version", "title", "description", "kind", "status", "owner",
            "due_date", "opened_at", "done_at", "tracker_url", "category", "incident",
            "linked_incidents", "created_at", "updated_at", "warnings",
        ]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"description": {"max_length": 50_000, "trim_whitespace": False}}

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

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance or Remediation()
        status = attrs.get("status", instance.status)
        opened_at = attrs.get("opened_at", instance.opened_at)
        done_at = attrs.get("done_at", instance.done_at)
        if done_at is not None and status != RemediationStatus.DONE and "done_at" in attrs:
            raise serializers.ValidationError(
                {"done_at": ["Only a remediation marked done has a done date."]}
            )
        attrs["done_at"] = done_at_for(status, done_at, opened_at)
        if attrs["done_at"] and opened_at and attrs["done_at"] < opened_at:
            raise serializers.ValidationError(
                {"done_at": ["A remediation can't be done before it was opened."]}
            )
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Remediation:
        return self._save(Remediation(), validated_data, expected_version=None)

    def update(self, instance: Remediation, validated_data: dict[str, Any]) -> Remediation:
        return self._save(
            instance, validated_data, expected_version=require_version(self.initial_data)
        )

    @transaction.atomic
    def _save(
        self, remediation: Remediation, data: dict[str, Any], *, expected_version: int | None
    ) -> Remediation:
        data.pop("version", None)
        warnings: list[str] = []
        if "owner" in data:
            username = (data.pop("owner") or "").strip()
            owner = get_user_model().objects.filter(username=username).first() if username else None
            if username and owner is None:
                warnings.append(f"No user is called {username!r}: the remediation is unassigned.")
            remediation.owner = owner
        if "category" in data:
            path = data.pop("category")
            remediation.category = incident_actions.get_or_create_category(path) if path else None
        for name, value in data.items():
            setattr(remediation, name, value)
        remediation = save_remediation(
            remediation, by=self.context["request"].user, expected_version=expected_version
        )
        remediation._warnings = warnings  # type: ignore[attr-defined]
        return remediation


class FlagSerializer(serializers.ModelSerializer):
    resolved_by = serializers.CharField(
        source="resolved_by.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = RecurrenceFlag
        fields = [
            "id", "incident", "remediation", "category", "state", "raised_at", "resolved_at",
            "resolved_by", "note", "reason",
        ]  # fmt: skip
        read_only_fields = fields


class FlagNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=10_000, help_text="Why: required.")
