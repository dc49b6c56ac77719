"""The incident edit page: the incident's fields, causes, timeline and new remediations."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.http import QueryDict

from common.forms import DateInput, DateTimeLocalInput, VersionField, unix_newlines
from common.validation import Errors, render_path, sentence
from incidents.fields import CategoryChoiceField, CategoryMultipleChoiceField, ServiceNamesInput
from incidents.models import (
    CauseKind,
    FailureCategory,
    Incident,
    IncidentStatus,
    Severity,
    Visibility,
)
from incidents.records import MAX_CAUSES, MAX_REMEDIATIONS, MAX_TIMELINE
from remediations.models import RemediationKind, RemediationStatus

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


class ParseOnly(forms.Form):
    """Fields that only parse what the browser sent: no length or NUL checks of their own, so
    that the one validator (incidents.records) words every refusal, as it does for the API."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False  # what is required is the validator's to say
            if isinstance(field, forms.CharField):
                field.validators = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        return {name: unix_newlines(value) for name, value in cleaned.items()}


class NamesField(forms.Field):
    """Checked names, as sent: which names exist is the one validator's to say."""

    widget = forms.CheckboxSelectMultiple

    def to_python(self, value: Any) -> list[str]:
        return [str(name) for name in value] if value else []


class IncidentForm(ParseOnly):
    """The incident's own fields. Fields only parse what the browser sends; every rule is
    in the one validator (incidents.records), so the page refuses what the API refuses."""

    version = VersionField()
    title = forms.CharField(required=False, widget=forms.TextInput(attrs={"required": True}))
    summary = forms.CharField(
        required=False, strip=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One or two sentences: what happened.",
    )  # fmt: skip
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.SEV3)
    status = forms.ChoiceField(choices=IncidentStatus.choices, initial=IncidentStatus.INVESTIGATING)
    started_at = forms.DateTimeField(
        label="Started (UTC)", required=False, widget=DateTimeLocalInput(attrs={"required": True})
    )
    detected_at = forms.DateTimeField(
        label="Detected (UTC)", required=False, widget=DateTimeLocalInput()
    )
    resolved_at = forms.DateTimeField(
        label="Resolved (UTC)", required=False, widget=DateTimeLocalInput()
    )
    services_text = forms.CharField(
        label="Services",
        required=False,
        widget=ServiceNamesInput(),
        help_text="Affected systems, separated by commas: etcd, EBS, Envoy. New names are added.",
    )
    categories = CategoryMultipleChoiceField(
        queryset=FailureCategory.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The failure modes this incident belongs to.",
    )
    body = forms.CharField(
        label="Report", required=False, strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "class": "markdown-source"}),
    )  # fmt: skip
    visibility = forms.ChoiceField(
        label="Who sees it", choices=Visibility.choices, initial=Visibility.EVERYONE,
        widget=forms.RadioSelect,
        help_text="A restricted incident is seen only by its author, the members of the groups "
        "checked below and administrators; for anyone else it does not exist.",
    )  # fmt: skip
    access_groups = NamesField(label="Access groups", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = Group.objects.order_by("name").values_list("name", flat=True)
        self.fields["access_groups"].widget.choices = [(name, name) for name in names]


class CauseForm(ParseOnly):
    kind = forms.ChoiceField(choices=CauseKind.choices, initial=CauseKind.ROOT_CAUSE)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    category = CategoryChoiceField(queryset=FailureCategory.objects.all(), required=False)


class TimelineEntryForm(ParseOnly):
    at = forms.DateTimeField(label="At (UTC)", required=False, widget=DateTimeLocalInput())
    text = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 1}))


class NewRemediationForm(ParseOnly):
    """A remediation added from the incident form; existing ones are edited on their own page."""

    title = forms.CharField(required=False)
    kind = forms.ChoiceField(choices=RemediationKind.choices, initial=RemediationKind.PREVENT)
    status = forms.ChoiceField(choices=RemediationStatus.choices, initial=RemediationStatus.OPEN)
    owner = forms.ModelChoiceField(queryset=get_user_model().objects.all(), required=False)
    due_date = forms.DateField(required=False, widget=DateInput())
    category = CategoryChoiceField(queryset=FailureCategory.objects.all(), required=False)
    description = forms.CharField(
        required=False, strip=False, widget=forms.Textarea(attrs={"rows": 2})
    )


def _formset(form: type[forms.Form], limit: int) -> Any:
    # absolute_max a little above the limit: the validator, not the formset, words the refusal.
    return forms.formset_factory(
        form, extra=1, can_delete=True, max_num=limit, absolute_max=limit + 50
    )


CauseFormSet = _formset(CauseForm, MAX_CAUSES)
TimelineFormSet = _formset(TimelineEntryForm, MAX_TIMELINE)
RemediationFormSet = _formset(NewRemediationForm, MAX_REMEDIATIONS)


class IncidentEditor:
    """The incident form with its causes, timeline and new remediations, as one record.

    `record(base)` turns what was typed into a record for the one validator; `show(errors)`
    puts the validator's messages beside the fields they are about; `bound_to(record)` makes
    the forms again from a record (the conflict page keeps what the editor typed that way).
    """

    def __init__(self, incident: Incident, data: QueryDict | None = None) -> None:
        self.incident = incident
        initial: dict[str, Any] = {}
        causes: list[dict[str, Any]] = []
        timeline: list[dict[str, Any]] = []
        if incident.pk and data is None:
            initial, causes, timeline = _initial(incident)
        elif data is None:
            # A new report starts from the template.
            initial = {"body": REPORT_TEMPLATE}
        self.form = IncidentForm(data, initial=initial)
        self.causes = CauseFormSet(data, initial=causes, prefix="causes")
        self.timeline = TimelineFormSet(data, initial=timeline, prefix="timeline")
        self.remediations = RemediationFormSet(data, prefix="remediations")

    @property
    def parts(self) -> tuple[Any, ...]:
        return (self.form, self.causes, self.timeline, self.remediations)

    def is_valid(self) -> bool:
        return all(part.is_valid() for part in self.parts)

    def context(self) -> dict[str, Any]:
        return {
            "form": self.form, "causes": self.causes, "timeline": self.timeline,
            "remediations": self.remediations, "cause_kinds": CauseKind.choices,
            # Once for every cause row (templates/incidents/_rows_causes.html).
            "category_choices": list(FailureCategory.objects.values_list("pk", "path")),
        }  # fmt: skip

    @staticmethod
    def _rows(formset: Any) -> list[forms.Form]:
        """The rows that say something: neither deleted nor left blank."""
        return [f for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]

    def record(self, base: dict[str, Any]) -> dict[str, Any]:
        """What was typed, over `base` (the stored record: fields the page doesn't show)."""
        data = self.form.cleaned_data
        raw = dict(base)
        for name in ("title", "summary", "severity", "status", "started_at", "detected_at",
                     "resolved_at", "body"):  # fmt: skip
            raw[name] = data.get(name)
        raw["categories"] = [c.path for c in data.get("categories") or []]
        raw["visibility"] = data.get("visibility") or Visibility.EVERYONE
        raw["access_groups"] = data.get("access_groups") or []
        raw["services"] = [n.strip() for n in (data.get("services_text") or "").split(",")]
        raw["services"] = [n for n in raw["services"] if n]
        raw["causes"] = [
            {
                "kind": f.cleaned_data["kind"],
                "description": f.cleaned_data["description"],
                "category": f.cleaned_data["category"].path if f.cleaned_data["category"] else None,
            }
            for f in self._rows(self.causes)
        ]
        raw["timeline"] = [
            {"at": f.cleaned_data["at"], "text": f.cleaned_data["text"]}
            for f in self._rows(self.timeline)
        ]
        raw["remediations"] = [
            {
                **{
                    k: f.cleaned_data[k]
                    for k in ("title", "kind", "status", "due_date", "description")
                },
                "owner": f.cleaned_data["owner"].get_username()
                if f.cleaned_data["owner"]
                else None,
                "category": f.cleaned_data["category"].path if f.cleaned_data["category"] else None,
            }  # fmt: skip
            for f in self._rows(self.remediations)
        ]
        return raw

    def show(self, errors: Errors) -> None:
        """Put each of the validator's messages beside the field it is about."""
        fields = {"services": "services_text", "categories": "categories"}
        for path, text in errors.items:
            message = sentence(text)
            head = path[0] if path else None
            if head in ("causes", "timeline", "remediations"):
                formset = getattr(self, str(head))
                rows = self._rows(formset)
                if len(path) >= 2 and isinstance(path[1], int) and path[1] < len(rows):
                    field = path[2] if len(path) > 2 else None
                    rows[path[1]].add_error(
                        field if field in rows[path[1]].fields else None, message
                    )
                    continue
                self.form.add_error(None, f"{render_path(path)}: {message}")
                continue
            name = fields.get(str(head), head)
            if name in self.form.fields:
                self.form.add_error(name, message)
            else:
                self.form.add_error(None, f"{render_path(path)}: {message}")

    @classmethod
    def bound_to(
        cls, incident: Incident, record: dict[str, Any], *, version: int, remediations: QueryDict
    ) -> IncidentEditor:
        """The forms bound to `record`, as if typed, based on `version` (the conflict page)."""
        data = QueryDict(mutable=True)
        data["version"] = str(version)
        for name in ("title", "summary", "severity", "status", "body"):
            data[name] = record[name] or ""
        for name in ("started_at", "detected_at", "resolved_at"):
            data[name] = _local(record[name])
        data["services_text"] = ", ".join(record["services"])
        data["visibility"] = record.get("visibility") or Visibility.EVERYONE
        data.setlist("access_groups", list(record.get("access_groups", [])))
        paths = record["categories"]
        data.setlist(
            "categories",
            [
                str(pk)
                for pk in FailureCategory.objects.filter(path__in=paths).values_list(
                    "pk", flat=True
                )
            ],
        )
        category_ids = dict(FailureCategory.objects.values_list("path", "pk"))
        _rows(data, "causes", [
            {"kind": c["kind"], "description": c["description"],
             "category": str(category_ids.get(c["category"], "")) if c["category"] else ""}
            for c in record["causes"]
        ])  # fmt: skip
        _rows(data, "timeline", [
            {"at": _local(t["at"]), "text": t["text"]} for t in record["timeline"]
        ])  # fmt: skip
        for key in remediations:
            if key.startswith("remediations-"):
                data.setlist(key, remediations.getlist(key))
        return cls(incident, data)


def _local(moment: Any) -> str:
    """A time as the datetime-local input shows it (UTC, to the second)."""
    if not moment:
        return ""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _rows(data: QueryDict, prefix: str, rows: list[dict[str, str]]) -> None:
    data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
    data[f"{prefix}-INITIAL_FORMS"] = str(len(rows))
    for n, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{n}-{key}"] = value


def _initial(
    incident: Incident,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    initial = {
        "version": incident.version,
        **{name: getattr(incident, name) for name in (
            "title", "summary", "severity", "status", "started_at", "detected_at",
            "resolved_at", "body",
        )},
        "categories": list(incident.categories.all()),
        "services_text": ", ".join(s.name for s in incident.services.all()),
        "visibility": incident.visibility,
        "access_groups": [g.name for g in incident.access_groups.all()],
    }  # fmt: skip
    causes = [
        {"kind": c.kind, "description": c.description, "category": c.category_id}
        for c in incident.causes.select_related("category")
    ]
    timeline = [{"at": t.at, "text": t.text} for t in incident.timeline.all()]
    return initial, causes, timeline
