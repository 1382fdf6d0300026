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
    assert {"2025-01-01", "0", "11", "not migrated: 3", "total: 11"} <= set(labels)
    # the remaining line steps down at each point and holds to the end date
    remaining = next(p for p in svg.iter(f"{SVG}path") if p.get("class") == "bd-left").get("d")
    assert remaining.count("V") == 2 and remaining.endswith("H" + remaining.split("H")[-1])


def test_no_history_draws_a_placeholder() -> None:
    svg = ET.fromstring(burndown_svg([]))
    assert svg.find(f"{SVG}title").text == "No migration history yet"


def test_the_chart_follows_the_theme() -> None:
    text = burndown_svg([Point(T0, 1, 1, "a")])
    assert "prefers-color-scheme: dark" in text and "var(--st-legacy" in text and "currentColor" in text
