"""Form fields for choosing failure categories (labelled with their full path) and services."""

from collections.abc import Iterable
from typing import Any

import django_filters.fields
from django import forms
from django.db.models import QuerySet
from django.db.models.functions import Lower

from incidents.models import FailureCategory, Service, ServiceAlias


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: FailureCategory) -> str:
        return obj.path


class CategoryMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: FailureCategory) -> str:
        return obj.path


def kept_service_ids(values: Iterable[Any]) -> list[Any]:
    """`values` (ids as a query string gives them) with the id of each service merged into
    another replaced by the id of the one kept, as its old page redirects there (PRODUCT.md,
    "Merging services"); other values unchanged, for the field to check. Two queries at most,
    none without a merged id among them."""
    given = list(values)
    ids = {int(v) for v in given if isinstance(v, str | int) and str(v).isascii()
           and str(v).isdigit() and int(v) < 2**31}  # fmt: skip
    if not ids:
        return given
    current = set(Service.objects.filter(pk__in=ids).values_list("pk", flat=True))
    former = ids - current
    if not former:
        return given
    kept = dict(
        ServiceAlias.objects.filter(former_id__in=former).values_list("former_id", "service_id")
    )
    return [
        str(kept[int(v)]) if str(v).isascii() and str(v).isdigit() and int(v) in kept else v
        for v in given
    ]


class ServiceMultipleChoiceField(django_filters.fields.ModelMultipleChoiceField):
    """Services by id, where the id of a service merged into another names the one kept: a
    link or a bookmark from before the merge (`?service=<old id>`) still filters, on the
    incident list, the API and search, instead of answering 400. The kept one must still be
    among the choices (those the user may see): else the old id is refused like any other."""

    def _check_values(self, value: Any) -> QuerySet[Service]:
        if isinstance(value, list | tuple):
            value = kept_service_ids(value)
        return super()._check_values(value)  # type: ignore[misc]  # private to Django, untyped


UNSET = object()


class ServiceNamesInput(forms.TextInput):
    """A comma-separated list of service names that suggests the existing ones as you type
    (a <datalist>; static/js/once.js offers them for the name being typed after a comma)."""

    template_name = "forms/service_names_input.html"
    MAX_SUGGESTIONS = 1000
    # Who the names are suggested to (set by the form): only services they may see are
    # offered. Unset, none are: a name of a restricted report must not leak through a list.
    viewer: Any = UNSET

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        widget["list_id"] = f"{widget['attrs'].get('id') or name}-names"
        widget["attrs"].update(list=widget["list_id"], autocomplete="off")
        widget["attrs"]["data-service-names"] = ""
        if self.viewer is UNSET:
            widget["service_names"] = []
            return context
        visible = Service.objects.visible_to(self.viewer).order_by(Lower("name"))
        widget["service_names"] = list(
            visible.values_list("name", flat=True)[: self.MAX_SUGGESTIONS]
        )
        return context
