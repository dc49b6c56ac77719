"""Helpers for the review agenda: bound forms by key, and the trend chart as inline SVG."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()

BAR, GAP, HEIGHT = 14, 3, 48


@register.filter
def get_item(mapping: dict[str, Any], key: Any) -> Any:
    return mapping.get(str(key)) if mapping else None


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
