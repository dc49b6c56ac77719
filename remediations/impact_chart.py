"""The timeline of a failure mode as inline SVG: its incidents as dots by start time, in one
lane per severity, and its done fixes as vertical lines coloured by effectiveness.

Drawn on the server: no script or chart library, it prints, scales to a phone's width through
its viewBox, and fits the Content-Security-Policy (presentation attributes, no inline style).
A screen reader gets its title and a description that says what the picture shows; the
table beside it on the page holds the same numbers, with links.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from common import dates
from incidents.models import Severity
from remediations.impact import FixImpact, Timeline
from remediations.models import Effectiveness

WIDTH, LEFT, RIGHT, TOP, LANE, AXIS = 600, 42, 12, 32, 18, 24
HEIGHT = TOP + LANE * len(Severity.values) + AXIS
FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"
# Colours as in once.css (--muted, --ok, --accent, --danger); the dash tells them apart in
# black and white.
STROKE: dict[str, tuple[str, str]] = {
    Effectiveness.UNVERIFIED: ("#5d6873", "2 3"),
    Effectiveness.HOLDING: ("#1e7a3c", "none"),
    Effectiveness.VERIFIED: ("#1f5fbf", "none"),
    Effectiveness.REGRESSED: ("#b3261e", "6 3"),
}
NOT_ASSESSED = ("#5d6873", "2 3")  # done, not assessed by the engine yet
DOT_RADIUS = 3.5
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _n(value: float) -> str:
    """A coordinate, short: 12.0 → "12", 12.345 → "12.3"."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def effectiveness_label(impact: FixImpact) -> str:
    fix = impact.fix
    return fix.get_effectiveness_display().lower() if fix.effectiveness else "not assessed yet"


def describe(timeline: Timeline, path: str) -> str:
    """What the chart shows, in sentences (its <desc>)."""
    count = timeline.incidents
    text = (
        f"{count} incident{'s' if count != 1 else ''} of {path} from "
        f"{dates.day(timeline.start)} to {dates.day(timeline.end)}, one lane per severity"
        + (", drawn as weekly counts." if timeline.weekly else ".")
    )
    for impact in timeline.fixes:
        assert impact.fix.done_at is not None
        text += (
            f" Fix {impact.number}, “{impact.fix.title}”, done {dates.day(impact.fix.done_at)}: "
            f"{effectiveness_label(impact)}; {impact.summary}."
        )
    if not timeline.fixes:
        text += " No fix covering it was done in this time."
    return text


def draw_timeline(timeline: Timeline, path: str, ident: str = "fix-timeline") -> SafeString:
    start, end = timeline.start, timeline.end
    span = (end - start).total_seconds()
    # A little room at each end, so a dot on the first or last day is drawn whole.
    pad = span * 0.02
    plot = WIDTH - LEFT - RIGHT

    def x(at: datetime.datetime) -> float:
        seconds = min(max((at - start).total_seconds(), 0), span)
        return LEFT + plot * (seconds + pad) / (span + 2 * pad)

    lanes = {severity: TOP + LANE * i + LANE / 2 for i, severity in enumerate(Severity.values)}
    bottom = TOP + LANE * len(lanes)
    guides = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#d8dde3" stroke-width="1"/>'
        '<text x="{}" y="{}" text-anchor="end" font-size="11" fill="#5d6873">{}</text>',
        (
            (LEFT, WIDTH - RIGHT, _n(y), _n(y), LEFT - 6, _n(y + 3.5), severity)
            for severity, y in lanes.items()
        ),
    )
    peak = max((d.count for d in timeline.dots), default=1)
    biggest = LANE / 2 - 0.5

    def radius(count: int) -> float:
        if not timeline.weekly:
            return DOT_RADIUS
        return 2 + (biggest - 2) * math.sqrt(count / peak)

    dots = format_html_join(
        "",
        '<circle class="dot" cx="{}" cy="{}" r="{}" fill="#1d2329" fill-opacity="0.6">'
        "<title>{}</title></circle>",
        (
            (_n(x(d.at)), _n(lanes.get(d.severity, lanes["SEV3"])), _n(radius(d.count)), d.label)
            for d in timeline.dots
        ),
    )
    return format_html(
        '<svg class="fix-timeline" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'preserveAspectRatio="xMinYMin meet" role="img" aria-labelledby="{id}-title {id}-desc" '
        'font-family="{font}">'
        '<title id="{id}-title">Incidents of {path} over time, with the fixes done</title>'
        '<desc id="{id}-desc">{desc}</desc>'
        "{guides}{axis}{dots}{fixes}</svg>",
        w=WIDTH, h=HEIGHT, id=ident, font=FONT, path=path, desc=describe(timeline, path),
        guides=guides, axis=_axis(start, end, x, bottom), dots=dots,
        fixes=_fixes(timeline.fixes, x, bottom),
    )  # fmt: skip


Scale = Callable[[datetime.datetime], float]


def _axis(start: datetime.datetime, end: datetime.datetime, x: Scale, bottom: float) -> SafeString:
    """A tick at each month (each quarter past eight months), the year at each January."""
    months = (end.year - start.year) * 12 + end.month - start.month
    step = 1 if months <= 8 else 3
    ticks = []
    year, month = start.year, start.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        at = datetime.datetime(year, month, 1, tzinfo=datetime.UTC)
        if at > end:
            break
        if (month - 1) % step:
            continue
        label = str(year) if month == 1 else MONTHS[month - 1]
        ticks.append((_n(x(at)), bottom, bottom + 4, _n(x(at)), bottom + 16, label))
    return format_html(
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#5d6873" stroke-width="1"/>{}',
        LEFT, WIDTH - RIGHT, bottom, bottom,
        format_html_join(
            "",
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#5d6873" stroke-width="1"/>'
            '<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="#5d6873">{}</text>',
            ((tx, tx, y1, y2, tx, ty, label) for tx, y1, y2, tx, ty, label in ticks),
        ),
    )  # fmt: skip


def _fixes(fixes: list[FixImpact], x: Scale, bottom: float) -> SafeString:
    """A vertical line per fix, its number above it; numbers close together take two rows."""
    rows = [-1000.0, -1000.0]  # the last label's x in each row
    marks = []
    for impact in fixes:
        fix = impact.fix
        assert fix.done_at is not None
        at = x(fix.done_at)
        row = 0 if at - rows[0] >= 14 else (1 if at - rows[1] >= 14 else 0)
        rows[row] = at
        colour, dash = STROKE.get(fix.effectiveness or "", NOT_ASSESSED)
        label_y = 12 if row == 0 else 25
        marks.append(
            (
                fix.effectiveness or "none", impact.number,
                f"Fix {impact.number}: {fix.title}, done {dates.day(fix.done_at)} "
                f"({fix.get_kind_display().lower()}); {effectiveness_label(impact)}; "
                f"{impact.summary}",
                _n(at), _n(at), label_y + 3, bottom, colour, dash,
                _n(at), label_y, colour, impact.number,
            )
        )  # fmt: skip
    return format_html_join(
        "",
        '<g class="fix-mark eff-{}" data-fix="{}"><title>{}</title>'
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="2" '
        'stroke-dasharray="{}"/>'
        '<text x="{}" y="{}" text-anchor="middle" font-size="12" font-weight="700" '
        'fill="{}">{}</text></g>',
        marks,
    )
