"""The search query and sort, checked the same way for the page and the API."""

from __future__ import annotations

from django import forms

MAX_QUERY_CHARS = 500


class SearchForm(forms.Form):
    q = forms.CharField(
        label="Search incidents",
        max_length=MAX_QUERY_CHARS,
        strip=True,
        error_messages={"required": "Type some words to search for."},
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    sort = forms.ChoiceField(
        choices=[("relevance", "Best match"), ("newest", "Newest first")],
        required=False,
        initial="relevance",
    )

    def clean_sort(self) -> str:
        return self.cleaned_data.get("sort") or "relevance"
