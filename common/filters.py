"""Filter pieces every FilterSet shares (they serve the HTML lists and the API alike)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db import models

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
    """The base of every FilterSet: boolean model fields get the BooleanFilter above."""

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
    }
