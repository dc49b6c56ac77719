"""The decisions a review meeting makes on its agenda page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from common.forms import DateInput, VersionField
from remediations.forms import DoneAtInStep
from remediations.models import Remediation
from reviews.models import ReviewMeeting


class ReviewedForm(forms.Form):
    """Mark an incident reviewed, from the version the page showed."""

    version = VersionField()


class RemediationDecisionForm(DoneAtInStep):
    """Reopen, reassign or reschedule a remediation from its agenda row."""

    version = VersionField()

    class Meta:
        model = Remediation
        fields = ["status", "owner", "due_date"]
        widgets = {"due_date": DateInput()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("username")
        )
        if self.instance.pk and not self.is_bound:
            self.fields["version"].initial = self.instance.version


class MeetingForm(forms.ModelForm):
    class Meta:
        model = ReviewMeeting
        fields = ["attendees", "notes"]
        widgets = {
            "attendees": forms.CheckboxSelectMultiple,
            "notes": forms.Textarea(attrs={"rows": 8, "class": "markdown-source"}),
        }
        help_texts = {"notes": "Markdown. Decisions, owners, what to look at next week."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("username")
        )
        self.fields["attendees"].required = False
