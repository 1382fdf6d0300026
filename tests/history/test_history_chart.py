"""The burndown chart: valid, accessible SVG that says what it shows."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from app.scanner.history_metrics import Point
from app.web.charts import burndown_svg

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_burndown_draws_remaining_under_the_total_with_a_title() -> None:
    points = [Point(T0, 10, 10, "a"), Point(T0 + timedelta(days=30), 6, 11, "b"), Point(T0 + timedelta(days=60), 3, 11, "c")]
    svg = ET.fromstring(burndown_svg(points, end=T0 + timedelta(days=70), done_by=T0 + timedelta(days=100)))
    assert svg.get("role") == "img"
    title = svg.find(f"{SVG}title")
    assert title.text == "Burndown: 3 of 11 modules not yet migrated"
    assert svg.get("aria-labelledby") == f"{title.get('id')} {svg.find(f'{SVG}desc').get('id')}"
    classes = [p.get("class") for p in svg.iter(f"{SVG}path")]
    assert classes == ["bd-area", "bd-total", "bd-left", "bd-forecast"]
    labels = [t.text for t in svg.iter(f"{SVG}text")]
    assert {"0", "11", "not migrated: 3", "total: 11", "forecast: 2025-04-11"} <= set(labels)
    assert [t for t in labels if t.startswith("2025-0") and len(t) == 7] == ["2025-01", "2025-02", "2025-03", "2025-04"]
    # the remaining line steps down at each point and holds to the end date
    remaining = next(p for p in svg.iter(f"{SVG}path") if p.get("class") == "bd-left").get("d")
    assert remaining.count("V") == 2 and remaining.endswith("H" + remaining.split("H")[-1])


def test_no_history_draws_a_placeholder() -> None:
    svg = ET.fromstring(burndown_svg([]))
    assert svg.find(f"{SVG}title").text == "No migration history yet"


def test_the_chart_follows_the_theme() -> None:
    text = burndown_svg([Point(T0, 1, 1, "a")])
    assert "prefers-color-scheme: dark" in text and "var(--st-legacy" in text and "currentColor" in text


def axis_labels(svg: ET.Element, anchor: str) -> list[tuple[float, float, str]]:
    """(x, y, text) of the axis labels anchored so: "end" for counts, "middle" for dates."""
    return [
        (float(t.get("x")), float(t.get("y")), t.text)
        for t in svg.iter(f"{SVG}text")
        if t.get("class") == "bd-axis" and t.get("text-anchor") == anchor
    ]


def test_a_total_just_over_a_round_tick_does_not_crowd_it() -> None:
    """The issue's "20" and "21", drawn on top of each other."""
    points = [Point(T0, 21, 21, "a"), Point(T0 + timedelta(days=40), 12, 21, "b")]
    counts = [text for _, _, text in axis_labels(ET.fromstring(burndown_svg(points, width=360, height=230)), "end")]
    assert counts[0] == "0" and counts[-1] == "21" and "20" not in counts


def test_axis_labels_keep_apart_at_every_size_and_span() -> None:
    from app.web.charts import CHAR, FONT, SIZES

    for width, height in SIZES:
        for days in (0, 1, 6, 20, 45, 100, 400, 1200, 4000):
            for total in (1, 7, 21, 99, 1234):
                points = [Point(T0, total, total, "a"), Point(T0 + timedelta(days=days), total // 2, total, "b")]
                svg = ET.fromstring(burndown_svg(points, end=T0 + timedelta(days=days), width=width, height=height))
                dates = sorted((x, len(text) * CHAR / 2) for x, _, text in axis_labels(svg, "middle"))
                assert all(half <= x <= width - half for x, half in dates), (width, days)
                for (x1, half1), (x2, half2) in zip(dates, dates[1:]):
                    assert (x2 - half2) - (x1 + half1) >= FONT, (width, days, x1, x2)
                counts = sorted(y for _, y, _ in axis_labels(svg, "end"))
                assert all(b - a >= FONT * 1.5 for a, b in zip(counts, counts[1:])), (width, total, counts)
                if days >= 2:
                    assert len(dates) >= 2, (width, days)  # a time axis worth the name
