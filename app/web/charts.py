"""Charts drawn on the server as SVG strings: no JavaScript, readable in light and dark.

Colours come from CSS custom properties with fallbacks, and text uses
``currentColor``, so the chart follows the page's theme; a
``prefers-color-scheme`` rule covers pages that set no variables.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape

from app.scanner.history_metrics import Point

_STYLE = """
.bd-grid{stroke:currentColor;stroke-opacity:.15;stroke-width:1}
.bd-axis{fill:currentColor;fill-opacity:.75;font:12px system-ui,sans-serif}
.bd-total{fill:none;stroke:var(--st-untested,#6b7280);stroke-width:1.5;stroke-dasharray:4 3}
.bd-left{fill:none;stroke:var(--st-legacy,#c2410c);stroke-width:2.25;stroke-linejoin:round}
.bd-area{fill:var(--st-legacy,#c2410c);fill-opacity:.12}
.bd-forecast{stroke:var(--st-legacy,#c2410c);stroke-width:1.5;stroke-dasharray:2 4;fill:none}
.bd-dot{fill:var(--st-legacy,#c2410c)}
.bd-key{font:12px system-ui,sans-serif;fill:currentColor}
@media (prefers-color-scheme: dark){
.bd-left,.bd-forecast{stroke:var(--st-legacy,#fb923c)}
.bd-area,.bd-dot{fill:var(--st-legacy,#fb923c)}
.bd-total{stroke:var(--st-untested,#9ca3af)}
}
"""


FONT = 12  # px of the viewBox: each size below is drawn near its own width, so text stays about 12 px on screen
CHAR = 0.62 * FONT  # a generous average advance of system-ui at FONT: an estimate that errs wide, so labels never touch
GAP = FONT  # the least room between two labels
# The sizes the overview draws; the page shows the one that fits its panel (a CSS container query, no script).
SIZES = ((360, 230), (560, 230), (800, 260))


def burndown_figure(points: Sequence[Point], *, end: datetime | None = None, done_by: datetime | None = None) -> str:
    """The burndown at each of ``SIZES``, for the page to show the one its panel fits: a chart
    scaled down to a phone would shrink its text to a few pixels, one drawn for it does not."""
    charts = "".join(
        burndown_svg(points, end=end, done_by=done_by, width=w, height=h).replace(
            'class="burndown"', f'class="burndown bd-w{w}"', 1
        )
        for w, h in SIZES
    )
    return f'<div class="burndown-sizes">{charts}</div>'


def burndown_svg(
    points: Sequence[Point],
    *,
    end: datetime | None = None,
    done_by: datetime | None = None,
    width: int = 640,
    height: int = 220,
) -> str:
    """Modules not yet migrated over time (a filled step line) under the total (dashed).

    ``end`` stretches the last state to a later date (today); ``done_by`` adds
    a dotted forecast line from the last point down to zero. Ticks are spaced
    from the room there is and the width of their labels, so no two labels meet.
    """
    uid = "bd-" + hashlib.sha1(repr((points[-1:], len(points), end, width)).encode()).hexdigest()[:8]
    if not points:
        return _frame(uid, width, 60, "No migration history yet", "No module has been recorded yet.", [
            f'<text class="bd-axis" x="{width / 2}" y="34" text-anchor="middle">No history yet</text>'
        ])  # fmt: skip
    last = points[-1]
    title = f"Burndown: {last.remaining} of {last.total} modules not yet migrated"
    desc = (
        f"From {points[0].date:%Y-%m-%d} ({points[0].remaining} of {points[0].total} not migrated) "
        f"to {last.date:%Y-%m-%d} ({last.remaining} of {last.total})."
    )
    forecast = done_by is not None and last.remaining > 0
    if done_by:
        desc += f" Forecast: done around {done_by:%Y-%m-%d}."
    keys = [("bd-left", f"not migrated: {last.remaining}"), ("bd-total", f"total: {last.total}")]
    if forecast:
        keys.append(("bd-forecast", f"forecast: {done_by:%Y-%m-%d}"))
    key_body, top = _keys(keys, width)
    ymax = max(max(p.total for p in points), 1)
    left, right, bottom = round(_text_width(str(ymax)) + 12), 14, FONT + 14
    start = points[0].date
    stop = max(d for d in (end, done_by, last.date) if d is not None)
    span = max((stop - start).total_seconds(), 1.0)

    def x(when: datetime) -> float:
        return round(left + (width - left - right) * (when - start).total_seconds() / span, 1)

    def y(count: float) -> float:
        return round(top + (height - top - bottom) * (1 - count / ymax), 1)

    body = _grid(ymax, x(start), width - right, y) + _dates(start, stop, x, y(0), width)
    tail = end if end and end > last.date else last.date
    remaining = _steps([(x(p.date), y(p.remaining)) for p in points], x(tail))
    total = _steps([(x(p.date), y(p.total)) for p in points], x(tail))
    area = f"{remaining} L{x(tail)},{y(0)} L{x(start)},{y(0)} Z"
    body += [
        f'<path class="bd-area" d="{area}"/>',
        f'<path class="bd-total" d="{total}"><title>total modules</title></path>',
        f'<path class="bd-left" d="{remaining}"><title>not yet migrated</title></path>',
        f'<circle class="bd-dot" cx="{x(tail)}" cy="{y(last.remaining)}" r="3.5"/>',
    ]
    if forecast:
        body.append(f'<path class="bd-forecast" d="M{x(tail)},{y(last.remaining)} L{x(done_by)},{y(0)}"/>')
    return _frame(uid, width, height, title, desc, body + key_body)


def _text_width(text: str) -> float:
    return len(text) * CHAR


def _keys(keys: list[tuple[str, str]], width: int) -> tuple[list[str], int]:
    """The legend: a line sample and its text per key, left to right, wrapping to another row
    when the next would not fit. Returns the elements and where the plot may start."""
    out, x, row = [], 4.0, 0
    for css, text in keys:
        size = 22 + _text_width(text)
        if x > 4 and x + size > width - 4:
            x, row = 4.0, row + 1
        base = FONT + 2 + row * (FONT + 8)
        out.append(f'<line class="{css}" x1="{x}" x2="{x + 16}" y1="{base - 4}" y2="{base - 4}"/>')
        out.append(f'<text class="bd-key" x="{x + 22}" y="{base}">{escape(text)}</text>')
        x += size + GAP * 1.5
    return out, (row + 1) * (FONT + 8) + FONT


def _frame(uid: str, width: int, height: int, title: str, desc: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="burndown" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{uid}-t {uid}-d" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>'
        f"<style>{_STYLE}</style>" + "".join(body) + "</svg>"
    )


def _steps(coords: list[tuple[float, float]], x_end: float) -> str:
    """A step line: the count holds until the next commit changes it."""
    (x0, y0), *rest = coords
    parts = [f"M{x0},{y0}"]
    for xi, yi in rest:
        parts.append(f"H{xi} V{yi}")
    parts.append(f"H{x_end}")
    return " ".join(parts)


def _grid(ymax: int, x0: float, x1: float, y) -> list[str]:
    """Count gridlines at a round step that leaves a label's height between labels; the top
    line is the total itself, unless the last round tick sits too close under it."""
    room = y(0) - y(ymax)
    step = next((n for n in _round_steps() if room * n / ymax >= FONT * 1.8), ymax)
    ticks = [t for t in range(0, ymax, step) if y(t) - y(ymax) >= FONT * 1.5] + [ymax]
    out = []
    for tick in ticks:
        out.append(f'<line class="bd-grid" x1="{x0}" x2="{x1}" y1="{y(tick)}" y2="{y(tick)}"/>')
        out.append(f'<text class="bd-axis" x="{x0 - 6}" y="{y(tick) + FONT / 3}" text-anchor="end">{tick}</text>')
    return out


def _round_steps():
    scale = 1
    while True:
        yield from (scale, 2 * scale, 5 * scale)
        scale *= 10


# (least length of one step, calendar unit, steps per tick, label format)
_DATE_STEPS = [
    (timedelta(days=1), "day", 1, "%Y-%m-%d"),
    (timedelta(days=2), "day", 2, "%Y-%m-%d"),
    (timedelta(days=7), "week", 1, "%Y-%m-%d"),
    (timedelta(days=14), "week", 2, "%Y-%m-%d"),
    (timedelta(days=28), "month", 1, "%Y-%m"),
    (timedelta(days=59), "month", 2, "%Y-%m"),
    (timedelta(days=89), "month", 3, "%Y-%m"),
    (timedelta(days=181), "month", 6, "%Y-%m"),
    *((timedelta(days=365 * n), "year", n, "%Y") for n in (1, 2, 5, 10, 20, 50, 100)),
]


def _dates(start: datetime, stop: datetime, x, baseline: float, width: int) -> list[str]:
    """Date labels on calendar boundaries (days, Mondays, months, years), as many as the width
    holds with room between them; a label that would leave the chart or touch the one before is dropped."""
    plot = x(stop) - x(start)
    span = max((stop - start).total_seconds(), 1.0)
    chosen = _DATE_STEPS[-1]
    for least, unit, n, fmt in _DATE_STEPS:
        if plot * least.total_seconds() / span >= _text_width(stop.strftime(fmt)) + GAP:
            chosen = (least, unit, n, fmt)
            break
    _, unit, n, fmt = chosen
    ticks = [t for t in _calendar(start, stop, unit, n)] or [start]
    out, right_edge = [], -GAP
    for when in ticks:
        label = when.strftime(fmt)
        half = _text_width(label) / 2
        at = x(when)
        if at - half < 0 or at + half > width or at - half < right_edge + GAP:
            continue
        right_edge = at + half
        out.append(f'<line class="bd-grid" x1="{at}" x2="{at}" y1="{baseline}" y2="{baseline + 4}"/>')
        out.append(f'<text class="bd-axis" x="{at}" y="{baseline + 8 + FONT}" text-anchor="middle">{label}</text>')
    return out


def _calendar(start: datetime, stop: datetime, unit: str, n: int):
    """Every ``n``-th calendar boundary of ``unit`` from ``start`` to ``stop``."""
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        when, step = (day if day >= start else day + timedelta(days=1)), timedelta(days=n)
        while when <= stop:
            yield when
            when += step
    elif unit == "week":
        when = day + timedelta(days=(7 - day.weekday()) % 7)  # the next Monday
        when = when if when >= start else when + timedelta(days=7)
        while when <= stop:
            yield when
            when += timedelta(days=7 * n)
    else:
        months = 12 * n if unit == "year" else n
        index = start.year * 12 + start.month - 1
        index += -index % months  # the first boundary on the step
        while True:
            when = day.replace(year=index // 12, month=index % 12 + 1, day=1)
            if when > stop:
                return
            if when >= start:
                yield when
            index += months
