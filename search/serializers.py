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


class WhySerializer(serializers.Serializer):
    failure_modes = serializers.ListField(
        child=serializers.CharField(),
        help_text="The failure modes asked about (paths) that it is classified in or below.",
    )
    words = serializers.ListField(
        child=serializers.CharField(),
        help_text="Words of its title and summary that match the title and summary given.",
    )
    services = serializers.ListField(
        child=serializers.CharField(), help_text="The services given that it affected too."
    )


class SimilarIncidentSerializer(serializers.Serializer):
    """A past incident like the one being written (GET /api/incidents/similar/)."""

    id = serializers.IntegerField(source="incident.pk")
    reference = serializers.CharField(source="incident.reference")
    title = serializers.CharField(source="incident.title")
    url = serializers.CharField(source="incident.get_absolute_url")
    started_at = serializers.DateTimeField(source="incident.started_at")
    severity = serializers.CharField(source="incident.severity")
    status = serializers.CharField(source="incident.status")
    score = serializers.FloatField(help_text="Likeness, 0 to 1: higher is better.")
    snippet = serializers.CharField(
        help_text="HTML-safe: the incident's text is escaped; only <mark> is added."
    )
    categories = serializers.ListField(child=serializers.CharField())
    why = WhySerializer(help_text="What it shares with the incident described.")


class SimilarIncidentPageSerializer(serializers.Serializer):
    """A page of suggestions, as every list answers: `{"count", "next", "previous", "results"}`."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SimilarIncidentSerializer(many=True)
