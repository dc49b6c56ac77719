"""The game-day and scenario FilterSets: one definition serves the API and the HTML list."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet

from common.filters import FilterSet
from gamedays.models import Environment, GameDay, GameDayStatus, Outcome, Scenario
from incidents.filters import CategoryFilter, visible_categories
from incidents.models import FailureCategory
from remediations.models import Remediation


class ScenarioFilterSet(FilterSet):
    game_day = django_filters.ModelChoiceFilter(
        queryset=GameDay.objects.all(), label="Game day (id)"
    )
    category = CategoryFilter(
        queryset=visible_categories,  # type: ignore[arg-type]  # a callable: see visible_categories
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A fix hidden from the caller reads like one that doesn't exist.
        user = getattr(self.request, "user", None)
        self.filters["verifies"].queryset = Remediation.objects.visible_to(user)  # type: ignore[attr-defined]

    def filter_category(
        self, queryset: QuerySet[Scenario], name: str, value: FailureCategory | None
    ) -> QuerySet[Scenario]:
        return queryset.filter(category__in=value.descendants()) if value else queryset


# A search is at most this many words: each must appear somewhere in the game day.
MAX_WORDS = 10


class GameDayFilterSet(FilterSet):
    """Game days by words, status and environment: the list page and `/api/game-days/`."""

    q = django_filters.CharFilter(
        method="filter_words", max_length=200, label="Words",
        help_text="Every word must appear in the title, plan, notes, or a scenario's title, "
        "injection, hypothesis, observations, failure mode or services (ignoring case).",
    )  # fmt: skip
    status = django_filters.MultipleChoiceFilter(
        choices=GameDayStatus.choices, widget=forms.CheckboxSelectMultiple
    )
    environment = django_filters.MultipleChoiceFilter(
        choices=Environment.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = GameDay
        fields = ["q", "status", "environment"]

    def filter_words(self, queryset: QuerySet[GameDay], name: str, value: str) -> QuerySet[GameDay]:
        for word in value.split()[:MAX_WORDS]:
            # Only the scenarios the searcher may see: a hidden one's words find nothing.
            scenarios = Scenario.objects.visible_to(getattr(self.request, "user", None))
            in_scenarios = scenarios.filter(game_day=OuterRef("pk")).filter(
                Q(title__icontains=word) | Q(injection__icontains=word)
                | Q(hypothesis__icontains=word) | Q(observations__icontains=word)
                | Q(category__path__icontains=word) | Q(services__name__icontains=word)
            )  # fmt: skip
            queryset = queryset.filter(
                Q(title__icontains=word) | Q(plan__icontains=word) | Q(notes__icontains=word)
                | Exists(in_scenarios)
            )  # fmt: skip
        return queryset
