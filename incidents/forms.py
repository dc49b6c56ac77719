from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.forms import inlineformset_factory

from common.forms import DateTimeLocalInput, VersionField
from incidents.actions import split_category_path
from incidents.fields import CategoryChoiceField, CategoryMultipleChoiceField
from incidents.models import Cause, FailureCategory, Incident, Service, TimelineEntry
from remediations.forms import NewRemediationForm
from remediations.models import Remediation

REPORT_TEMPLATE = """\
## Summary

## Impact

## Timeline

## Root causes

## Trigger

## Detection

## Resolution

## What went well

## What went wrong

## Where we got lucky

## Lessons learned
"""


class IncidentForm(forms.ModelForm):
    version = VersionField()
    categories = CategoryMultipleChoiceField(
        queryset=FailureCategory.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The failure modes this incident belongs to.",
    )
    services_text = forms.CharField(
        label="Services",
        required=False,
        max_length=1000,
        help_text="Affected systems, separated by commas: etcd, EBS, Envoy. New names are added.",
    )

    class Meta:
        model = Incident
        fields = [
            "title", "summary", "severity", "status",
            "started_at", "detected_at", "resolved_at", "categories", "body",
        ]  # fmt: skip
        labels = {
            "started_at": "Started (UTC)",
            "detected_at": "Detected (UTC)",
            "resolved_at": "Resolved (UTC)",
            "body": "Report",
        }
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 2}),
            "body": forms.Textarea(attrs={"rows": 24, "class": "markdown-source"}),
            "started_at": DateTimeLocalInput(),
            "detected_at": DateTimeLocalInput(),
            "resolved_at": DateTimeLocalInput(),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
            self.fields["services_text"].initial = ", ".join(
                s.name for s in self.instance.services.all()
            )
        elif not self.is_bound:
            # Instance data outranks field.initial, so the template goes into form.initial.
            self.initial["body"] = REPORT_TEMPLATE

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        limit = settings.ONCE_MAX_REPORT_CHARS
        if len(body) > limit:
            raise forms.ValidationError(
                f"The report is {len(body):,} characters long; the limit is {limit:,}. "
                "Move long logs to an attachment or a link."
            )
        return body

    def clean_services_text(self) -> list[str]:
        names = [n.strip() for n in self.cleaned_data["services_text"].split(",") if n.strip()]
        for name in names:
            if len(name) > Service._meta.get_field("name").max_length:  # type: ignore[operator]
                raise forms.ValidationError(f"“{name[:40]}…” is too long for a service name.")
        return names


class CauseForm(forms.ModelForm):
    category = CategoryChoiceField(queryset=FailureCategory.objects.all(), required=False)

    class Meta:
        model = Cause
        fields = ["kind", "description", "category"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class TimelineEntryForm(forms.ModelForm):
    class Meta:
        model = TimelineEntry
        fields = ["at", "text"]
        labels = {"at": "At (UTC)"}
        widgets = {"at": DateTimeLocalInput(), "text": forms.TextInput()}


CauseFormSet = inlineformset_factory(
    Incident, Cause, form=CauseForm, extra=1, can_delete=True, max_num=100
)
TimelineFormSet = inlineformset_factory(
    Incident, TimelineEntry, form=TimelineEntryForm, extra=1, can_delete=True, max_num=500
)
RemediationFormSet = inlineformset_factory(
    Incident, Remediation, form=NewRemediationForm, fk_name="incident", extra=1,
    can_delete=False, max_num=100,
)  # fmt: skip


class CategoryForm(forms.ModelForm):
    parent = CategoryChoiceField(
        queryset=FailureCategory.objects.all(), required=False, empty_label="(top level)"
    )

    class Meta:
        model = FailureCategory
        fields = ["name", "parent", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4, "class": "markdown-source"})}

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if ">" in name:
            raise forms.ValidationError(
                "A category name cannot contain “>”: it separates levels in a path. "
                "Choose a parent instead."
            )
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        name, parent = cleaned.get("name"), cleaned.get("parent")
        if name:
            parts = (split_category_path(parent.path) if parent else []) + [name]
            path = " > ".join(parts)
            clash = FailureCategory.objects.filter(path=path).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("name", f"There is already a category “{path}”.")
        return cleaned
