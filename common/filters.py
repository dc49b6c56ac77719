"""Filter pieces every FilterSet shares (they serve the HTML lists and the API alike)."""

from __future__ import annotations

import datetime
from typing import Any

import django_filters
from django import forms
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from django_filters.filters import QuerySetRequestMixin
from rest_framework.request import Request

from common.forms import DateInput
from common.models import AuditAction, AuditEvent

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
ACCEPTED = "1/0, true/false, yes/no or on/off"


def parse_bool(value: Any) -> bool | None:
    """True, False, or None for "no answer"; ValueError for any other word."""
    if value is None or isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word == "":
        return None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(word)


class YesNoSelect(forms.Select):
    """Any / Yes / No; reads what was typed as is, so the field can refuse a word it can't read."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, choices=[("", "Any"), ("true", "Yes"), ("false", "No")])

    def format_value(self, value: Any) -> list[str]:
        try:
            chosen = parse_bool(value)
        except ValueError:
            return [""]
        return [""] if chosen is None else ["true" if chosen else "false"]


class YesNoField(forms.Field):
    widget = YesNoSelect
    default_error_messages = {"invalid": f"Use one of {ACCEPTED}, not “%(value)s”."}

    def to_python(self, value: Any) -> bool | None:
        try:
            return parse_bool(value)
        except ValueError:
            raise forms.ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": str(value)[:40]}
            ) from None

    def validate(self, value: bool | None) -> None:
        """Empty means "either": never required."""


class BooleanFilter(django_filters.BooleanFilter):
    """Takes 1/0, true/false, yes/no, on/off in any case; any other word is a 400 naming them.

    django-filter's own BooleanFilter quietly ignores `?overdue=1` on the HTML side and `yes`
    on the API side: a filter that silently does nothing answers the wrong question.
    """

    # types-django-filter narrows this to NullBooleanField; django-filter takes any form field.
    field_class = YesNoField  # type: ignore[assignment]


class FilterSet(django_filters.FilterSet):
    """The base of every FilterSet: boolean model fields get the BooleanFilter above.

    An API call renders no form, so a filter of records that the call does not use is left
    out of its form: the choices of such a filter (the failure modes and services this user
    may see) cost queries and ORM work on every call, about a third of a search's time
    (issue 14). A page renders every filter with its choices, so it keeps them all.
    """

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
    }

    def get_form_class(self) -> type[forms.Form]:
        if self.data is not None and isinstance(self.request, Request):
            unused = [
                name
                for name, each in self.filters.items()
                if isinstance(each, QuerySetRequestMixin) and name not in self.data
            ]
            for name in unused:
                del self.filters[name]
        return super().get_form_class()


class AuditEventFilterSet(FilterSet):
    """The audit log's filters (/audit/): what, who, and between which days (inclusive)."""

    action = django_filters.ChoiceFilter(choices=AuditAction.choices, empty_label="Any")
    user = django_filters.CharFilter(
        field_name="username",
        label="User",
        help_text="The username (for a failed sign-in, the name tried).",
    )
    after = django_filters.DateFilter(
        method="filter_after", label="On or after", widget=DateInput()
    )
    before = django_filters.DateFilter(
        method="filter_before", label="On or before", widget=DateInput()
    )

    class Meta:
        model = AuditEvent
        fields = ["action", "user", "after", "before"]

    # Days in the current time zone, compared with the stored time as is (its index serves).
    def filter_after(
        self, queryset: QuerySet[AuditEvent], name: str, value: datetime.date | None
    ) -> QuerySet[AuditEvent]:
        return queryset.filter(at__gte=_start_of(value)) if value else queryset

    def filter_before(
        self, queryset: QuerySet[AuditEvent], name: str, value: datetime.date | None
    ) -> QuerySet[AuditEvent]:
        if not value or value == datetime.date.max:  # no day after the last one
            return queryset
        return queryset.filter(at__lt=_start_of(value + datetime.timedelta(days=1)))


def _start_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_current_timezone())
