from __future__ import annotations

from typing import Any

from django import forms

from common.forms import DateInput, DateTimeLocalInput, VersionField
from incidents.forms import CategoryChoiceField
from incidents.models import FailureCategory
from remediations.models import Remediation, RemediationStatus


class RemediationForm(forms.ModelForm):
    version = VersionField()
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
        help_texts = {"done_at": "Filled in when you mark it done; leave empty for now."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        done_at, status = cleaned.get("done_at"), cleaned.get("status")
        if done_at and status and status != RemediationStatus.DONE:
            self.add_error(
                "done_at",
                "Only a remediation marked done has a done date; clear it or mark it done.",
            )
        return cleaned
