"""Template filters available in every template (registered as a builtin in settings)."""

from django import template
from django.utils.safestring import SafeString, mark_safe

from common.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    # Safe because render_markdown sanitizes with an allow-list (common/markdown.py).
    return mark_safe(render_markdown(text))  # noqa: S308
