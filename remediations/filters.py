"""The remediation FilterSet: one definition serves the HTML list and the API."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Case, F, IntegerField, QuerySet, Value, When
from django.db.models.expressions import OrderBy
from django.utils import timezone

from common.filters import BooleanFilter, FilterSet
from incidents.filters import CategoryFilter, visible_categories
from incidents.models import FailureCategory
from remediations.models import (
    OPEN_STATUSES,
    Effectiveness,
    Remediation,
    RemediationKind,
    RemediationQuerySet,
    RemediationStatus,
)

# ?sort= values of the remediation list and the API: their labels. "urgent" is the list page's
# default: still-open fixes past their due date, then the other open ones, each by due date
# (none last), then the closed ones; the API keeps its order unless asked.
SORTS = {
    "urgent": "Open and overdue first, then by due date",
    "due": "Due date, soonest first",
    "-opened": "Opened, newest first",
    "opened": "Opened, oldest first",
    "-done": "Done, most recent first",
    "title": "Title, A to Z",
}
PAGE_DEFAULT_SORT = "urgent"


def ordered(queryset: QuerySet[Remediation], key: str) -> QuerySet[Remediation]:
    """`queryset` in the order of SORTS[`key`] (ties: newest opened, then id). KeyError-free:
    a key not in SORTS falls back to the list page's default, PAGE_DEFAULT_SORT."""
    return _order(queryset, key if key in SORTS else PAGE_DEFAULT_SORT)


def _order(queryset: QuerySet[Remediation], key: str) -> QuerySet[Remediation]:
    due_soonest = F("due_date").asc(nulls_last=True)
    if key == "urgent":
        urgency = Case(
            When(status__in=OPEN_STATUSES, due_date__lt=timezone.localdate(), then=Value(0)),
            When(status__in=OPEN_STATUSES, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
        return queryset.order_by(urgency, due_soonest, "-opened_at", "-pk")
    orders: dict[str, tuple[str | OrderBy, ...]] = {
        "due": (due_soonest,),
        "-opened": ("-opened_at",),
        "opened": ("opened_at",),
        "-done": (F("done_at").desc(nulls_last=True),),
        "title": ("title",),
    }
    return queryset.order_by(*orders[key], "-opened_at", "-pk")


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
        queryset=visible_categories,  # type: ignore[arg-type]  # a callable: see visible_categories
        method="filter_category",
        label="Failure category",
        help_text="Includes its sub-categories.",
    )

    sort = django_filters.ChoiceFilter(
        choices=list(SORTS.items()), method="sort_by", label="Sort by", empty_label=None
    )

    class Meta:
        model = Remediation
        fields = ["status", "kind", "effectiveness", "owner", "overdue", "category", "sort"]

    def sort_by(
        self, queryset: QuerySet[Remediation], name: str, value: str
    ) -> QuerySet[Remediation]:
        """Order by one of SORTS (ties: newest opened, then id, stable across pages)."""
        return _order(queryset, value) if value in SORTS else queryset

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
