"""Browser fixtures: a real uvicorn on a free loopback port, a real chromium.

Each test gets its own SQLite file migrated with Alembic (the ``db_url``
fixture) and its own git repository built with the repository builder.
Without /usr/bin/chromium these tests skip, except under ``CI=true`` where a
missing browser is a failure: CI installs it (.ci/run).
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from app.config import Settings
from app.store.db import session_scope
from app.store.tokens import create_token
from app.web.main import create_app
from tests.serve import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser(request: pytest.FixtureRequest):
    """Headless chromium. Other test folders may import this fixture: they share the
    one browser (kept on the pytest config, which every copy of this module sees),
    since a second sync playwright cannot start inside the first."""
    if not CHROMIUM.exists():
        # Only here does a test read the environment: CI must never skip these.
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
        pytest.skip(f"{CHROMIUM} is not installed")
    running = getattr(request.config, "_sawmill_chromium", None)
    if running is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from playwright.sync_api import sync_playwright
        playwright = sync_playwright().start()
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        running = request.config._sawmill_chromium = {"playwright": playwright, "browser": chromium, "users": 0}
    running["users"] += 1
    yield running["browser"]
    running["users"] -= 1
    if running["users"] == 0:
        running["browser"].close()
        running["playwright"].stop()
        del request.config._sawmill_chromium


@dataclass
class Live:
    url: str
    settings: Settings

    def token(self, name: str = "alice") -> str:
        with session_scope(self.settings.database_url) as session:
            return create_token(session, name)


@pytest.fixture
def serve(db_url: str) -> Iterator[Callable[..., Live]]:
    """Start the real app under uvicorn; keyword arguments become Settings fields."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(**overrides) -> Live:
        settings = Settings(database_url=db_url, **overrides)
        port = free_port()
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("uvicorn did not start")
            time.sleep(0.02)
        servers.append((server, thread))
        return Live(f"http://127.0.0.1:{port}", settings)

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def page_for(browser, tmp_path: Path):
    """New pages in fresh browser contexts; ``shot(page, name)`` saves a screenshot in tmp."""
    contexts = []

    def make(width: int = 1400, height: int = 1000, javascript: bool = True):
        context = browser.new_context(viewport={"width": width, "height": height}, java_script_enabled=javascript)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shot(tmp_path: Path) -> Callable:
    def save(page, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        return path

    return save


def sign_in(page, live: Live, name: str = "alice") -> None:
    """Sign in through the real form with a fresh token."""
    page.goto(f"{live.url}/signin")
    page.fill("input[name=token]", live.token(name))
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/")


@pytest.fixture
def gitops_repo(tmp_path: Path) -> Iterator[tuple[Path, object]]:
    """The seed repository (LAYOUT.md at the PoC), checked out, and its GitOps
    writer kept open so a test can add commits (``repo.migrate_suite(...)``)."""
    from app.repobuilder import RepoBuilder
    from app.repobuilder.gitops import GitOps, seed_history

    path = tmp_path / "platform"
    builder = RepoBuilder(path)
    repo = GitOps(builder)
    seed_history(repo)
    builder.checkout()
    yield path, repo
    builder.repo.close()


def card(page, module_path: str):
    """The board card that shows ``module_path`` (alone or as half of a pair)."""
    return page.locator(f"article.card[data-modules~='{module_path}']")


def column_of(page, module_path: str) -> str:
    return card(page, module_path).evaluate("el => el.closest('[data-status]').dataset.status")


DEMO_DOCUMENT = Path(__file__).resolve().parents[2] / "app" / "demo" / "progress.md"


@pytest.fixture
def with_document(db_url: str) -> str:
    """The team's progress document imported into the test's database."""
    from app.store.progress_doc import import_document

    with session_scope(db_url) as session:
        import_document(session, DEMO_DOCUMENT.read_bytes(), who="test", source="progress.md")
    return db_url
