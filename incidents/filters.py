"""The incident FilterSet: one definition serves the HTML list and the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import HttpRequest

from common.filters import FilterSet
from common.forms import DateInput
from incidents.fields import CategoryChoiceField, ServiceMultipleChoiceField
from incidents.models import (
    FailureCategory,
    Incident,
    IncidentQuerySet,
    IncidentStatus,
    Service,
    Severity,
)

# ?sort= values of the incident list and the API: (label, order_by). Severity sorts SEV1 first,
# status in the order of the workflow (investigating, resolved, reviewed): both alphabetical.
SORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "-started": ("Started, newest first", ("-started_at",)),
    "started": ("Started, oldest first", ("started_at",)),
    "severity": ("Severity, most severe first", ("severity",)),
    "-severity": ("Severity, least severe first", ("-severity",)),
    "status": ("Status, investigating first", ("status",)),
    "-status": ("Status, reviewed first", ("-status",)),
    "-updated": ("Updated, most recent first", ("-updated_at",)),
    "updated": ("Updated, least recent first", ("updated_at",)),
}
DEFAULT_SORT = "-started"


def _viewer(request: HttpRequest | None) -> Any:
    """Who a filter's choices are for; without a request, someone who sees no restricted
    incident (never "the system", which sees all)."""
    return getattr(request, "user", None) or AnonymousUser()


def visible_categories(request: HttpRequest | None) -> QuerySet[FailureCategory]:
    """The categories a filter offers: those the user may see (PRODUCT.md, "Who may see").

    Given to a filter as its `queryset`, called with the request (django-filter takes a
    callable; its type stubs only say QuerySet)."""
    return FailureCategory.objects.visible_to(_viewer(request))


def visible_services(request: HttpRequest | None) -> QuerySet[Service]:
    """The services a filter offers: those the user may see."""
    return Service.objects.visible_to(_viewer(request))


class CategoryFilter(django_filters.ModelChoiceFilter):
    # types-django-filter narrows this to django-filter's own ModelChoiceField subclass;
    # django-filter takes any ModelChoiceField.
    field_class = CategoryChoiceField  # type: ignore[assignment]


class ServiceFilter(django_filters.ModelMultipleChoiceFilter):
    # A merged service's id names the one kept (ServiceMultipleChoiceField).
    field_class = ServiceMultipleChoiceField


class IncidentFilterSet(FilterSet):
    category = CategoryFilter(
        queryset=visible_categories,  # type: ignore[arg-type]  # a callable: see visible_categories
        method="filter_category",
        label="Failure category",
        help_text="Includes its sub-categories.",
    )
    # Several services (?service=1&service=2): incidents affecting any of them, each once.
    service = ServiceFilter(
        queryset=visible_services,  # type: ignore[arg-type]  # a callable, like visible_categories
        field_name="services",
        label="Services",
        help_text="Any of them.",
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    severity = django_filters.MultipleChoiceFilter(
        choices=Severity.choices, widget=forms.CheckboxSelectMultiple
    )
    status = django_filters.MultipleChoiceFilter(
        choices=IncidentStatus.choices, widget=forms.CheckboxSelectMultiple
    )
    started_after = django_filters.DateFilter(
        field_name="started_at", lookup_expr="date__gte", label="Started on or after",
        widget=DateInput(),
    )  # fmt: skip
    started_before = django_filters.DateFilter(
        field_name="started_at", lookup_expr="date__lte", label="Started on or before",
        widget=DateInput(),
    )  # fmt: skip

    class Meta:
        model = Incident
        fields = ["category", "service", "severity", "status", "started_after", "started_before"]

    def filter_category(
        self, queryset: IncidentQuerySet, name: str, value: FailureCategory | None
    ) -> IncidentQuerySet:
        return queryset.in_category(value) if value else queryset


class IncidentListFilterSet(IncidentFilterSet):
    """The incident list's and `/api/incidents/`'s filters, and their order (`?sort=`, one of
    SORTS). Search keeps IncidentFilterSet: its own `sort` is relevance or newest."""

    sort = django_filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _) in SORTS.items()],
        method="sort_by",
        empty_label=None,
        label="Sort by",
        help_text="Newest first unless you choose.",
    )

    class Meta(IncidentFilterSet.Meta):
        fields = [*IncidentFilterSet.Meta.fields, "sort"]

    def sort_by(self, queryset: IncidentQuerySet, name: str, value: str) -> IncidentQuerySet:
        """Order by one of SORTS; every order ends on the newest start, then the id, so a page
        boundary never falls between two equal rows differently on two requests."""
        _, order = SORTS.get(value, SORTS[DEFAULT_SORT])
        return queryset.order_by(*order, "-started_at", "-pk")
