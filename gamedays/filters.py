"""The scenario FilterSet: one definition serves the API (and any HTML list that wants it)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet

from common.filters import FilterSet
from gamedays.models import GameDay, Outcome, Scenario
from incidents.filters import CategoryFilter
from incidents.models import FailureCategory
from remediations.models import Remediation


class ScenarioFilterSet(FilterSet):
    game_day = django_filters.ModelChoiceFilter(
        queryset=GameDay.objects.all(), label="Game day (id)"
    )
    category = CategoryFilter(
        queryset=FailureCategory.objects.all(),
        method="filter_category",
        label="Failure category (id)",
        help_text="Includes its sub-categories.",
    )
    outcome = django_filters.MultipleChoiceFilter(
        choices=Outcome.choices, widget=forms.CheckboxSelectMultiple
    )
    verifies = django_filters.ModelChoiceFilter(
        field_name="verifies", queryset=Remediation.objects.all(),
        label="Scenarios verifying this remediation (id).",
    )  # fmt: skip

    class Meta:
        model = Scenario
        fields = ["game_day", "category", "outcome", "verifies"]

    def filter_category(
        self, queryset: QuerySet[Scenario], name: str, value: FailureCategory | None
    ) -> QuerySet[Scenario]:
        return queryset.filter(category__in=value.descendants()) if value else queryset
