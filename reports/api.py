"""API viewsets for incidents and failure categories (with their recurrence state)."""

from __future__ import annotations

from typing import Any, cast

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
from incidents.models import Cause, FailureCategory, Incident, IncidentQuerySet, Service
from incidents.serializers import ServiceSerializer
from remediations.models import FlagState, RecurrenceFlag, RecurrenceLink, Remediation
from reports import services
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

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.action == "list":
            # A duplicate leaves the list; it is still read, and un-marked, at its own URL.
            queryset = cast(IncidentQuerySet, queryset).originals(self.request.user)
        return super().filter_queryset(queryset)

    def get_queryset(self) -> QuerySet[Incident]:
        """The incidents the caller may see (others answer 404), with what the serializer
        reads; remediations and links hidden from the caller are left out of the lists."""
        user = self.request.user
        remediations = Remediation.objects.visible_to(user)
        return (
            Incident.objects.visible_to(user)
            .with_shown_original(user)  # `duplicate_of` names no original hidden from them
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
                Prefetch("flags", queryset=RecurrenceFlag.objects.visible_to(user)),
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


class ServiceViewSet(
    VersionedUpdates,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Services are shared; their `failure_modes`, `incident_count`, `last_incident_at` and
    `last_tested_at` count only what the caller may see (reports.services.facts)."""

    queryset = Service.objects.prefetch_related("aliases")
    serializer_class = ServiceSerializer

    def get_queryset(self) -> QuerySet[Service]:
        """The services the caller may see (`Service.objects.visible_to`): one only restricted
        incidents name answers 404."""
        return Service.objects.visible_to(self.request.user).prefetch_related("aliases")

    def get_serializer_context(self) -> dict[str, Any]:
        user = self.request.user
        context = super().get_serializer_context()
        return {**context, "facts_for": lambda ids: services.facts(ids, user)}

    def paginate_queryset(self, queryset: Any) -> list[Any] | None:
        """A page of services, each with its facts: three queries for the whole page."""
        page = super().paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        found = services.facts([s.pk for s in rows], self.request.user)
        for service in rows:
            service.facts = found[service.pk]
        return page
