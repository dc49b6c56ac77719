"""Template filters available in every template (registered as a builtin in settings)."""

import datetime
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from common import dates
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


def _stamp(value: Any, text: str) -> SafeString:
    # Escaped: `text` is digits, dashes, a colon and a zone name, but say so to the reader too.
    return format_html('<time class="stamp" datetime="{}">{}</time>', dates.iso(value), text)


@register.filter(name="day")
def day_filter(value: Any) -> SafeString | str:
    """`<time class="stamp">2026-11-20</time>` (common/dates.py); "" for nothing, text as is."""
    if isinstance(value, datetime.date):
        return _stamp(value, dates.day(value))
    return "" if value is None else str(value)


@register.filter(name="moment")
def moment_filter(value: Any) -> SafeString | str:
    """`<time class="stamp">2026-11-20 10:05 UTC</time>` (common/dates.py); "" for nothing."""
    if isinstance(value, datetime.datetime):
        return _stamp(value, dates.moment(value))
    return "" if value is None else str(value)


@register.filter(name="month")
def month_filter(value: Any) -> str:
    """ "2026-11" (common/dates.py); "" for nothing."""
    if isinstance(value, datetime.date):
        return dates.month(value)
    return "" if value is None else str(value)


@register.filter(name="day_text")
def day_text(value: Any) -> str:
    """The day as plain text, for an attribute or an `<option>` (common/dates.py)."""
    if isinstance(value, datetime.date):
        return dates.day(value)
    return "" if value is None else str(value)


@register.filter(name="moment_text")
def moment_text(value: Any) -> str:
    """The moment as plain text, for an attribute or a sentence in an email (common/dates.py)."""
    if isinstance(value, datetime.datetime):
        return dates.moment(value)
    return "" if value is None else str(value)
