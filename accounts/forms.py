"""The form that makes an API token on /account/tokens/, and the one that adds a person."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from accounts.models import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS, MAX_TOKEN_NAME
from common.validation import Errors, sentence


class NewTokenForm(forms.Form):
    """A name and a lifetime. The form only parses them: accounts.models.clean_token_request
    judges them, as it does for `create_api_token`, so both refuse the same with the same words."""

    name = forms.CharField(
        required=False,
        strip=False,
        help_text="What it is for, e.g. “nightly export” or “laptop scripts”.",
        widget=forms.TextInput(attrs={"maxlength": MAX_TOKEN_NAME, "autocomplete": "off"}),
    )
    days = forms.IntegerField(
        label="Expires after (days)",
        required=False,
        initial=DEFAULT_TOKEN_DAYS,
        help_text=f"From 1 to {MAX_TOKEN_DAYS} days.",
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_TOKEN_DAYS}),
    )

    def show(self, errors: Errors) -> None:
        for path, message in errors.items:
            name = path[0] if path else None
            self.add_error(name if name in self.fields else None, sentence(message))


class PersonForm(forms.ModelForm):
    """A person added from the incident form to own a remediation: a username and, if known,
    an email. The user model's own validators judge both (the admin's words)."""

    class Meta:
        model = get_user_model()
        fields = ["username", "email"]
        help_texts = {
            "username": "How Once names them, e.g. “dave”. Letters, digits and @ . + - _ only.",
            "email": "Optional: where Once mails them about their remediations.",
        }

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        taken = get_user_model().objects.filter(username__iexact=username).first()
        if taken is not None:
            raise forms.ValidationError(
                f"There is already a person “{taken.get_username()}”: choose them as the owner."
            )
        return username
