"""API viewsets for incidents and failure categories (with their recurrence state)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch
from rest_framework import mixins, viewsets

from common.api import VersionedUpdates
from gamedays.coverage import last_tested_subquery
from incidents.actions import delete_category
from incidents.filters import IncidentFilterSet
from incidents.models import Cause, FailureCategory, Incident
from remediations.models import FlagState, RecurrenceFlag, RecurrenceLink, Remediation
from reports.serializers import IncidentSerializer, TestedCategorySerializer


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


class CategoryViewSet(VersionedUpdates, viewsets.ModelViewSet):
    queryset = FailureCategory.objects.annotate(
        flagged=Exists(
            RecurrenceFlag.objects.filter(category=OuterRef("pk"), state=FlagState.OPEN)
        ),
        last_tested_at=last_tested_subquery(),
    )
    serializer_class = TestedCategorySerializer

    def perform_destroy(self, instance: FailureCategory) -> None:
        # Staff only (common.permissions.RolePermission answers first; the action decides).
        delete_category(instance, by=self.request.user)
