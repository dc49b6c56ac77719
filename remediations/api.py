"""API viewsets for remediations and recurrence flags."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from common.api import VersionedUpdates
from common.filters import FilterSet
from common.validation import Errors
from remediations.actions import FlagAlreadyResolved, TriageRefused, clean_triage, triage_flag
from remediations.filters import RemediationFilterSet
from remediations.models import FlagOutcome, FlagState, RecurrenceFlag, Remediation
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
    queryset = Remediation.objects.for_list().prefetch_related(
        "recurrence_links",
        Prefetch("follow_ups", queryset=Remediation.objects.only("pk", "follow_up_of")),
    )
    serializer_class = RemediationSerializer
    filterset_class = RemediationFilterSet


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


class FlagViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = RecurrenceFlag.objects.select_related("resolved_by", "category").prefetch_related(
        "fixes"
    )
    serializer_class = FlagSerializer
    filterset_class = FlagFilterSet

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
