"""API viewsets for remediations and recurrence flags."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from common.api import VersionedUpdates
from common.filters import FilterSet
from remediations.actions import FlagAlreadyResolved, resolve_flag
from remediations.filters import RemediationFilterSet
from remediations.models import FlagState, RecurrenceFlag, Remediation
from remediations.serializers import FlagNoteSerializer, FlagSerializer, RemediationSerializer


class RemediationViewSet(
    VersionedUpdates,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Remediation.objects.for_list().prefetch_related("recurrence_links")
    serializer_class = RemediationSerializer
    filterset_class = RemediationFilterSet


class FlagFilterSet(FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=FlagState.choices)

    class Meta:
        model = RecurrenceFlag
        fields = ["incident", "remediation", "category", "state"]


class FlagViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = RecurrenceFlag.objects.select_related("resolved_by")
    serializer_class = FlagSerializer
    filterset_class = FlagFilterSet

    @extend_schema(request=FlagNoteSerializer, responses={200: FlagSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """A person confirms the recurrence and takes it from here; the note says how."""
        return self._resolve(request, FlagState.ACKNOWLEDGED)

    @extend_schema(request=FlagNoteSerializer, responses={200: FlagSerializer})
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str | None = None) -> Response:
        """A person judges the flag wrong (e.g. a different failure); the note says why."""
        return self._resolve(request, FlagState.DISMISSED)

    def _resolve(self, request: Request, state: str) -> Response:
        flag = self.get_object()
        note = FlagNoteSerializer(data=request.data)
        note.is_valid(raise_exception=True)
        try:
            flag = resolve_flag(
                flag, state=state, by=request.user, note=note.validated_data["note"]
            )
        except FlagAlreadyResolved as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(FlagSerializer(flag).data)
