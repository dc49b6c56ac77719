"""The remediation FilterSet: one definition serves the HTML list and the API."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from common.filters import BooleanFilter, FilterSet
from incidents.filters import CategoryFilter
from incidents.models import FailureCategory
from remediations.models import (
    Effectiveness,
    Remediation,
    RemediationKind,
    RemediationQuerySet,
    RemediationStatus,
)


class RemediationFilterSet(FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=RemediationStatus.choices, widget=forms.CheckboxSelectMultiple
    )
    kind = django_filters.MultipleChoiceFilter(
        choices=RemediationKind.choices, widget=forms.CheckboxSelectMultiple
    )
    effectiveness = django_filters.MultipleChoiceFilter(
        choices=Effectiveness.choices, widget=forms.CheckboxSelectMultiple,
        help_text="Of done fixes: what the evidence says.",
    )  # fmt: skip
    owner = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.order_by("username"))
    overdue = BooleanFilter(method="filter_overdue", label="Overdue only")
    category = CategoryFilter(
        queryset=FailureCategory.objects.all(),
        method="filter_category",
        label="Failure category",
        help_text="Includes its sub-categories.",
    )

    class Meta:
        model = Remediation
        fields = ["status", "kind", "effectiveness", "owner", "overdue", "category"]

    def filter_overdue(
        self, queryset: QuerySet[Remediation], name: str, value: bool | None
    ) -> QuerySet[Remediation]:
        if value is None:
            return queryset
        overdue = Remediation.objects.overdue()
        return queryset.filter(pk__in=overdue) if value else queryset.exclude(pk__in=overdue)

    def filter_category(
        self, queryset: RemediationQuerySet, name: str, value: FailureCategory | None
    ) -> RemediationQuerySet:
        return queryset.in_category(value) if value else queryset
