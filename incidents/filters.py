"""The incident FilterSet: one definition serves the HTML list and the API."""

from __future__ import annotations

import django_filters
from django import forms

from common.filters import FilterSet
from common.forms import DateInput
from incidents.fields import CategoryChoiceField
from incidents.models import (
    FailureCategory,
    Incident,
    IncidentQuerySet,
    IncidentStatus,
    Service,
    Severity,
)


class CategoryFilter(django_filters.ModelChoiceFilter):
    # types-django-filter narrows this to django-filter's own ModelChoiceField subclass;
    # django-filter takes any ModelChoiceField.
    field_class = CategoryChoiceField  # type: ignore[assignment]


class IncidentFilterSet(FilterSet):
    category = CategoryFilter(
        queryset=FailureCategory.objects.all(),
        method="filter_category",
        label="Failure category",
        help_text="Includes its sub-categories.",
    )
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.all(), field_name="services"
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
