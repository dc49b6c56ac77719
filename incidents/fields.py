"""Form fields for choosing failure categories, labelled with their full path."""

from typing import Any

from django import forms
from django.db.models.functions import Lower

from incidents.models import FailureCategory, Service


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: FailureCategory) -> str:
        return obj.path


class CategoryMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: FailureCategory) -> str:
        return obj.path


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
