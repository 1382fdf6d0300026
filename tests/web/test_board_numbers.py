"""Numbers that agree (issue 15, point 6): column counts say modules and cards, the percent pill takes the
badge's colour, and empty columns collapse. In process over the seed repository."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from app.config import Settings
from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import GitOps, build_seed_repo, seed_history
from app.services import scan_and_store
from app.web.badges import COLOURS, migration_colour
from app.web.main import create_app
from app.web.render import STATIC

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def seed_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_seed_repo(tmp_path_factory.mktemp("board") / "platform")


@pytest.fixture(scope="module")
def done_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed repository with every suite migrated: 100%."""
    path = tmp_path_factory.mktemp("board-done") / "platform"
    with RepoBuilder(path) as builder:
        gitops = GitOps(builder)
        seed_history(gitops)
        for name in [n for n, suite in gitops.suites.items() if suite.kind == "legacy"]:
            gitops.migrate_suite(name, pr=1000)
    return path


def overview(db_url: str, repo: Path) -> tuple[str, TestClient]:
    scan_and_store(db_url, repo)
    client = TestClient(create_app(Settings(database_url=db_url)))
    return client.get("/").text, client


def column(page: str, status: str) -> str:
    return page.split(f'data-status="{status}"', 1)[1].split("</section>", 1)[0]


def test_a_column_says_how_many_modules_sit_in_how_many_cards(db_url: str, seed_repo: Path) -> None:
    page, _ = overview(db_url, seed_repo)
    legacy = column(page, "legacy")
    assert re.search(r'<span class="n" title="16 modules in 12 cards">16</span>', legacy)
    assert "16 modules in 12 cards" in re.sub(r"<[^>]+>", "", legacy.split('data-testid="column-count-legacy">', 1)[1])
    assert legacy.count('<article class="card') == 12
    migrated = column(page, "migrated")  # the kubernetes pair: 2 modules, 1 card
    assert migrated.count('<article class="card') == 1
    assert re.sub(r"<[^>]+>", "", migrated.split('data-testid="column-count-migrated">', 1)[1]).startswith("2 modules in 1 card (")


def test_the_percent_pill_and_bar_take_the_badges_colour(db_url: str, seed_repo: Path) -> None:
    page, client = overview(db_url, seed_repo)
    badge = client.get("/api/badge/migration").json()
    scale = re.search(r'class="percent scale-(\w+)" data-testid="percent"', page).group(1)
    assert scale == badge["color"] == migration_colour(11) == "orange"  # 2 of 18: not green
    assert f'class="main-progress scale-{scale}"' in page


def test_the_stylesheet_has_the_badges_colour_for_every_step_of_the_scale() -> None:
    css = (STATIC / "app.css").read_text()
    for name in {migration_colour(p) for p in range(0, 101)}:
        rule = re.search(rf"\.scale-{name} \{{ --scale: (#[0-9a-f]+); \}}", css)
        assert rule and rule.group(1) == COLOURS[name], name


def test_empty_columns_collapse_into_a_strip(db_url: str, seed_repo: Path, done_repo: Path) -> None:
    page, _ = overview(db_url, seed_repo)
    strip = page.split('data-testid="collapsed-columns"', 1)[1].split("</div>", 1)[0]
    assert re.findall(r'data-status="(\w+)"', strip) == ["untested", "in_progress"]
    assert 'class="board cols-2"' in page and "column-empty" not in page

    page, _ = overview(db_url, done_repo)
    assert 'class="board cols-1"' in page  # 100%: one column of cards across the board
    strip = page.split('data-testid="collapsed-columns"', 1)[1].split("</div>", 1)[0]
    assert re.findall(r'data-status="(\w+)"', strip) == ["untested", "legacy", "in_progress"]
    assert column(page, "migrated").count('<article class="card') == 13
    assert 'scale-brightgreen" data-testid="percent"' in page
