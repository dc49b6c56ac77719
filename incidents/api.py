"""API viewset for services; incidents and categories are in reports/api.py (they show
remediations and flags, which incidents doesn't import)."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import mixins, viewsets

from incidents.models import Service
from incidents.serializers import ServiceSerializer


class ServiceViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Service.objects.all()
    serializer_class = ServiceSerializer

    def get_queryset(self) -> QuerySet[Service]:
        """The services the caller may see (`Service.objects.visible_to`): one only restricted
        incidents name answers 404."""
        return Service.objects.visible_to(self.request.user)
