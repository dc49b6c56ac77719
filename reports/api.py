"""API viewsets for incidents and failure categories (with their recurrence state)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from rest_framework import mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from common import audit
from common.api import VersionedUpdates
from gamedays.coverage import last_tested_subquery
from incidents.actions import delete_category
from incidents.filters import IncidentListFilterSet
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
    queryset = Incident.objects.all()
    serializer_class = IncidentSerializer
    filterset_class = IncidentListFilterSet

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incident = self.get_object()
        audit.viewed(incident, request)  # a restricted incident's views are audited
        return Response(self.get_serializer(incident).data)

    def get_queryset(self) -> QuerySet[Incident]:
        """The incidents the caller may see (others answer 404), with what the serializer
        reads; remediations and links hidden from the caller are left out of the lists."""
        user = self.request.user
        remediations = Remediation.objects.visible_to(user)
        return (
            Incident.objects.visible_to(user)
            .select_related("author")
            .prefetch_related(
                "categories",
                "services",
                "timeline",
                "access_groups",
                Prefetch("causes", queryset=Cause.objects.select_related("category")),
                Prefetch("remediations", queryset=remediations.select_related("owner", "category")),
                Prefetch(
                    "recurrence_links",
                    queryset=RecurrenceLink.objects.filter(
                        remediation__in=remediations.values("pk")
                    ).select_related("remediation"),
                ),
                "flags",
            )
        )


class CategoryViewSet(VersionedUpdates, viewsets.ModelViewSet):
    queryset = FailureCategory.objects.all()
    serializer_class = TestedCategorySerializer

    def get_queryset(self) -> QuerySet[FailureCategory]:
        """The categories the caller may see (`FailureCategory.objects.visible_to`; another
        answers 404); what they say of incidents (`flagged`, `last_tested_at`) counts only
        what the caller may see."""
        user = self.request.user
        return FailureCategory.objects.visible_to(user).annotate(
            flagged=Exists(
                RecurrenceFlag.objects.visible_to(user).filter(
                    category=OuterRef("pk"), state=FlagState.OPEN
                )
            ),
            last_tested_at=last_tested_subquery(user),
        )

    def perform_destroy(self, instance: FailureCategory) -> None:
        # Staff only (common.permissions.RolePermission answers first; the action decides).
        target = audit.describe(instance)
        with transaction.atomic():
            delete_category(instance, by=self.request.user)
            audit.deleted([target], by=self.request.user, via="api")
