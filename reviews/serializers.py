"""The review agenda in the API (PRODUCT.md, `/api/review/<YYYY>-W<WW>/`): ids with titles."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reviews.models import DecisionKind


class AgendaIncidentSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    reference = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField(source="get_absolute_url")
    severity = serializers.CharField()
    status = serializers.CharField()
    started_at = serializers.DateTimeField()


class AgendaFlagSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    title = serializers.SerializerMethodField()
    incident = serializers.IntegerField(source="incident_id")
    remediations = serializers.SerializerMethodField()
    category = serializers.CharField(source="category.path")
    raised_at = serializers.DateTimeField()

    def get_title(self, flag: Any) -> str:
        titles = " and ".join(f"“{fix.title}”" for fix in flag.remediations.all())
        return f"{flag.category.path} came back in {flag.incident.reference} after {titles}"

    def get_remediations(self, flag: Any) -> list[dict[str, Any]]:
        """The fixes that did not hold: ids with titles."""
        return [{"id": fix.pk, "title": fix.title} for fix in flag.remediations.all()]


class AgendaRemediationSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    title = serializers.CharField()
    url = serializers.CharField(source="get_absolute_url")
    status = serializers.CharField()
    owner = serializers.CharField(source="owner.username", default=None, allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    done_at = serializers.DateTimeField(allow_null=True)
    category = serializers.CharField(source="category.path", default=None, allow_null=True)


class OutcomesSerializer(serializers.Serializer):
    held = serializers.IntegerField()
    failed = serializers.IntegerField()
    aborted = serializers.IntegerField()
    pending = serializers.IntegerField()


class AgendaGameDaySerializer(serializers.Serializer):
    """A game day scheduled in the week, with how its scenarios went so far."""

    id = serializers.IntegerField(source="pk")
    title = serializers.CharField()
    url = serializers.CharField(source="get_absolute_url")
    scheduled_at = serializers.DateTimeField()
    environment = serializers.CharField()
    status = serializers.CharField()
    outcomes = serializers.SerializerMethodField()

    @extend_schema_field(OutcomesSerializer)
    def get_outcomes(self, game_day: Any) -> dict[str, int]:
        """Its scenarios counted by outcome."""
        return {name: getattr(game_day, name) for name in ("held", "failed", "aborted", "pending")}


class RefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    title = serializers.CharField()


class AgendaFailedVerificationSerializer(serializers.Serializer):
    """A scenario that failed in the week, and the fixes it verifies: they did not hold."""

    id = serializers.IntegerField(source="pk")
    title = serializers.CharField(source="name")
    url = serializers.CharField(source="get_absolute_url")
    game_day = RefSerializer()
    category = serializers.CharField(source="category.path")
    ran_at = serializers.DateTimeField()
    remediations = RefSerializer(
        source="verifies.all", many=True, help_text="The fixes it verifies: ids with titles."
    )


class AwaitingVerificationSerializer(serializers.Serializer):
    count = serializers.IntegerField(
        help_text="Done prevent or mitigate fixes still unverified (up to 1,000 counted)."
    )
    remediations = RefSerializer(many=True, help_text="The oldest done first, the first 25.")


class TrendSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="category_id")
    category = serializers.CharField(source="path")
    counts = serializers.ListField(
        child=serializers.IntegerField(), help_text="Incidents per week, oldest of 12 first."
    )
    total = serializers.IntegerField()


class CategoryRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    path = serializers.CharField()


class MeetingSerializer(serializers.Serializer):
    notes = serializers.CharField(help_text="Markdown.")
    attendees = serializers.ListField(child=serializers.CharField(), help_text="Usernames.")
    reviewed_incidents = serializers.ListField(child=serializers.IntegerField())


class DecisionSerializer(serializers.Serializer):
    """One line of the meeting's minutes: a decision made on the review page."""

    id = serializers.IntegerField(source="pk")
    at = serializers.DateTimeField()
    by = serializers.CharField(source="by.username", default=None, allow_null=True)
    kind = serializers.ChoiceField(
        choices=DecisionKind.choices,
        help_text="reviewed, triaged, reassigned, rescheduled, reopened, marked_done, "
        "status_changed.",
    )
    subject = serializers.CharField(help_text="What it was about, as it read then.")
    detail = serializers.CharField(help_text="What was decided, e.g. “bob → alice”.")
    url = serializers.CharField()
    incident = serializers.IntegerField(source="incident_id", allow_null=True)
    remediation = serializers.IntegerField(source="remediation_id", allow_null=True)
    flag = serializers.IntegerField(source="flag_id", allow_null=True)
    outcome = serializers.CharField(help_text="A triage's outcome; empty for the other kinds.")
    next_steps = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        help_text="What it calls for, as {label, url}: a follow-up of a fix that did not "
        "hold, reclassifying an incident that was not a recurrence.",
    )


class TotalsSerializer(serializers.Serializer):
    new_incidents = serializers.IntegerField()
    unreviewed_incidents = serializers.IntegerField()
    open_flags = serializers.IntegerField()
    overdue_remediations = serializers.IntegerField()
    due_remediations = serializers.IntegerField()
    done_remediations = serializers.IntegerField()
    game_days = serializers.IntegerField()
    failed_verifications = serializers.IntegerField()
    awaiting_verification = serializers.IntegerField()


class AgendaSerializer(serializers.Serializer):
    week = serializers.CharField(help_text="ISO week, e.g. 2026-W48.")
    starts = serializers.DateField(help_text="Its Monday.")
    ends = serializers.DateField(help_text="Its Sunday.")
    new_incidents = AgendaIncidentSerializer(many=True)
    unreviewed_incidents = AgendaIncidentSerializer(many=True)
    open_flags = AgendaFlagSerializer(many=True)
    overdue_remediations = AgendaRemediationSerializer(many=True)
    due_remediations = AgendaRemediationSerializer(many=True)
    done_remediations = AgendaRemediationSerializer(many=True)
    game_days = AgendaGameDaySerializer(many=True, help_text="Scheduled this week.")
    failed_verifications = AgendaFailedVerificationSerializer(
        many=True, help_text="Scenarios that failed this week."
    )
    awaiting_verification = AwaitingVerificationSerializer(
        help_text="Done prevent or mitigate fixes still unverified (the backlog of untested fixes)."
    )
    category_trends = TrendSerializer(many=True)
    trend_weeks = serializers.ListField(child=serializers.CharField())
    categories_without_remediation = CategoryRefSerializer(many=True)
    meeting = MeetingSerializer()
    decisions = DecisionSerializer(many=True, help_text="Decided in this meeting, in order.")
    totals = TotalsSerializer(help_text="Each list shows its first 25 rows; these count all.")
