"""The representation of a search hit (PRODUCT.md, "GET /api/search/")."""

from __future__ import annotations

from rest_framework import serializers


class SearchResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="incident.pk")
    reference = serializers.CharField(source="incident.reference")
    title = serializers.CharField(source="incident.title")
    url = serializers.CharField(source="incident.get_absolute_url")
    snippet = serializers.CharField(
        help_text="HTML-safe: the incident's text is escaped; only <mark> is added."
    )
    score = serializers.FloatField(help_text="Relevance, 0 to 1: higher is better.")
    categories = serializers.ListField(child=serializers.CharField())
    started_at = serializers.DateTimeField(source="incident.started_at")
    severity = serializers.CharField(source="incident.severity")
    status = serializers.CharField(source="incident.status")
    remediations = serializers.DictField(
        child=serializers.IntegerField(),
        help_text='How many of the incident\'s remediations are in each status: {"done": 2}.',
    )
