"""Server-side charts as inline SVG (no JavaScript, no third-party library) and German number formats.

Every chart is an ``<svg role="img">`` named by its ``<title>`` (aria-labelledby) and described by its
``<desc>`` (aria-describedby: the figures in words); the page shows the same figures as a table next to it. Colours are presentation attributes (the
Content-Security-Policy forbids inline ``style``), all with at least 3:1 contrast against the white card:
bars #0b4f94 (8.6:1), lines #a34f00 (5.3:1), axes #5f6b77 (5.5:1), text #1a1a1a.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from markupsafe import Markup, escape

BLUE = "#0b4f94"
ORANGE = "#a34f00"
PURPLE = "#5a2d82"
GREEN = "#2a6b2a"
RED = "#a11d1d"
AXIS = "#5f6b77"
GRID = "#d5dbe1"  # decorative only: the values are on the axis labels and in the table
TEXT = "#1a1a1a"

WIDTH = 960
FONT = 14
MAX_X_LABELS = 10
LABEL_CHARS = 38

EMPTY = "Keine Daten im gewählten Zeitraum"


# --- German formats --------------------------------------------------------------------------------


def fmt_int(value: int) -> str:
    """1234 → "1.234"."""
    return f"{value:,}".replace(",", ".")


def fmt_decimal(value: float | None, digits: int = 2) -> str:
    """0.85 → "0,85"; None → "–"."""
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def fmt_percent(value: float | None) -> str:
    """0.85 → "85 %", 0.125 → "12,5 %" (no-break space); None → "–"."""
    if value is None:
        return "–"
    text = fmt_decimal(value * 100, 1)
    return (text[:-2] if text.endswith(",0") else text) + "\u00a0%"


def fmt_date(day: date) -> str:
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def fmt_day(day: date) -> str:
    """Short axis label: "24.11."."""
    return f"{day.day:02d}.{day.month:02d}."


# --- chart model ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    axis: str  # short label under the axis ("24.11.", or a category)
    label: str  # full label for tool-tips and the table ("24.11.2026")
    value: float | None  # None: no value (a gap in a line)


@dataclass(frozen=True)
class Chart:
    """One chart with its table: ``svg`` is None when there is nothing to draw (empty state)."""

    id: str
    title: str
    description: str
    svg: Markup | None
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    figure: str = ""  # the headline figure ("85 %"), shown above the chart

    @property
    def empty(self) -> bool:
        return self.svg is None


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ value (axis maximum); 1 for 0."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value - 1e-12:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def tick_count(y_max: float) -> int:
    """Intervals on the y axis so that the ticks are round: 1 → 0,2 steps, 2 → 0,5, 2,5 → 0,5, 4 → 1, 5 → 1."""
    mantissa = round(y_max / 10 ** math.floor(math.log10(y_max)), 3) if y_max > 0 else 1
    return 4 if mantissa in (2, 4) else 5


def _num(value: float) -> str:
    """Coordinates with at most one decimal."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open(chart_id: str, title: str, description: str, height: int) -> list[str]:
    return [
        f'<svg class="chart-svg" role="img" aria-labelledby="{chart_id}-title" aria-describedby="{chart_id}-desc" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="{FONT}" fill="{TEXT}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]


def _close(parts: list[str]) -> Markup:
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and label in ``parts`` went through escape()


def _y_axis(parts: list[str], left: int, top: int, plot_w: int, plot_h: int, y_max: float,
            y_format: Callable[[float], str]) -> None:
    ticks = tick_count(y_max)
    for i in range(ticks + 1):
        value = y_max * i / ticks
        y = top + plot_h - plot_h * i / ticks
        if i:
            parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{_num(y)}" y2="{_num(y)}" '
                         f'stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{left - 8}" y="{_num(y + FONT / 3)}" text-anchor="end">'
                     f'{escape(y_format(value))}</text>')
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="{AXIS}" stroke-width="1"/>')
    parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
                 f'stroke="{AXIS}" stroke-width="2"/>')


def _x_labels(parts: list[str], points: Sequence[Point], left: float, slot: float, baseline: float) -> None:
    step = max(1, math.ceil(len(points) / MAX_X_LABELS))
    for index in range(0, len(points), step):
        x = left + slot * (index + 0.5)
        parts.append(f'<text x="{_num(x)}" y="{_num(baseline)}" text-anchor="middle">'
                     f'{escape(points[index].axis)}</text>')


def column_chart(chart_id: str, title: str, description: str, points: Sequence[Point],
                 value_text: Callable[[float], str], colour: str = BLUE,
                 y_format: Callable[[float], str] | None = None) -> Markup:
    """Vertical bars (e.g. conversations per day)."""
    height, left, right, top, bottom = 280, 64, 16, 16, 40
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    values = [p.value or 0.0 for p in points]
    y_max = nice_ceiling(max(values, default=0.0))
    if y_max < 4 and all(float(v).is_integer() for v in values):
        y_max = 4.0  # whole-number ticks for small counts
    parts = _open(chart_id, title, description, height)
    _y_axis(parts, left, top, plot_w, plot_h, y_max, y_format or (lambda v: fmt_decimal(v, 0 if v.is_integer()
                                                                                       else 1)))
    slot = plot_w / max(1, len(points))
    bar = max(1.0, slot * 0.7)
    for index, (point, value) in enumerate(zip(points, values, strict=True)):
        h = plot_h * value / y_max
        x = left + slot * index + (slot - bar) / 2
        parts.append(f'<rect x="{_num(x)}" y="{_num(top + plot_h - h)}" width="{_num(bar)}" height="{_num(h)}" '
                     f'fill="{colour}"><title>{escape(point.label)}: {escape(value_text(value))}</title></rect>')
    _x_labels(parts, points, left, slot, top + plot_h + FONT + 10)
    return _close(parts)


def line_chart(chart_id: str, title: str, description: str, points: Sequence[Point],
               value_text: Callable[[float], str], y_max: float | None = None, colour: str = ORANGE,
               y_format: Callable[[float], str] | None = None) -> Markup:
    """A line through the values (gaps where a value is None), each value marked with a dot."""
    height, left, right, top, bottom = 280, 64, 16, 16, 40
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    known = [p.value for p in points if p.value is not None]
    top_value = y_max or nice_ceiling(max(known, default=0.0))
    parts = _open(chart_id, title, description, height)
    _y_axis(parts, left, top, plot_w, plot_h, top_value, y_format or value_text)
    slot = plot_w / max(1, len(points))
    segments: list[list[str]] = [[]]
    dots: list[str] = []
    for index, point in enumerate(points):
        if point.value is None:
            if segments[-1]:
                segments.append([])
            continue
        x = left + slot * (index + 0.5)
        y = top + plot_h - plot_h * min(point.value, top_value) / top_value
        segments[-1].append(f"{_num(x)},{_num(y)}")
        dots.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{4 if len(points) <= 62 else 2}" fill="{colour}">'
                    f"<title>{escape(point.label)}: {escape(value_text(point.value))}</title></circle>")
    for segment in segments:
        if len(segment) > 1:
            parts.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}" stroke-width="3" '
                         'stroke-linejoin="round" stroke-linecap="round"/>')
    parts.extend(dots)
    _x_labels(parts, points, left, slot, top + plot_h + FONT + 10)
    return _close(parts)


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def bar_chart(chart_id: str, title: str, description: str, points: Sequence[Point],
              value_text: Callable[[float], str], colours: Sequence[str] = (BLUE,)) -> Markup:
    """Horizontal bars for categories (top intents, cases per unit, ratings); the value is written next to
    each bar. ``colours`` cycle over the bars."""
    row, top, label_w, value_w = 34, 8, 320, 170
    height = top * 2 + row * len(points)
    plot_w = WIDTH - label_w - value_w
    values = [p.value or 0.0 for p in points]
    v_max = max(values, default=0.0) or 1.0
    parts = _open(chart_id, title, description, height)
    parts.append(f'<line x1="{label_w}" x2="{label_w}" y1="{top}" y2="{height - top}" stroke="{AXIS}" '
                 'stroke-width="2"/>')
    for index, (point, value) in enumerate(zip(points, values, strict=True)):
        y = top + row * index
        w = plot_w * value / v_max
        colour = colours[index % len(colours)]
        middle = _num(y + row / 2 + FONT / 3)
        parts.append(f'<text x="{label_w - 10}" y="{middle}" text-anchor="end">{escape(_short(point.axis))}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 5}" width="{_num(max(w, 0))}" height="{row - 10}" '
                     f'fill="{colour}"><title>{escape(point.label)}: {escape(value_text(value))}</title></rect>')
        parts.append(f'<text x="{_num(label_w + w + 8)}" y="{middle}">{escape(value_text(value))}</text>')
    return _close(parts)
