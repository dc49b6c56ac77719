"""API representations of incidents, categories and services (PRODUCT.md, "REST API")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from common.api import VersionField, require_version
from common.validation import Errors, clean_text
from incidents import actions
from incidents.models import (
    PATH_SEPARATOR,
    FailureCategory,
    Service,
)
from incidents.records import (
    MAX_DESIGN_NOTES,
    clean_category,
    clean_design_notes,
    clean_service_name,
)


class CategoryPathField(serializers.CharField):
    """A category named by its path, "Control plane > etcd"; created when missing."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 500)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        path: str = super().to_internal_value(data)
        names = actions.split_category_path(path)
        if not names:
            raise serializers.ValidationError("A category path needs at least one name.")
        if any(len(name) > 100 for name in names):
            raise serializers.ValidationError(
                "Each name in a category path is at most 100 characters."
            )
        return PATH_SEPARATOR.join(names)

    def to_representation(self, value: Any) -> str:
        return value.path if isinstance(value, FailureCategory) else str(value)


class CategoryPathListField(serializers.ListField):
    """Categories as sorted paths; written as paths, created when missing."""

    child = CategoryPathField()

    def to_representation(self, data: Any) -> list[str]:
        return sorted(category.path for category in data.all())


class ServiceNameListField(serializers.ListField):
    """Services as names, sorted ignoring case; written as names, created when missing."""

    child = serializers.CharField(max_length=100)

    def to_representation(self, data: Any) -> list[str]:
        return sorted((service.name for service in data.all()), key=str.lower)


class VisibleCategoryField(serializers.PrimaryKeyRelatedField):
    """A category id among those the caller may see (`FailureCategory.objects.visible_to`):
    another is "not found", as if it did not exist. Read when a value is given, not before."""

    def get_queryset(self) -> QuerySet[FailureCategory]:
        request = self.context.get("request")
        return FailureCategory.objects.visible_to(request.user if request else None)


class CategorySerializer(serializers.ModelSerializer):
    version = VersionField()
    # A declared field, not Field.parent: DRF's metaclass moves it out of the class attributes.
    parent = VisibleCategoryField(  # type: ignore[assignment]
        allow_null=True, required=False
    )
    flagged = serializers.BooleanField(read_only=True, default=False)

    class Meta:
        model = FailureCategory
        fields = ["id", "slug", "version", "name", "parent", "path", "description", "flagged"]
        read_only_fields = ["slug", "path"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = self._shared_rules(attrs)
        return self._placement(attrs)

    def _shared_rules(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = Errors()
        current = self.instance
        name, description = clean_category(
            self.initial_data.get("name", current.name if current else None),
            self.initial_data.get("description", current.description if current else ""),
            errors,
        )
        if errors:
            raise serializers.ValidationError(errors.as_nested())
        return {**attrs, "name": name, "description": description}

    def _placement(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance or FailureCategory()
        name = attrs.get("name", instance.name)
        parent = attrs.get("parent", instance.parent if instance.pk else None)
        if (
            instance.pk
            and parent is not None
            and instance.descendants().filter(pk=parent.pk).exists()
        ):
            raise serializers.ValidationError(
                {"parent": ["A category can't be moved below itself or one of its sub-categories."]}
            )
        path = f"{parent.path}{PATH_SEPARATOR}{name}" if parent else name
        if FailureCategory.objects.filter(path__iexact=path).exclude(pk=instance.pk).exists():
            raise serializers.ValidationError({"name": [f"There is already a category “{path}”."]})
        return attrs

    def create(self, validated_data: dict[str, Any]) -> FailureCategory:
        validated_data.pop("version", None)
        return actions.save_category(
            FailureCategory(**validated_data), by=self.context["request"].user
        )

    def update(self, instance: FailureCategory, validated_data: dict[str, Any]) -> FailureCategory:
        """An update may send the `version` it read: a stale one is refused with 409."""
        expected = validated_data.pop("version", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return actions.save_category(
            instance, by=self.context["request"].user, expected_version=expected
        )


class FailureModeCountSerializer(serializers.Serializer):
    """A failure mode of a service's incidents: its path and how many incidents it has."""

    path = serializers.CharField(read_only=True)
    incident_count = serializers.IntegerField(read_only=True)


class ServiceSerializer(serializers.ModelSerializer):
    """A service (PRODUCT.md, "service"): its name, description and Markdown design notes are
    written; the names merged into it and what its incidents say are read-only.

    The read-only facts count only what the caller may see; the view attaches them to each
    instance as `facts` (reports.services.Facts) or passes `facts_for` in the context.
    """

    version = VersionField()
    aliases = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        many=True, read_only=True, slug_field="name", help_text="Names merged into this service."
    )
    failure_modes = FailureModeCountSerializer(
        many=True, read_only=True, source="facts.failure_modes",
        help_text="The failure modes of its incidents, with their incident counts, most first.",
    )  # fmt: skip
    incident_count = serializers.IntegerField(read_only=True, source="facts.incident_count")
    last_incident_at = serializers.DateTimeField(
        read_only=True, allow_null=True, source="facts.last_incident_at"
    )
    last_tested_at = serializers.DateTimeField(
        read_only=True, allow_null=True, source="facts.last_tested_at",
        help_text="When a game-day scenario on this service last ran; null if never.",
    )  # fmt: skip

    class Meta:
        model = Service
        fields = [
            "id", "name", "version", "description", "design_notes", "aliases", "failure_modes",
            "incident_count", "last_incident_at", "last_tested_at",
        ]  # fmt: skip
        extra_kwargs = {
            "description": {"max_length": 10_000},
            "design_notes": {"max_length": MAX_DESIGN_NOTES, "help_text": "Markdown."},
        }

    def get_validators(self) -> list[Any]:
        return []

    def to_representation(self, instance: Service) -> dict[str, Any]:
        if not hasattr(instance, "facts"):
            facts_for = self.context.get("facts_for")
            instance.facts = facts_for([instance.pk])[instance.pk] if facts_for else None  # type: ignore[attr-defined]
        return super().to_representation(instance)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """A name (one line, at most 100 characters), a description and design notes, by the
        shared rules; an update changing the design notes must send the `version` it read."""
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
        errors = Errors()
        current = self.instance
        if "name" in data or current is None:
            name = clean_service_name(data.get("name"), ("name",), errors)
        else:
            name = current.name  # unchanged, as stored (even if stored before canonical names)
        if not name and not errors:
            errors.add(("name",), "is required.")
        description = clean_text(
            data.get("description", current.description if current else ""),
            ("description",), errors, max_length=10_000,
        )  # fmt: skip
        notes = clean_design_notes(
            data.get("design_notes", current.design_notes if current else ""), errors
        )
        if errors:
            raise serializers.ValidationError(errors.as_nested())
        cleaned: dict[str, Any] = {"name": name, "description": description, "design_notes": notes}
        if current is not None and ("version" in data or notes != current.design_notes):
            cleaned["expected_version"] = require_version(dict(data))
        return cleaned

    def create(self, validated_data: dict[str, Any]) -> Service:
        return self._save(Service(), validated_data)

    def update(self, instance: Service, validated_data: dict[str, Any]) -> Service:
        return self._save(instance, validated_data)

    def _save(self, service: Service, data: dict[str, Any]) -> Service:
        try:
            return actions.save_service(service, by=self.context["request"].user, **data)
        except ValueError as clash:
            raise serializers.ValidationError({"name": [str(clash)]}) from None
