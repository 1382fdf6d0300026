"""The board's numbers and the burndown in a real browser (issue 15, points 6 and 7): the pill wears the
badge's colour, empty columns collapse, and no two labels of the chart meet, down to a 390 px phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.repobuilder.gitops import INFRA
from app.services import scan_and_store
from app.web.badges import COLOURS

pytestmark = pytest.mark.browser

# every <text> of the burndown the page shows: its box on screen and its font size there
LABEL_BOXES = """svg => Array.from(svg.querySelectorAll('text')).map(t => {
  const r = t.getBoundingClientRect();
  return {text: t.textContent, x: r.x, y: r.y, w: r.width, h: r.height,
          px: parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a};
})"""


def rgb(hex_colour: str) -> str:
    digits = hex_colour.lstrip("#")
    digits = "".join(c * 2 for c in digits) if len(digits) == 3 else digits
    return "rgb({}, {}, {})".format(*(int(digits[i:i + 2], 16) for i in (0, 2, 4)))


def overlap(a: dict, b: dict) -> bool:
    return a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


@pytest.fixture
def busy_history(gitops_repo):
    """The seed repository, three modules more (21: the total whose "20" and "21" labels met), and
    migrations spread over months."""
    path, repo = gitops_repo
    when = datetime(2024, 6, 3, 9, tzinfo=UTC)
    for name in ("cache-core", "queue-core", "search-core"):
        repo.add_module(f"{INFRA}/{name}")
        repo.add_legacy_suite(f"infra-{name}", [f"{INFRA}/{name}"])
    repo.commit("feat: cache, queue and search", date=when)
    for i, suite in enumerate(("infra-networking", "infra-security", "infra-cache-core", "apps-media", "infra-storage")):
        repo.migrate_suite(suite, pr=900 + i, date=when + timedelta(days=23 * (i + 1)))
    repo.builder.checkout()
    return path


@pytest.mark.parametrize("width", [390, 820, 1280])
def test_no_two_burndown_labels_meet_and_text_stays_readable(busy_history, db_url, serve, page_for, shot, width) -> None:
    scan_and_store(db_url, busy_history)
    live = serve(repo=str(busy_history))
    page = page_for(width=width, height=900)
    page.goto(live.url + "/")
    charts = page.get_by_test_id("burndown").locator("svg.burndown:visible")
    assert charts.count() == 1  # one size of the chart, the one that fits the panel
    chart = charts.first
    frame = chart.bounding_box()
    labels = chart.evaluate(LABEL_BOXES)
    assert {"0", "21", "total: 21"} <= {label["text"] for label in labels}
    assert sum(1 for label in labels if label["text"].startswith("202")) >= 2  # dates on the time axis
    for i, a in enumerate(labels):
        assert a["px"] >= 10, f"{a['text']!r} is drawn at {a['px']:.1f} px on a {width} px screen"
        assert frame["x"] - 1 <= a["x"] and a["x"] + a["w"] <= frame["x"] + frame["width"] + 1, f"{a['text']!r} leaves the chart"
        for b in labels[i + 1:]:
            assert not overlap(a, b), f"{a['text']!r} meets {b['text']!r} at {width} px"
    shot(page, f"burndown-{width}")


def test_the_pill_wears_the_badges_colour_and_a_finished_board_is_one_column(gitops_repo, db_url, serve, page_for, shot) -> None:
    path, repo = gitops_repo
    scan_and_store(db_url, path)
    live = serve(repo=str(path))
    page = page_for(width=1280, height=900)
    page.goto(live.url + "/")
    pill = page.get_by_test_id("percent")
    assert pill.evaluate("el => getComputedStyle(el).backgroundColor") == rgb(COLOURS["orange"])  # 11%, as the badge

    for name in [n for n, suite in repo.suites.items() if suite.kind == "legacy"]:
        repo.migrate_suite(name, pr=1000)
    repo.builder.checkout()
    scan_and_store(db_url, path)
    page.goto(live.url + "/")
    assert pill.evaluate("el => getComputedStyle(el).backgroundColor") == rgb(COLOURS["brightgreen"])
    board = page.locator("#board").bounding_box()
    migrated = page.locator("section.column[data-status=migrated]").bounding_box()
    assert migrated["width"] > 0.9 * board["width"]  # the one column left takes the board's width
    rows = {round(box["y"]) for box in (c.bounding_box() for c in page.locator("section[data-status=migrated] article.card").all())}
    assert len(rows) <= 5  # 13 cards side by side, a few rows, not one long column
    for status in ("untested", "legacy", "in_progress"):
        empty = page.locator(f"section.column[data-status={status}]").bounding_box()
        assert empty["height"] < 60 and empty["y"] < migrated["y"]  # a slim strip above the cards
    shot(page, "board-done")
