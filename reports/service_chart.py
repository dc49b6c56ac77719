"""A service's incidents per month as inline SVG bars (issue 17, "a small SVG of its incidents
per month over the last two years").

Drawn on the server like remediations/impact_chart.py: no script, it prints, scales to a
phone's width through its viewBox, and uses presentation attributes only (the CSP allows no
inline style). Its title and description say in words what the bars show.
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from common import dates
from reports.services import Month

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 600, 120, 30, 8, 10, 22
FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"
BAR = "#1d2329"  # --text in once.css: prints in black and white
GRID = "#d8dde3"
MUTED = "#5d6873"


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def describe(months: list[Month], name: str) -> str:
    """What the chart shows, in a sentence (its <desc>)."""
    total = sum(m.incidents for m in months)
    if not months:
        return f"No months to show for {name}."
    busiest = max(months, key=lambda m: (m.incidents, m.start))
    text = (
        f"{total} incident{'s' if total != 1 else ''} of {name} from "
        f"{dates.month(months[0].start)} to {dates.month(months[-1].start)}"
    )
    if total:
        text += f"; the most in {dates.month(busiest.start)} ({busiest.incidents})"
    return text + "."


def draw_months(months: list[Month], name: str, ident: str = "service-months") -> SafeString:
    """Bars of incidents per month, oldest on the left, labelled each January and July."""
    peak = max((m.incidents for m in months), default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(months), 1)
    bottom = TOP + plot_h
    bars = format_html_join(
        "",
        '<rect class="bar" x="{}" y="{}" width="{}" height="{}" fill="{}">'
        "<title>{}: {}</title></rect>",
        (
            (
                _n(LEFT + slot * i + 1),
                _n(bottom - plot_h * m.incidents / peak),
                _n(max(slot - 2, 1)),
                _n(plot_h * m.incidents / peak),
                BAR,
                dates.month(m.start),
                f"{m.incidents} incident{'s' if m.incidents != 1 else ''}",
            )
            for i, m in enumerate(months)
        ),
    )
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="10" fill="{}">{}</text>',
        (
            (
                _n(LEFT + slot * i + 1),
                HEIGHT - 6,
                MUTED,
                dates.month(m.start),
            )  # fmt: skip
            for i, m in enumerate(months)
            if m.start.month in (1, 7)
        ),
    )
    return format_html(
        '<svg class="service-months" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'preserveAspectRatio="xMinYMin meet" role="img" aria-labelledby="{id}-title {id}-desc" '
        'font-family="{font}">'
        '<title id="{id}-title">Incidents of {name} per month</title>'
        '<desc id="{id}-desc">{desc}</desc>'
        '<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="{grid}"/>'
        '<line x1="{left}" x2="{right}" y1="{top}" y2="{top}" stroke="{grid}" '
        'stroke-dasharray="2 3"/>'
        '<text x="{lx}" y="{ty}" text-anchor="end" font-size="10" fill="{muted}">{peak}</text>'
        '<text x="{lx}" y="{by}" text-anchor="end" font-size="10" fill="{muted}">0</text>'
        "{bars}{labels}</svg>",
        w=WIDTH, h=HEIGHT, id=ident, font=FONT, name=name, desc=describe(months, name),
        left=LEFT, right=WIDTH - RIGHT, bottom=bottom, top=TOP, grid=GRID, lx=LEFT - 4,
        ty=TOP + 4, by=bottom, muted=MUTED, peak=peak, bars=bars, labels=labels,
    )  # fmt: skip
