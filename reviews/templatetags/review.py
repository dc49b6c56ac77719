"""Helpers for the review agenda: rows' forms and errors by key, a triaged flag's next steps,
and the trend chart as inline SVG."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from remediations.models import RecurrenceFlag
from reviews import actions

register = template.Library()

BAR, GAP, HEIGHT = 14, 3, 28


@register.filter
def get_item(mapping: dict[Any, Any], key: Any) -> Any:
    """mapping[key] in a template, by the key or its text (rows are keyed by pk)."""
    if not mapping:
        return None
    return mapping[key] if key in mapping else mapping.get(str(key))


@register.simple_tag
def trend_chart(counts: list[int], weeks: list[Any], peak: int) -> SafeString:
    """Bars for weekly incident counts, oldest first, scaled to the busiest of all categories.

    Drawn on the server as SVG: it needs no script or chart library, prints, and fits the
    page's Content-Security-Policy (presentation attributes only, no inline style).
    """
    peak = max(peak, 1)
    width = len(counts) * (BAR + GAP)
    bars = format_html_join(
        "",
        '<rect class="bar{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect>',
        (
            (
                " current" if i == len(counts) - 1 else "",
                i * (BAR + GAP),
                HEIGHT - max(1, round(HEIGHT * n / peak)) if n else HEIGHT - 1,
                BAR,
                max(1, round(HEIGHT * n / peak)) if n else 1,
                week.label,
                f"{n} incident{'s' if n != 1 else ''}",
            )
            for i, (n, week) in enumerate(zip(counts, weeks, strict=True))
        ),
    )
    label = ", ".join(f"{w.label}: {n}" for n, w in zip(counts, weeks, strict=True))
    return format_html(
        '<svg class="trend" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
        'aria-label="Incidents per week, oldest first. {}">{}</svg>',
        width, HEIGHT, width, HEIGHT, label, bars,
    )  # fmt: skip


@register.filter
def next_steps(flag: RecurrenceFlag) -> list[dict[str, str]]:
    """What a triaged flag calls for (a follow-up, reclassifying): links for its row."""
    return actions.next_steps_of(flag)
