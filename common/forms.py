"""Form pieces shared by the apps."""

from typing import Any

from django import forms
from django.forms.renderers import TemplatesSetting

from common.people import person_named, refused
from common.validation import Errors, clean_text, sentence


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's date-and-time picker; values are UTC (the form labels say so).

    To the second (step 1): a time saved with seconds comes back from the form unchanged.
    """

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"step": "1", **(attrs or {})}, format="%Y-%m-%dT%H:%M:%S")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class VersionField(forms.IntegerField):
    """The version the writer started from, echoed back so a stale save can be refused."""

    widget = forms.HiddenInput

    def __init__(self) -> None:
        super().__init__(min_value=1, required=False)


def id_of(value: Any) -> int | None:
    """The id a query parameter or form value names, or None when it names none.

    Only ASCII digits: `str.isdigit()` also says yes to "²" (which `int()` refuses, a 500) and
    to other scripts' digits ("١"), which no page writes into a link or a form. A number too
    big for the database is returned as it is: lookups find nothing (404), they don't fail.
    """
    text = str(value).strip() if value is not None else ""
    return int(text) if text and text.isascii() and text.isdigit() else None


def unix_newlines(value: Any) -> Any:
    """Text as typed, with the browser's CRLF line ends (HTML forms send them) made LF again,
    so that a save from a page gives back, byte for byte, the text the API or import stored."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


class OnceFormRenderer(TemplatesSetting):
    """Django's form templates, with each field group wrapped (templates/forms/field.html)."""

    field_template_name = "forms/field.html"


class BaseVersionField(forms.Form):
    """An admin form's hidden `base_version`: the version the page showed (the model's own
    `version` can't be a ModelForm field, being non-editable)."""

    base_version = VersionField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = getattr(self, "instance", None)
        if instance is not None and instance.pk:
            self.fields["base_version"].initial = instance.version


class PersonField(forms.CharField):
    """A person typed by username, offered from the page's `<datalist id="people">`.

    The one way a form names a person (issue 16, item 4: the remediation form, the review
    page's rows, the incident form's remediation rows): cleans to the active user of that
    name, case aside (or to the one named already, `keeps`, even if they left), or None when
    left empty; an unknown name is refused in `common.people.refused`'s words, kept as typed.
    """

    # The username already named here (the stored owner), taken even if that person has left
    # (is inactive): a form that shows a departed owner can still be saved unchanged. Set per
    # form: `form.fields["owner"].keeps = "bob"`.
    keeps: str | None = None

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 150)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"list": "people", "autocomplete": "off", "placeholder": "Unassigned"}
            ),
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if hasattr(value, "get_username"):
            return value.get_username()
        if isinstance(value, int):  # a ModelForm's initial value is the user's id
            found = person_by_id(value)
            return found.get_username() if found is not None else ""
        return value

    def clean(self, value: Any) -> Any:
        # The text rules first, in the words the API and the importers use for an owner
        # (NUL, a line break, the length): a name that breaks them names nobody either.
        errors = Errors()
        clean_text(value, ("name",), errors, max_length=self.max_length or 150, single_line=True)
        if errors:
            raise forms.ValidationError(sentence(errors.as_nested()["name"][0]), code="invalid")
        name = (super().clean(value) or "").strip()
        if not name:
            return None
        person = person_named(name)
        if person is None and self.keeps and name.lower() == self.keeps.lower():
            person = person_named(self.keeps, active_only=False)
        if person is None:
            raise forms.ValidationError(refused(name), code="unknown")
        return person


def person_by_id(pk: int) -> Any:
    from django.contrib.auth import get_user_model  # noqa: PLC0415

    return get_user_model().objects.filter(pk=pk).first()


def people() -> list[str]:
    """The usernames a `PersonField` offers: every active user, one query."""
    from django.contrib.auth import get_user_model  # noqa: PLC0415

    users = get_user_model().objects.filter(is_active=True).order_by("username")
    return list(users.values_list("username", flat=True))
