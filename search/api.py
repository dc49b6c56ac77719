"""GET /api/search/: ranked incidents for a query, filterable like the incident list."""

from __future__ import annotations

from typing import Any, cast

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api import Pagination
from common.validation import Errors
from incidents.filters import IncidentFilterSet
from incidents.models import Incident
from search.backends.base import SearchTimeout
from search.forms import SearchForm
from search.serializers import (
    SearchResultSerializer,
    SimilarIncidentPageSerializer,
    SimilarIncidentSerializer,
)
from search.service import search
from search.similar import read_question, suggest

TIMEOUT_MESSAGE = "The search took too long. Add words or filters to narrow it, and try again."


class SearchPagination(Pagination):
    """limit/offset pages over a count that stops at 1,000 (see count_capped)."""

    default_limit = 20

    def page(self, request: Request, count: int) -> tuple[int, int]:
        self.request = request
        self.count = count
        self.limit = self.get_limit(request)
        self.offset = self.get_offset(request)
        return self.limit, self.offset

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["count"]["description"] = "Matches, counted up to 1,000."
        paginated["properties"]["count_capped"] = {
            "type": "boolean",
            "description": "True when there are more matches than `count` (show it as 1,000+).",
        }
        paginated["properties"]["corrections"] = {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Words that look like typos, with the words also searched for.",
        }
        paginated["properties"]["failure_modes"] = {
            "type": "array",
            "description": "Failure categories the query names: their pages are the answer.",
            "items": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "url": {"type": "string"}},
            },
        }
        return paginated


class SearchViewSet(viewsets.GenericViewSet):
    queryset = Incident.objects.all()
    serializer_class = SearchResultSerializer
    filterset_class = IncidentFilterSet
    filter_backends = [DjangoFilterBackend]
    pagination_class = SearchPagination

    @extend_schema(
        operation_id="search_incidents",
        parameters=[
            OpenApiParameter("q", str, required=True, description="Words to look for."),
            OpenApiParameter("sort", str, enum=["relevance", "newest"], default="relevance"),
        ],
        responses={
            200: SearchResultSerializer(many=True),
            400: OpenApiResponse(description="No query, or a bad filter: the reasons, by field."),
            503: OpenApiResponse(description="The search took too long; narrow it."),
        },
    )
    def list(self, request: Request) -> Response:
        form = SearchForm(request.query_params)
        if not form.is_valid():
            # Each ErrorList is a list that reads as its messages, which is what DRF walks.
            raise ValidationError(cast(dict[str, list[str]], form.errors))
        within = self.filter_queryset(self.get_queryset())
        filtered = bool(set(request.query_params) & set(IncidentFilterSet.base_filters))
        paginator = cast(SearchPagination, self.paginator)  # pagination_class above
        limit, offset = paginator.page(request, 0)
        try:
            found = search(
                form.cleaned_data["q"],
                viewer=request.user,
                within=within if filtered else None,
                newest_first=form.cleaned_data["sort"] == "newest",
                limit=limit,
                offset=offset,
            )
        except SearchTimeout:
            return Response({"detail": TIMEOUT_MESSAGE}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        paginator.count = found.count
        response = paginator.get_paginated_response(
            self.get_serializer(found.results, many=True).data
        )
        response.data["count_capped"] = found.count_capped
        response.data["corrections"] = dict(found.corrections)
        response.data["failure_modes"] = [
            {"path": c.path, "url": c.get_absolute_url()} for c in found.failure_modes
        ]
        return response


class SimilarPagination(Pagination):
    default_limit = 10
    max_limit = 100


class SimilarIncidentsView(APIView):
    """GET /api/incidents/similar/: "have we seen this before?" (PRODUCT.md, "Writing,
    duplicates and importing Markdown")."""

    pagination_class = SimilarPagination

    @extend_schema(
        operation_id="similar_incidents",
        parameters=[
            OpenApiParameter("title", str, description="The title being written."),
            OpenApiParameter("summary", str, description="The summary being written."),
            OpenApiParameter(
                "categories",
                str,
                description="Failure category ids, repeated or comma-separated (as the "
                "incident list's `category` filter takes them).",
            ),
            OpenApiParameter("services", str, description="Service names, comma-separated."),
            OpenApiParameter(
                "exclude", int, description="The id of the incident being edited: never itself."
            ),
            OpenApiParameter("limit", int, description="At most this many (default 10, max 100)."),
            OpenApiParameter("offset", int, description="Skip this many."),
        ],
        responses={
            200: SimilarIncidentPageSerializer,
            400: OpenApiResponse(description="A bad parameter: the reasons, by parameter."),
            503: OpenApiResponse(description="The search took too long; narrow it."),
        },
    )
    def get(self, request: Request) -> Response:
        """Past incidents you may see that look like the one described, most alike first,
        each with why it matches. Duplicates and `exclude` are never suggested; without a
        title, summary or category the list is empty."""
        errors = Errors()
        question = read_question(request.query_params, errors)
        if errors:
            raise ValidationError(errors.as_nested())
        paginator = SimilarPagination()
        try:
            suggestions = suggest(question, viewer=request.user)
        except SearchTimeout:
            return Response({"detail": TIMEOUT_MESSAGE}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        page = paginator.paginate_queryset(suggestions, request, view=self)
        return paginator.get_paginated_response(SimilarIncidentSerializer(page, many=True).data)
