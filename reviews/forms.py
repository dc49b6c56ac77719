"""The decisions a review meeting makes on its agenda page."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model

from common.forms import DateInput, DateTimeLocalInput, PersonField, VersionField, unix_newlines
from remediations.forms import RemediationFields
from remediations.models import FlagOutcome, Remediation
from reviews.models import ReviewMeeting


class ReviewedForm(forms.Form):
    """Mark an incident reviewed, from the version the page showed; one still investigating
    says when it was resolved (the incident's validator checks the time)."""

    version = VersionField()
    resolved_at = forms.DateTimeField(
        label="Resolved (UTC)", required=False, widget=DateTimeLocalInput()
    )


class IdsField(forms.Field):
    """The ids of the rows a group decision is about, as the page listed them."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        try:
            ids = [int(v) for v in value or []]
        except (TypeError, ValueError):
            raise forms.ValidationError("The page was out of date: reload the agenda.") from None
        if not ids:
            raise forms.ValidationError("No recurrence to triage: reload the agenda.")
        return ids


class GroupTriageForm(forms.Form):
    """One outcome and note for every open recurrence a failure mode's group showed."""

    flags = IdsField()
    outcome = forms.ChoiceField(choices=FlagOutcome.choices)
    note = forms.CharField(required=False, strip=False)

    def clean_note(self) -> str:
        return str(unix_newlines(self.cleaned_data["note"]))


class ReopenForm(forms.Form):
    """Reopen a remediation done this week, from the version the page showed."""

    version = VersionField()


class RemediationDecisionForm(RemediationFields):
    """Reopen, reassign or reschedule a remediation from its agenda row.

    The owner is typed as a username (the page offers the team in one shared <datalist>):
    a select of every user on every row would make a long agenda slow to send and render.
    The same PersonField as the remediation form: same names, same message.
    """

    version = VersionField()
    owner = PersonField(label="Owner")

    class Meta:
        model = Remediation
        fields = ["status", "due_date"]
        widgets = {"due_date": DateInput()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.fields["version"].initial = self.instance.version
            self.fields["owner"].initial = (
                self.instance.owner.get_username() if self.instance.owner_id else ""
            )


class MeetingForm(forms.ModelForm):
    version = VersionField()

    class Meta:
        model = ReviewMeeting
        fields = ["attendees", "notes"]
        widgets = {
            "attendees": forms.CheckboxSelectMultiple,
            "notes": forms.Textarea(attrs={"rows": 6, "class": "markdown-source"}),
        }
        help_texts = {"notes": "Markdown. Decisions, owners, what to look at next week."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelMultipleChoiceField, self.fields["attendees"]).queryset = (
            get_user_model().objects.filter(is_active=True).order_by("username")
        )
        self.fields["attendees"].required = False
        if self.instance.pk and not self.is_bound:
            self.fields["version"].initial = self.instance.version
