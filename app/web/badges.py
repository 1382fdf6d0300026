"""Badges: flat shields-style SVG drawn here, and the shields.io endpoint JSON.

Both work on a private network: nothing is fetched from an outside service.
The SVG follows the shields "flat" style; text widths come from a small table
of Verdana 11 px advances, close enough that the text never spills.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

# Shields' named colours, so the JSON and the SVG agree.
COLOURS = {
    "brightgreen": "#4c1",
    "green": "#97ca00",
    "yellowgreen": "#a4a61d",
    "yellow": "#dfb317",
    "orange": "#fe7d37",
    "red": "#e05d44",
    "lightgrey": "#9f9f9f",
    "blue": "#007ec6",
}
CACHE_SECONDS = 300  # the least shields.io accepts for endpoint badges

_NARROW = dict.fromkeys("fijlrtI!|.,:;'` ", 3.9)
_WIDE = dict.fromkeys("mwMW%@", 11.0)
_UPPER = 7.6
_DEFAULT = 6.9


@dataclass(frozen=True)
class Badge:
    label: str
    message: str
    colour: str  # a key of COLOURS

    def endpoint(self) -> dict:
        """The shields.io endpoint schema (https://shields.io/badges/endpoint-badge)."""
        return {
            "schemaVersion": 1,
            "label": self.label,
            "message": self.message,
            "color": self.colour,
            "cacheSeconds": CACHE_SECONDS,
        }

    def svg(self) -> str:
        return flat_svg(self.label, self.message, COLOURS[self.colour])


def migration_colour(percent: int) -> str:
    if percent >= 100:
        return "brightgreen"
    if percent >= 75:
        return "green"
    if percent >= 50:
        return "yellowgreen"
    if percent >= 25:
        return "yellow"
    return "orange" if percent > 0 else "red"


def migration_label(group: str | None = None) -> str:
    # A group's badge must not read like the whole repository's.
    return f"chainsaw · {group}" if group else "chainsaw"


def migration_badge(migrated: int, total: int, percent: int, scanned: bool = True, group: str | None = None) -> Badge:
    if not scanned:
        return Badge(migration_label(group), "no scan yet", "lightgrey")
    return Badge(migration_label(group), f"{migrated}/{total} · {percent}%", migration_colour(percent))


def blockers_badge(open_count: int) -> Badge:
    if open_count == 0:
        return Badge("blockers", "none open", "brightgreen")
    return Badge("blockers", f"{open_count} open", "orange" if open_count < 3 else "red")


def tests_badge(tests: dict) -> Badge:
    """Migrated modules whose last chainsaw run in CI passed (``services.reports.results_overview``)."""
    if not tests["reported"]:
        return Badge("tests", "no reports", "lightgrey")
    message = f"{tests['passing']}/{tests['migrated']} passing"
    if tests["failing"]:
        return Badge("tests", f"{message} · {len(tests['failing'])} failing", "red")
    return Badge("tests", message, "brightgreen" if not tests["not_run"] else "yellow")


def text_width(text: str) -> float:
    width = 0.0
    for char in text:
        if char in _NARROW:
            width += _NARROW[char]
        elif char in _WIDE:
            width += _WIDE[char]
        else:
            width += _UPPER if char.isupper() else _DEFAULT
    return width


def flat_svg(label: str, message: str, fill: str) -> str:
    label_text, message_text = round(text_width(label) * 10), round(text_width(message) * 10)
    left, right = label_text // 10 + 10, message_text // 10 + 10
    width = left + right
    title = escape(f"{label}: {message}", {'"': "&quot;"})
    label, message = escape(label), escape(message)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{fill}"/>'
        f'<rect width="{width}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        'text-rendering="geometricPrecision" font-size="110">'
        f"{_text(left * 5, label_text, label)}{_text(left * 10 + right * 5, message_text, message)}"
        "</g></svg>"
    )


def _text(x: int, length: int, text: str) -> str:
    # A faint shadow one pixel down, then the text: the shields flat look.
    return (
        f'<text aria-hidden="true" x="{x}" y="150" fill="#010101" fill-opacity=".3" '
        f'transform="scale(.1)" textLength="{length}">{text}</text>'
        f'<text x="{x}" y="140" transform="scale(.1)" fill="#fff" textLength="{length}">{text}</text>'
    )
