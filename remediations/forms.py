from __future__ import annotations

from typing import Any

from django import forms

from common.forms import DateInput, DateTimeLocalInput, VersionField
from incidents.fields import CategoryChoiceField
from incidents.models import FailureCategory
from remediations.models import Remediation, done_at_for


class DoneAtInStep(forms.ModelForm):
    """Fills in (or clears) done_at from the status before the model's constraints are checked."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("status"):
            opened_at = cleaned.get("opened_at") or self.instance.opened_at
            cleaned["done_at"] = done_at_for(cleaned["status"], cleaned.get("done_at"), opened_at)
        return cleaned


class NewRemediationForm(DoneAtInStep):
    """A remediation added from the incident form; existing ones are edited on their own page."""

    category = CategoryChoiceField(queryset=FailureCategory.objects.all(), required=False)

    class Meta:
        model = Remediation
        fields = ["title", "kind", "status", "owner", "due_date", "category", "description"]
        widgets = {
            "due_date": DateInput(),
            "description": forms.Textarea(attrs={"rows": 2}),
        }


class RemediationForm(DoneAtInStep):
    version = VersionField()
    tracker_url = forms.URLField(
        label="Tracker link", required=False, max_length=500, assume_scheme="https"
    )
    category = CategoryChoiceField(
        queryset=FailureCategory.objects.all(),
        required=False,
        help_text="The failure mode it addresses; it covers every sub-category too.",
    )

    class Meta:
        model = Remediation
        fields = [
            "title", "kind", "status", "owner", "due_date", "category", "tracker_url",
            "opened_at", "done_at", "description",
        ]  # fmt: skip
        labels = {
            "opened_at": "Opened (UTC)",
            "done_at": "Done (UTC)",
            "tracker_url": "Tracker link",
        }
        widgets = {
            "due_date": DateInput(),
            "opened_at": DateTimeLocalInput(),
            "done_at": DateTimeLocalInput(),
            "description": forms.Textarea(attrs={"rows": 10, "class": "markdown-source"}),
        }
        help_texts = {"done_at": "Filled in with the current time when you mark it done."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version


class FlagDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("acknowledged", "Acknowledge"), ("dismissed", "Dismiss")],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        help_text="Required: what will be done, or why this is not a recurrence.",
    )
