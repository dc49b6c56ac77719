from __future__ import annotations

from typing import Any, cast

from django import forms

from common.forms import DateInput, DateTimeLocalInput, PersonField, VersionField, unix_newlines
from common.validation import Errors, sentence
from incidents.fields import CategoryChoiceField
from incidents.models import FailureCategory
from remediations.models import FlagOutcome, Remediation, RemediationStatus


class RemediationFields(forms.ModelForm):
    """A remediation's fields as the browser sends them. The fields only parse; the rules are
    the one validator's (remediations.records), so the page refuses what the API refuses."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
            if isinstance(field, forms.CharField):
                field.max_length = None
                field.validators = []
                field.strip = False  # the validator decides what is trimmed, for every way in
        if self.instance.pk and "version" in self.fields:
            self.fields["version"].initial = self.instance.version
        if self.instance.pk and self.instance.owner_id and "owner" in self.fields:
            # Its owner stays acceptable after leaving (common.forms.PersonField.keeps).
            owner = cast(PersonField, self.fields["owner"])
            owner.keeps = self.instance.owner.get_username()

    def _post_clean(self) -> None:
        pass  # the model's own checks are the validator's job: see record() and show()

    def record(self) -> dict[str, Any]:
        """What was typed, as a remediation record (only the fields this form has)."""
        raw: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if name == "version":
                continue
            if name == "owner":
                value = value.get_username() if value else None
            elif name == "category":
                value = value.path if value else None
            raw[name] = unix_newlines(value)
        if "status" in raw and "done_at" not in self.fields:
            # Marked done here: done now; left done: keep when it was done.
            raw["done_at"] = (
                self.instance.done_at if raw["status"] == self.instance.status else None
            )
        return raw

    def show(self, errors: Errors) -> None:
        for path, message in errors.items:
            name = path[0] if path else None
            self.add_error(name if name in self.fields else None, sentence(message))


class RemediationForm(RemediationFields):
    version = VersionField()
    owner = PersonField(label="Owner", help_text="A username; leave empty for nobody yet.")
    tracker_url = forms.CharField(label="Tracker link", required=False)
    category = CategoryChoiceField(
        queryset=FailureCategory.objects.all(),
        required=False,
        help_text="The failure mode it addresses; it covers every sub-category too.",
    )

    def __init__(self, *args: Any, viewer: Any, **kwargs: Any) -> None:
        """`viewer`: who fills it in; the categories offered are those they may see."""
        super().__init__(*args, **kwargs)
        category = cast(forms.ModelChoiceField, self.fields["category"])
        category.queryset = FailureCategory.objects.visible_to(viewer)

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

    def record(self) -> dict[str, Any]:
        raw = super().record()
        if raw.get("status") != RemediationStatus.DONE:
            raw["done_at"] = None  # the field is shown for done ones; leaving done clears it
        return raw


class TriageForm(forms.Form):
    """A flag's triage as the browser sends it: the outcome is the button pressed. The rules
    (which outcome needs a note) are the action's, `remediations.actions.clean_triage`."""

    outcome = forms.ChoiceField(choices=FlagOutcome.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        strip=False,
        help_text="Optional when the fix did not hold; say why for the other two.",
    )

    def clean_note(self) -> str:
        return unix_newlines(self.cleaned_data["note"])
