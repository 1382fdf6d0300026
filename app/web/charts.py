"""Charts drawn on the server as SVG strings: no JavaScript, readable in light and dark.

Colours come from CSS custom properties with fallbacks, and text uses
``currentColor``, so the chart follows the page's theme; a
``prefers-color-scheme`` rule covers pages that set no variables.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from html import escape

from app.scanner.history_metrics import Point

_STYLE = """
.bd-grid{stroke:currentColor;stroke-opacity:.15;stroke-width:1}
.bd-axis{fill:currentColor;fill-opacity:.7;font:11px system-ui,sans-serif}
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
    a dotted forecast line from the last point down to zero.
    """
    uid = "bd-" + hashlib.sha1(repr((points[-1:], len(points), end)).encode()).hexdigest()[:8]
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
    if done_by:
        desc += f" Forecast: done around {done_by:%Y-%m-%d}."
    left, right, top, bottom = 36, 14, 22, 26
    start = points[0].date
    stop = max(d for d in (end, done_by, last.date) if d is not None)
    span = max((stop - start).total_seconds(), 1.0)
    ymax = max(max(p.total for p in points), 1)

    def x(when: datetime) -> float:
        return round(left + (width - left - right) * (when - start).total_seconds() / span, 1)

    def y(count: float) -> float:
        return round(top + (height - top - bottom) * (1 - count / ymax), 1)

    body = _grid(ymax, x(start), width - right, y) + _dates(start, stop, x, height)
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
    if done_by and last.remaining:
        body.append(f'<path class="bd-forecast" d="M{x(tail)},{y(last.remaining)} L{x(done_by)},{y(0)}"/>')
    body += [
        f'<line class="bd-left" x1="{left}" x2="{left + 16}" y1="10" y2="10"/>',
        f'<text class="bd-key" x="{left + 22}" y="14">not migrated: {last.remaining}</text>',
        f'<line class="bd-total" x1="{left + 150}" x2="{left + 166}" y1="10" y2="10"/>',
        f'<text class="bd-key" x="{left + 172}" y="14">total: {last.total}</text>',
    ]
    if done_by and last.remaining:
        body.append(f'<text class="bd-key" x="{width - right}" y="14" text-anchor="end">forecast: {done_by:%Y-%m-%d}</text>')
    return _frame(uid, width, height, title, desc, body)


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
    step = next(n for n in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000) if ymax / n <= 5) if ymax <= 5000 else ymax
    ticks = [*range(0, ymax, step), ymax]
    out = []
    for tick in ticks:
        out.append(f'<line class="bd-grid" x1="{x0}" x2="{x1}" y1="{y(tick)}" y2="{y(tick)}"/>')
        out.append(f'<text class="bd-axis" x="{x0 - 6}" y="{y(tick) + 4}" text-anchor="end">{tick}</text>')
    return out


def _dates(start: datetime, stop: datetime, x, height: int) -> list[str]:
    labels = [(start, "start"), (start + (stop - start) / 2, "middle"), (stop, "end")]
    anchor = {"start": "start", "middle": "middle", "end": "end"}
    return [
        f'<text class="bd-axis" x="{x(when)}" y="{height - 8}" text-anchor="{anchor[where]}">{when:%Y-%m-%d}</text>'
        for when, where in labels
    ]
