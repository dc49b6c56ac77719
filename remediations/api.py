"""API viewsets for remediations and recurrence flags."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from common import audit
from common.api import VersionedUpdates
from common.filters import FilterSet
from common.validation import Errors
from incidents.models import Incident
from remediations.actions import FlagAlreadyResolved, TriageRefused, clean_triage, triage_flag
from remediations.filters import RemediationFilterSet
from remediations.models import (
    FlagFix,
    FlagOutcome,
    FlagState,
    RecurrenceFlag,
    RecurrenceLink,
    Remediation,
)
from remediations.serializers import (
    AcknowledgeSerializer,
    FlagNoteSerializer,
    FlagSerializer,
    RemediationSerializer,
)


class RemediationViewSet(
    VersionedUpdates,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Remediation.objects.all()
    serializer_class = RemediationSerializer
    filterset_class = RemediationFilterSet

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        remediation = self.get_object()
        # A restricted incident's fix is audited like the incident (common.audit.viewed).
        audit.viewed(remediation.incident, request, part=remediation)
        return Response(self.get_serializer(remediation).data)

    def get_queryset(self) -> QuerySet[Remediation]:
        """The remediations the caller may see (others answer 404); the incidents and
        follow-ups they list leave out what is hidden from the caller."""
        user = self.request.user
        visible = Remediation.objects.visible_to(user)
        hidden = Incident.objects.hidden_from(user).values("pk")
        return visible.for_list().prefetch_related(
            Prefetch("recurrence_links", RecurrenceLink.objects.exclude(incident__in=hidden)),
            Prefetch("follow_ups", queryset=visible.only("pk", "follow_up_of")),
        )


class FlagFilterSet(FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=FlagState.choices)
    outcome = django_filters.MultipleChoiceFilter(choices=FlagOutcome.choices)
    remediation = django_filters.ModelChoiceFilter(
        field_name="fixes__remediation", queryset=Remediation.objects.all(),
        label="Flags naming this remediation (id).",
    )  # fmt: skip

    class Meta:
        model = RecurrenceFlag
        fields = ["incident", "remediation", "category", "state", "outcome"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # An id hidden from the caller reads like one that doesn't exist.
        user = getattr(self.request, "user", None)
        self.filters["incident"].queryset = Incident.objects.visible_to(user)  # type: ignore[attr-defined]
        self.filters["remediation"].queryset = Remediation.objects.visible_to(user)  # type: ignore[attr-defined]


class FlagViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = RecurrenceFlag.objects.all()
    serializer_class = FlagSerializer
    filterset_class = FlagFilterSet

    def get_queryset(self) -> QuerySet[RecurrenceFlag]:
        """The flags the caller may see (a flag shares its incident's visibility); the fixes
        they name leave out remediations hidden from the caller."""
        user = self.request.user
        fixes = FlagFix.objects.filter(remediation__in=Remediation.objects.visible_to(user))
        return (
            RecurrenceFlag.objects.visible_to(user)
            .select_related("resolved_by", "category")
            .prefetch_related(Prefetch("fixes", fixes))
        )

    @extend_schema(request=AcknowledgeSerializer, responses={200: FlagSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """A person confirms the recurrence: `fix_did_not_hold` (the named fixes become
        *regressed*) or `partial` (partly expected; a note is required)."""
        outcome = request.data.get("outcome") if isinstance(request.data, dict) else None
        if outcome == FlagOutcome.NOT_A_RECURRENCE:
            raise ValidationError(
                {"outcome": ["To say it is not a recurrence, POST to dismiss/ with a note."]}
            )
        return self._triage(request, outcome)

    @extend_schema(request=FlagNoteSerializer, responses={200: FlagSerializer})
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str | None = None) -> Response:
        """A person judges it not a recurrence (a different failure); the note says why."""
        return self._triage(request, FlagOutcome.NOT_A_RECURRENCE)

    def _triage(self, request: Request, outcome: Any) -> Response:
        flag = self.get_object()
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        errors = Errors()
        outcome, note = clean_triage(outcome, request.data.get("note"), errors)
        if errors:
            raise ValidationError(errors.as_nested())
        try:
            flag = triage_flag(flag, outcome=outcome, by=request.user, note=note)
        except TriageRefused as refused:  # pragma: no cover - clean_triage said it first
            raise ValidationError({"non_field_errors": [str(refused)]}) from refused
        except FlagAlreadyResolved as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(FlagSerializer(flag).data)
