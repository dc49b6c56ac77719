"""Template filters available in every template (registered as a builtin in settings)."""

import datetime
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from common.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    # Safe because render_markdown sanitizes with an allow-list (common/markdown.py).
    return mark_safe(render_markdown(text))  # noqa: S308


@register.filter(name="datetime_local")
def datetime_local(value: Any) -> str:
    """A time as a datetime-local input holds it (UTC, to the second); text as it was typed."""
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return "" if value is None else str(value)
