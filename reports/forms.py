"""The incident edit page: the incident's fields, causes, timeline, its remediations and new
ones."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from typing import Any, cast

from django import forms
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import QueryDict

from common.forms import (
    DateInput,
    DateTimeLocalInput,
    PersonField,
    VersionField,
    id_of,
    people,
    unix_newlines,
)
from common.validation import Errors, RecordInvalid, render_path, sentence
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
from remediations.actions import RemediationEdit, merged_changes
from remediations.models import Remediation, RemediationKind, RemediationStatus
from remediations.records import clean_remediation

# What a report says that the form has no field for (PRODUCT.md, "Writing, duplicates and
# importing Markdown"): the summary, the timeline and the causes (trigger, root cause,
# contributing factors) have their own inputs, so the template never asks for them again.
REPORT_TEMPLATE = """\
## Impact

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

    def __init__(
        self, *args: Any, categories: QuerySet[FailureCategory] | None = None, **kwargs: Any
    ) -> None:
        """`categories`: the ones a category field offers (those its user may see)."""
        super().__init__(*args, **kwargs)
        for name in ("category", "categories"):
            if categories is not None and name in self.fields:
                cast(forms.ModelChoiceField, self.fields[name]).queryset = categories
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


# The placeholder static/js/once.js puts in the report while a picture uploads.
UPLOADING = re.compile(r"!\[Uploading [^\]\n]*… #[0-9a-z]{1,12}\]\(\)")


class IncidentForm(ParseOnly):
    """The incident's own fields. Fields only parse what the browser sends; every rule is
    in the one validator (incidents.records), so the page refuses what the API refuses."""

    version = VersionField()
    # The form's draft key and the draft it was restored from (reports/drafts.py): hidden,
    # never part of the incident.
    form_key = forms.CharField(required=False, widget=forms.HiddenInput)
    draft_from = forms.CharField(required=False, widget=forms.HiddenInput)
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

    def clean_body(self) -> str:
        """The report, refused while it still holds a picture's "Uploading…" placeholder: the
        page saves once its uploads are done, so this is a page that couldn't wait (issue 15:
        a saved placeholder is a lost picture). The text is kept on the form."""
        body = self.cleaned_data.get("body") or ""
        if UPLOADING.search(body):
            raise forms.ValidationError(
                "A picture was still uploading when this was sent: wait until it is added "
                "(or remove its “![Uploading …]()” line), then save again."
            )
        return body


class CauseForm(ParseOnly):
    kind = forms.ChoiceField(choices=CauseKind.choices, initial=CauseKind.ROOT_CAUSE)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    category = CategoryChoiceField(queryset=FailureCategory.objects.all(), required=False)


# The timeline's "At" input, explained beside it (incidents.records.clean_timeline_at parses it).
TIMELINE_AT_HELP = (
    "A date and time (2026-03-02 14:05), a time on the incident's day (14:05), or an offset "
    "from the entry above — or from the start, for the first entry: +10m, +1h30m, -5m."
)


class TimelineEntryForm(ParseOnly):
    # Text, not a date picker: besides full times it takes a time of day and offsets such as
    # "+10m", which the one validator parses (so the API and the importers take them too).
    at = forms.CharField(
        label="At (UTC)", required=False, help_text=TIMELINE_AT_HELP,
        widget=forms.TextInput(attrs={"placeholder": "14:05 or +10m"}),
    )  # fmt: skip
    text = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 1}))


class NewRemediationForm(ParseOnly):
    """A remediation added from the incident form."""

    title = forms.CharField(required=False)
    kind = forms.ChoiceField(choices=RemediationKind.choices, initial=RemediationKind.PREVENT)
    status = forms.ChoiceField(choices=RemediationStatus.choices, initial=RemediationStatus.OPEN)
    # The one way a form names a person (common.forms.PersonField): typed, suggested from the
    # page's <datalist id="people">, an unknown name refused with the same words, kept.
    owner = PersonField(label="Owner")
    due_date = forms.DateField(required=False, widget=DateInput())
    category = CategoryChoiceField(queryset=FailureCategory.objects.all(), required=False)
    description = forms.CharField(
        required=False, strip=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ExistingRemediationForm(NewRemediationForm):
    """A remediation of the incident, edited from its form. `original` is a fingerprint of
    the values the form showed: a row left as it was is not saved (so it can't conflict with
    someone who changed that remediation meanwhile); a changed one is saved by
    `save_report` against `version`."""

    id = forms.IntegerField(widget=forms.HiddenInput)
    version = VersionField()
    original = forms.CharField(widget=forms.HiddenInput)

    TYPED = ("title", "kind", "status", "owner", "due_date", "category", "description")

    def typed(self) -> dict[str, Any]:
        """What the row holds, as a remediation record's fields (owner a username, category
        a path)."""
        data = self.cleaned_data
        return {
            "title": data.get("title") or "",
            "kind": data.get("kind") or "",
            "status": data.get("status") or "",
            "owner": data["owner"].get_username() if data.get("owner") else None,
            "due_date": data.get("due_date"),
            "category": data["category"].path if data.get("category") else None,
            "description": data.get("description") or "",
        }


def fingerprint(values: dict[str, Any]) -> str:
    """A short digest of a remediation row's values, to tell a changed row from an untouched
    one."""
    text = json.dumps({k: values.get(k) for k in ExistingRemediationForm.TYPED}, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _formset(form: type[forms.Form], limit: int) -> Any:
    # absolute_max a little above the limit: the validator, not the formset, words the refusal.
    return forms.formset_factory(
        form, extra=1, can_delete=True, max_num=limit, absolute_max=limit + 50
    )


CauseFormSet = _formset(CauseForm, MAX_CAUSES)
TimelineFormSet = _formset(TimelineEntryForm, MAX_TIMELINE)
RemediationFormSet = _formset(NewRemediationForm, MAX_REMEDIATIONS)
ExistingRemediationFormSet = forms.formset_factory(
    ExistingRemediationForm, extra=0, max_num=MAX_REMEDIATIONS, absolute_max=MAX_REMEDIATIONS
)


class IncidentEditor:
    """The incident form with its causes, timeline and new remediations, as one record.

    `record(base)` turns what was typed into a record for the one validator; `show(errors)`
    puts the validator's messages beside the fields they are about; `bound_to(record)` makes
    the forms again from a record (the conflict page keeps what the editor typed that way).
    """

    def __init__(self, incident: Incident, data: QueryDict | None = None, *, viewer: Any) -> None:
        """`viewer`: who edits; the categories offered are those they may see
        (`FailureCategory.objects.visible_to`)."""
        self.incident = incident
        self.viewer = viewer
        self.categories = FailureCategory.objects.visible_to(viewer)
        chosen = {"categories": self.categories}
        initial: dict[str, Any] = {}
        causes: list[dict[str, Any]] = []
        timeline: list[dict[str, Any]] = []
        if incident.pk and data is None:
            initial, causes, timeline = _initial(incident)
        elif data is None:
            # A new report starts from the template.
            initial = {"body": REPORT_TEMPLATE}
        self.form = IncidentForm(data, initial=initial, categories=self.categories)
        # The services suggested are those the editor may see (Service.objects.visible_to).
        self.form.fields["services_text"].widget.viewer = viewer
        self.causes = CauseFormSet(data, initial=causes, prefix="causes", form_kwargs=chosen)
        self.timeline = TimelineFormSet(data, initial=timeline, prefix="timeline")
        self.remediations = RemediationFormSet(data, prefix="remediations", form_kwargs=chosen)
        # The incident's own remediations, editable in place. A submission without them (a
        # script, an older page) leaves them alone rather than failing.
        sent = data is not None and "existing-TOTAL_FORMS" in data
        self.existing = ExistingRemediationFormSet(
            data if sent else None,
            initial=[] if sent or not incident.pk else _existing_initial(incident),
            prefix="existing",
            form_kwargs=chosen,
        )
        if sent and incident.pk:
            # Each row's stored owner stays acceptable after leaving (PersonField.keeps): an
            # incident whose fix a departed person owns can still be saved.
            owners = dict(
                Remediation.objects.filter(incident=incident, owner__isnull=False).values_list(
                    "pk", "owner__username"
                )
            )
            for row in self.existing.forms:
                pk = id_of(row.data.get(row.add_prefix("id")))
                if pk in owners:
                    cast(PersonField, row.fields["owner"]).keeps = owners[pk]

    @property
    def parts(self) -> tuple[Any, ...]:
        existing = (self.existing,) if self.existing.is_bound else ()
        return (self.form, self.causes, self.timeline, self.remediations, *existing)

    def is_valid(self) -> bool:
        return all(part.is_valid() for part in self.parts)

    def remediation_edits(self, incident: Incident) -> list[RemediationEdit]:
        """The incident's remediations changed on the form, cleaned by the one validator of
        a remediation (over the stored record, as a PATCH is), ready for `save_report`.

        Rows left as shown are skipped. Raises RecordInvalid (paths `existing[n].field`) and
        puts each message beside its row.
        """
        if not self.existing.is_bound or incident.pk is None:
            return []
        stored = {
            r.pk: r for r in Remediation.objects.filter(incident=incident).select_related(
                "owner", "category"
            )
        }  # fmt: skip
        errors = Errors()
        edits: list[RemediationEdit] = []
        for n, row in enumerate(self.existing.forms):
            typed = row.typed()
            if fingerprint(typed) == row.cleaned_data.get("original"):
                continue  # untouched
            remediation = stored.get(row.cleaned_data.get("id") or 0)
            if remediation is None:
                errors.add(("existing", n), "is no longer a remediation of this incident.")
                continue
            record = clean_remediation(merged_changes(remediation, typed), errors, ("existing", n))
            edits.append(RemediationEdit(remediation, record, row.cleaned_data.get("version")))
        if errors:
            for path, text in errors.items:
                row = self.existing.forms[int(path[1])]
                field = path[2] if len(path) > 2 else None
                row.add_error(field if field in row.fields else None, sentence(text))
            raise RecordInvalid(errors)
        return edits

    def context(self) -> dict[str, Any]:
        return {
            "form": self.form, "causes": self.causes, "timeline": self.timeline,
            "remediations": self.remediations, "cause_kinds": CauseKind.choices,
            "existing": self.existing, "timeline_at_help": TIMELINE_AT_HELP,
            # Once for every cause row (templates/incidents/_rows_causes.html).
            "category_choices": list(self.categories.values_list("pk", "path")),
            # Once for every owner input: templates/common/_people.html's <datalist>.
            "people": people(),
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
        cls,
        incident: Incident,
        record: dict[str, Any],
        *,
        version: int,
        remediations: QueryDict,
        viewer: Any,
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
            if key.startswith(("remediations-", "existing-")):
                data.setlist(key, remediations.getlist(key))
        return cls(incident, data, viewer=viewer)


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
    timeline = [{"at": _local(t.at), "text": t.text} for t in incident.timeline.all()]
    return initial, causes, timeline


def _existing_initial(incident: Incident) -> list[dict[str, Any]]:
    """The incident's remediations as the form's rows, each with its version and fingerprint."""
    rows = []
    remediations = Remediation.objects.filter(incident=incident).select_related("owner", "category")
    for r in remediations.order_by("opened_at", "pk"):
        values = {
            "title": r.title, "kind": r.kind, "status": r.status,
            "owner": r.owner.get_username() if r.owner else None, "due_date": r.due_date,
            "category": r.category.path if r.category else None, "description": r.description,
        }  # fmt: skip
        rows.append(
            {
                **values, "category": r.category_id,
                "id": r.pk, "version": r.version, "original": fingerprint(values),
            }
        )  # fmt: skip
    return rows
