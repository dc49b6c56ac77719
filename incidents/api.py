"""API viewsets for incidents, failure categories and services."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Prefetch
from rest_framework import mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from common.api import conflict_response
from common.concurrency import StaleVersion
from incidents.filters import IncidentFilterSet
from incidents.models import Cause, FailureCategory, Incident, Service
from incidents.serializers import CategorySerializer, IncidentSerializer, ServiceSerializer
from remediations.models import FlagState, RecurrenceFlag, RecurrenceLink, Remediation


class VersionedUpdates:
    """Updates that answer 409 with the current representation when the version is stale."""

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().update(request, *args, **kwargs)  # type: ignore[misc]
        except StaleVersion as stale:
            fresh = self.get_queryset().get(pk=stale.instance.pk)  # type: ignore[attr-defined]
            return conflict_response(
                StaleVersion(fresh, stale.submitted_version),
                self.get_serializer_class(),  # type: ignore[attr-defined]
                self.get_serializer_context(),  # type: ignore[attr-defined]
            )


class IncidentViewSet(
    VersionedUpdates,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Incident.objects.select_related("author").prefetch_related(
        "categories",
        "services",
        "timeline",
        Prefetch("causes", queryset=Cause.objects.select_related("category")),
        Prefetch("remediations", queryset=Remediation.objects.select_related("owner", "category")),
        Prefetch("recurrence_links", queryset=RecurrenceLink.objects.select_related("remediation")),
        "flags",
    )
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilterSet


class CategoryViewSet(viewsets.ModelViewSet):
    queryset = FailureCategory.objects.annotate(
        flagged=Exists(RecurrenceFlag.objects.filter(category=OuterRef("pk"), state=FlagState.OPEN))
    )
    serializer_class = CategorySerializer


class ServiceViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Service.objects.all()
    serializer_class = ServiceSerializer
