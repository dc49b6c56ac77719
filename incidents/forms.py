"""The failure category form: the page's and the admin's (incidents imports only common)."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from common.forms import VersionField
from common.validation import Errors, sentence
from incidents.actions import split_category_path
from incidents.fields import CategoryChoiceField
from incidents.models import FailureCategory
from incidents.records import clean_category


class CategoryForm(forms.ModelForm):
    version = VersionField()
    parent = CategoryChoiceField(
        queryset=FailureCategory.objects.all(), required=False, empty_label="(top level)"
    )

    class Meta:
        model = FailureCategory
        fields = ["name", "parent", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4, "class": "markdown-source"})}

    def __init__(self, *args: Any, viewer: Any = None, **kwargs: Any) -> None:
        """`viewer`: who fills it in; the parents offered are the categories they may see
        (None: the system, every category)."""
        super().__init__(*args, **kwargs)
        parent = cast(forms.ModelChoiceField, self.fields["parent"])
        parent.queryset = FailureCategory.objects.visible_to(viewer)
        for name in ("name", "description"):
            self.fields[name].validators = []
            self.fields[name].max_length = None  # type: ignore[attr-defined]  # a CharField
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version

    def _post_clean(self) -> None:
        errors = Errors()
        name, description = clean_category(
            self.cleaned_data.get("name"), self.cleaned_data.get("description"), errors
        )
        for path, message in errors.items:
            self.add_error(str(path[0]), sentence(message))
        if not errors:
            self.cleaned_data.update(name=name, description=description)
            super()._post_clean()  # type: ignore[misc]  # private to Django, not in its stubs

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        name, parent = cleaned.get("name"), cleaned.get("parent")
        if name:
            parts = (split_category_path(parent.path) if parent else []) + [name]
            path = " > ".join(parts)
            clash = FailureCategory.objects.filter(path__iexact=path).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("name", f"There is already a category “{path}”.")
        return cleaned
