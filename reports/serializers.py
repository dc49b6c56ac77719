"""The API representation of an incident with its parts and remediations (PRODUCT.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from common.api import VersionField, require_version
from common.validation import RecordInvalid
from gamedays import coverage
from incidents import actions
from incidents.models import (
    Cause,
    CauseKind,
    FailureCategory,
    Incident,
    IncidentStatus,
    Severity,
    TimelineEntry,
    Visibility,
    shown_original,
)
from incidents.records import (
    INCIDENT_FIELDS,
    MAX_ACCESS_GROUPS,
    MAX_CATEGORIES,
    MAX_CAUSES,
    MAX_SERVICES,
    MAX_TIMELINE,
    PART_FIELDS,
)
from incidents.serializers import (
    CategoryPathField,
    CategoryPathListField,
    CategorySerializer,
    ServiceNameListField,
)
from remediations.actions import save_report
from remediations.models import OPEN_STATUSES, FlagState, RecurrenceFlag
from remediations.records import clean_report


class CauseSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=CauseKind.choices, default=CauseKind.ROOT_CAUSE)
    description = serializers.CharField(max_length=10_000)
    category = CategoryPathField(required=False, allow_null=True, allow_blank=True)

    class Meta:
        model = Cause
        fields = ["kind", "description", "category"]


class TimelineEntrySerializer(serializers.ModelSerializer):
    text = serializers.CharField(max_length=10_000, allow_blank=True)

    class Meta:
        model = TimelineEntry
        fields = ["at", "text"]


class IncidentRemediationSerializer(serializers.Serializer):
    """The remediations that came from an incident, as the interchange format lists them."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    due_date = serializers.DateField(allow_null=True)
    opened_at = serializers.DateTimeField()
    done_at = serializers.DateTimeField(allow_null=True)
    category = CategoryPathField(allow_null=True)
    tracker_url = serializers.CharField()


class GroupNameListField(serializers.ListField):
    """Access groups by name (PRODUCT.md, incident `access_groups`)."""

    child = serializers.CharField(max_length=150)

    def to_representation(self, data: Any) -> list[str]:
        return sorted(group.name for group in data.all())


class IncidentSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True)
    version = VersionField()
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.SEV3)
    status = serializers.ChoiceField(
        choices=IncidentStatus.choices, default=IncidentStatus.RESOLVED
    )
    body = serializers.CharField(allow_blank=True, required=False, trim_whitespace=False)
    categories = CategoryPathListField(
        max_length=MAX_CATEGORIES, required=False,
        help_text='Failure categories as paths, e.g. "Control plane > etcd"; created when missing.',
    )  # fmt: skip
    services = ServiceNameListField(
        max_length=MAX_SERVICES, required=False,
        help_text="Service names; created when missing.",
    )  # fmt: skip
    # many=True hands max_length to the ListSerializer; the DRF stubs only know the child's.
    causes = CauseSerializer(many=True, required=False, max_length=MAX_CAUSES)  # type: ignore[call-arg]
    timeline = TimelineEntrySerializer(many=True, required=False, max_length=MAX_TIMELINE)  # type: ignore[call-arg]
    remediations = IncidentRemediationSerializer(many=True, read_only=True)
    visibility = serializers.ChoiceField(
        choices=Visibility.choices, default=Visibility.EVERYONE,
        help_text="`restricted`: only its author, members of `access_groups` and superusers "
        "see it; for anyone else it does not exist (404).",
    )  # fmt: skip
    access_groups = GroupNameListField(
        max_length=MAX_ACCESS_GROUPS, required=False,
        help_text="Names of the groups that see a restricted incident; each must exist.",
    )  # fmt: skip
    author = serializers.CharField(
        source="author.username", read_only=True, default=None, allow_null=True
    )
    duplicate_of = serializers.IntegerField(
        source="duplicate_of_id", allow_null=True, required=False,
        help_text="The id of the original this incident repeats, or null. Set it to mark the "
        "incident a duplicate (it then leaves lists, search and the review agenda), null to "
        "un-mark it. Naming a duplicate names its original; itself, a cycle, or an incident "
        "you can't see is refused (400). An original you can't see reads as null, and null "
        "(or leaving it out) then keeps it: only someone who sees it un-marks it; naming an "
        "original you see marks it a duplicate of that one instead.",
    )  # fmt: skip
    linked_remediations = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()
    open_flags = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id", "reference", "url", "version", "external_id", "title", "summary", "body",
            "severity", "status", "started_at", "detected_at", "resolved_at", "categories",
            "services", "causes", "timeline", "remediations", "source_url", "author",
            "created_at", "updated_at", "linked_remediations", "open_flags", "visibility",
            "access_groups", "warnings", "duplicate_of",
        ]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {
            "summary": {"max_length": 5000, "required": False},
            "external_id": {"required": False, "allow_null": True, "allow_blank": True},
        }

    def to_representation(self, instance: Incident) -> dict[str, Any]:
        """As stored, but `duplicate_of` is null to a caller who may not see that original
        (incidents.models.shown_original): a restricted incident's id is never told."""
        data: dict[str, Any] = super().to_representation(instance)
        request = self.context.get("request")
        data["duplicate_of"] = shown_original(instance, getattr(request, "user", AnonymousUser()))
        return data

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_linked_remediations(self, incident: Incident) -> list[int]:
        return sorted(
            link.remediation_id
            for link in incident.recurrence_links.all()
            if link.remediation.status in OPEN_STATUSES
        )

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, incident: Incident) -> list[str]:
        """What the write left undone, e.g. an owner that matches no user (PRODUCT.md)."""
        return list(getattr(incident, "_warnings", []))

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_open_flags(self, incident: Incident) -> list[int]:
        """Ids of its open flags the caller may see (RecurrenceFlag.objects.visible_to)."""
        if "flags" in getattr(incident, "_prefetched_objects_cache", {}):
            flags = incident.flags.all()  # prefetched by the API's queryset, visible ones only
        else:
            request = self.context.get("request")
            viewer = getattr(request, "user", AnonymousUser())
            flags = RecurrenceFlag.objects.visible_to(viewer).filter(incident=incident)
        return sorted(flag.pk for flag in flags if flag.state == FlagState.OPEN)

    def get_validators(self) -> list[Any]:
        return []  # every rule is in the one validator (to_internal_value)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """The request body checked by the one validator of an incident record.

        An update starts from the stored record, so fields left out keep their values (PUT
        and PATCH alike); a new incident may bring new remediations, an update may not (they
        are edited on their own: /api/remediations/). Rules and messages: incidents.records.
        """
        if not isinstance(data, Mapping):
            raise serializers.ValidationError(
                {"non_field_errors": ["Send a JSON object with the incident's fields."]}
            )
        writable = {*IncidentRecordFields, "duplicate_of"}
        given = {key: value for key, value in data.items() if key in writable}
        if self.instance is not None:
            if "remediations" in given:
                raise serializers.ValidationError(
                    {"remediations": ["An incident's remediations are changed one by one at "
                                      "/api/remediations/; leave them out of an update."]}
                )  # fmt: skip
            raw: dict[str, Any] = {**actions.record_of(self.instance), "remediations": []}
            raw.update(given)
        else:
            raw = given
        try:
            report = clean_report(raw, by=self.context["request"].user, incident=self.instance)
        except RecordInvalid as invalid:
            raise serializers.ValidationError(invalid.errors.as_nested()) from None
        external_id = report["external_id"]
        if external_id:
            clash = Incident.objects.filter(external_id=external_id)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise serializers.ValidationError(
                    {"external_id": ["Another incident already has this external_id."]}
                )
        return report

    def create(self, validated_data: dict[str, Any]) -> Incident:
        incident = Incident()
        warnings = save_report(
            incident, validated_data, by=self.context["request"].user, expected_version=None
        )
        incident._warnings = warnings  # type: ignore[attr-defined]  # for this response only
        return incident

    def update(self, instance: Incident, validated_data: dict[str, Any]) -> Incident:
        actions.save_incident(
            instance, validated_data, by=self.context["request"].user,
            expected_version=require_version(self.initial_data),
        )  # fmt: skip
        instance.__dict__.pop("shown_original", None)  # read before the write: ask again
        return instance


# The fields of an incident record a client writes (PRODUCT.md, "Interchange format").
IncidentRecordFields = (*INCIDENT_FIELDS, *PART_FIELDS, "remediations")


# The incidents app knows no game days, so `last_tested_at` is added here; the API still
# calls it a Category.
@extend_schema_serializer(component_name="Category")
class TestedCategorySerializer(CategorySerializer):
    """A failure mode: where it sits in the tree, whether it recurred after a fix (`flagged`)
    and when a game-day scenario on it or below it last ran (`last_tested_at`)."""

    last_tested_at = serializers.SerializerMethodField()

    class Meta(CategorySerializer.Meta):
        fields = [*CategorySerializer.Meta.fields, "last_tested_at"]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_last_tested_at(self, category: FailureCategory) -> str | None:
        # Lists and reads carry it as an annotation (no query per row); a category just created
        # or moved is looked up.
        if hasattr(category, "last_tested_at"):
            at = category.last_tested_at
        else:
            user = getattr(self.context.get("request"), "user", None)
            at = coverage.last_tested_at(category, user)
        return serializers.DateTimeField().to_representation(at) if at else None

    def update(self, instance: FailureCategory, validated_data: dict[str, Any]) -> FailureCategory:
        # A move changes what lies below it: the annotation read before the move is stale.
        instance.__dict__.pop("last_tested_at", None)
        return super().update(instance, validated_data)
