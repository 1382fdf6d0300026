"""Pages from memory (app.web.page_cache): one render per change, each reader's own bits filled in."""

from __future__ import annotations

import asyncio
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event

from app.config import Settings
from app.store.db import get_engine, session_scope
from app.store.backlog import create_backlog_item, set_task_done
from app.store.blockers import add_blocker
from app.store.progress_doc import import_document
from app.store.progress_sync import pin_entry
from app.store.tokens import create_token
from app.web import page_cache, render
from app.web.main import create_app
from app.web.status_cache import watch_for
from tests.api.factory import record
from tests.signin import post_signin

from .conftest import DEMO_DOCUMENT

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

HTMX = {"HX-Request": "true"}
MODULE = "/modules/infrastructure/monitoring"
PAGES = ["/", MODULE, "/backlog", "/milestones", "/blockers", "/document"]
BLOCKS = ["/", "/backlog", "/milestones", "/blockers"]  # the pages with an htmx block
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@pytest.fixture(autouse=True)
def one_minute(monkeypatch) -> None:
    """The whole test inside one clock bucket: a minute turning mid-test would rebuild."""
    monkeypatch.setattr(page_cache, "MINUTE", 1e12)


@pytest.fixture
def app(db_url: str):
    record(db_url)
    with session_scope(db_url) as session:
        import_document(session, DEMO_DOCUMENT.read_bytes(), who="test")
    return create_app(Settings(database_url=db_url))


def client_of(app) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


@pytest.fixture
def anonymous(app) -> TestClient:
    return client_of(app)


@pytest.fixture
def token(db_url: str):
    def make(name: str) -> str:
        with session_scope(db_url) as session:
            return create_token(session, name)

    return make


def signed_in(app, token: str) -> TestClient:
    client = client_of(app)
    assert post_signin(client, {"token": token}).status_code == 303
    return client


@pytest.fixture
def statements(db_url: str):
    """Every SQL statement the app's engine runs while the test looks."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    engine = get_engine(db_url)
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def builds(app) -> int:
    cache = getattr(app.state, "page_cache", None)
    return cache.builds if cache else 0


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "block"])
@pytest.mark.parametrize("path", PAGES)
def test_a_second_get_runs_no_sql(anonymous, statements, path: str, htmx: bool) -> None:
    headers = HTMX if htmx else {}
    first = anonymous.get(path, headers=headers)
    assert first.status_code == 200
    statements.clear()
    again = anonymous.get(path, headers=headers)
    assert (again.status_code, again.text) == (200, first.text)
    assert anonymous.get(path, headers={**headers, "If-None-Match": first.headers["etag"]}).status_code == 304
    assert statements == []


def test_a_write_through_the_api_shows_on_the_next_get(anonymous, token) -> None:
    before = anonymous.get("/blockers").text
    overview = anonymous.get("/").text
    blocker = anonymous.get("/api/blockers").json()["open"][0]
    body = {"version": blocker["version"], "note": "the framework is chosen"}
    bearer = {"Authorization": f"Bearer {token('carol')}"}
    assert anonymous.post(f"/api/blockers/{blocker['id']}/resolve", json=body, headers=bearer).status_code == 200
    after = anonymous.get("/blockers").text
    assert "the framework is chosen" in after and "the framework is chosen" not in before
    assert anonymous.get("/").text != overview  # the overview lists open blockers too


def test_each_reader_gets_their_own_name_and_token_from_one_render(app, anonymous, token) -> None:
    alice, bob = signed_in(app, token("alice")), signed_in(app, token("bob"))
    anonymous.get("/blockers")
    built = builds(app)
    pages = {who: client.get("/blockers").text for who, client in [("alice", alice), ("bob", bob), ("anon", anonymous)]}
    assert builds(app) == built  # one render served all three
    tokens = {who: set(CSRF.findall(text)) for who, text in pages.items()}
    assert len(CSRF.findall(pages["alice"])) > 2  # the sign-out form and every blocker's form
    assert tokens["anon"] == {""}
    assert len(tokens["alice"]) == len(tokens["bob"]) == 1 and tokens["alice"] != tokens["bob"] != {""}
    assert "alice · sign out" in pages["alice"] and "bob" not in pages["alice"]
    assert "bob · sign out" in pages["bob"] and "alice" not in pages["bob"]
    assert "sign out" not in pages["anon"] and 'href="/signin?next=/blockers"' in pages["anon"]
    assert not any(f"sawmill-{page_cache._NONCE}" in text for text in pages.values())  # no slot left unfilled
    # The token a page carries is the one that reader's writes need.
    blocker = anonymous.get("/api/blockers").json()["open"][0]
    form = {"version": str(blocker["version"]), "note": "done", "csrf_token": tokens["alice"].pop()}
    assert alice.post(f"/blockers/{blocker['id']}/resolve", data=form).status_code == 303
    reopen = {**form, "version": str(blocker["version"] + 1)}  # alice's token in bob's hands
    assert bob.post(f"/blockers/{blocker['id']}/reopen", data=reopen).status_code == 403


def test_a_name_is_escaped_where_it_is_filled_in(db_url, app) -> None:
    proxied = create_app(Settings(database_url=db_url, trust_proxy_header=True, trusted_proxies=["10.0.0.0/24"]))
    client = TestClient(proxied, client=("10.0.0.2", 1))
    page = client.get("/", headers={"Remote-User": "<b>eve</b>"}).text  # an SSO name is anything
    assert "&lt;b&gt;eve&lt;/b&gt; · sign out" in page and "<b>eve" not in page


def test_the_etag_answers_304_and_differs_per_reader(app, anonymous, token) -> None:
    first = anonymous.get("/milestones")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    assert first.headers["vary"] == "HX-Request, Cookie, Accept-Encoding"  # gzip when asked: app.web.compress
    again = anonymous.get("/milestones", headers={"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    alice = signed_in(app, token("alice"))
    theirs = alice.get("/milestones", headers={"If-None-Match": etag})
    assert theirs.status_code == 200 and theirs.headers["etag"] != etag  # her page is not the anonymous one
    assert alice.get("/milestones", headers={"If-None-Match": theirs.headers["etag"]}).status_code == 304


def test_a_block_and_its_page_are_kept_apart(app, anonymous) -> None:
    built = builds(app)
    page, block = anonymous.get("/backlog"), anonymous.get("/backlog", headers=HTMX)
    assert builds(app) == built + 2
    assert "<html" in page.text and "<html" not in block.text
    assert anonymous.get("/backlog").text == page.text
    assert anonymous.get("/backlog", headers=HTMX).text == block.text
    assert page.headers["etag"] != block.headers["etag"]
    assert builds(app) == built + 2


def test_a_form_error_is_drawn_fresh_and_never_kept(app, anonymous, token) -> None:
    bearer = {"Authorization": f"Bearer {token('carol')}"}
    blocker = anonymous.get("/api/blockers", headers=bearer).json()["open"][0]  # its first use is noted: a write
    clean = anonymous.get("/blockers").text
    form = {"version": str(blocker["version"]), "note": " "}
    error = anonymous.post(f"/blockers/{blocker['id']}/resolve", data=form, headers=bearer)
    assert error.status_code == 422 and 'aria-invalid="true"' in error.text
    assert "etag" not in error.headers
    built = builds(app)
    assert anonymous.get("/blockers").text == clean
    assert builds(app) == built


def test_errors_are_not_kept(app, anonymous) -> None:
    for _ in range(2):
        missing = anonymous.get("/modules/no/such/module")
        assert missing.status_code == 404 and "etag" not in missing.headers
    assert not any(key[0] == "/modules/no/such/module" for key in app.state.page_cache._pages)


def test_clock_phrases_are_worked_out_per_request(app, anonymous, statements, monkeypatch) -> None:
    first = anonymous.get("/")
    assert "scanned just now" in " ".join(first.text.split())
    later = datetime.now(UTC) + timedelta(minutes=3, seconds=5)
    monkeypatch.setattr(render, "datetime", SimpleNamespace(now=lambda tz=None: later))
    statements.clear()
    second = anonymous.get("/")
    assert "scanned 3 minutes ago" in " ".join(second.text.split())
    assert second.headers["etag"] != first.headers["etag"]  # the ETag is of what was sent
    assert statements == []


def test_a_new_minute_renders_again(app, anonymous, monkeypatch) -> None:
    monkeypatch.setattr(page_cache, "MINUTE", 60.0)
    monkeypatch.setattr(page_cache, "time", SimpleNamespace(time=lambda: 6_000_000.0))
    anonymous.get("/")
    built = builds(app)
    anonymous.get("/")
    assert builds(app) == built
    monkeypatch.setattr(page_cache, "time", SimpleNamespace(time=lambda: 6_000_060.0))
    anonymous.get("/")
    assert builds(app) == built + 1


def test_the_overviews_polls_share_one_render(app, anonymous) -> None:
    since = anonymous.get("/").text.split('hx-get="/?since=', 1)[1].split('"', 1)[0]
    built = builds(app)
    assert anonymous.get(f"/?since={since}", headers=HTMX).status_code == 204
    stale = [anonymous.get(f"/?since=old{n}", headers=HTMX) for n in range(3)]
    assert {r.status_code for r in stale} == {200} and builds(app) == built + 1


def test_sign_in_required_is_checked_before_the_cache(db_url, app, token) -> None:
    locked = create_app(Settings(database_url=db_url, read_requires_signin=True))
    alice = signed_in(locked, token("alice"))
    assert alice.get("/backlog").status_code == 200  # the page is now in memory
    refused = client_of(locked).get("/backlog")
    assert refused.status_code == 303 and refused.headers["location"] == "/signin?next=/backlog"


def test_the_cache_is_bounded(app, anonymous) -> None:
    app.state.page_cache = page_cache.PageCache(watch_for(app.state.settings.database_url), size=2)
    paths = [MODULE, "/modules/infrastructure/storage-core", "/modules/apps/subsystems/chat"]
    for path in paths:
        assert anonymous.get(path).status_code == 200
    assert len(app.state.page_cache._pages) == 2
    anonymous.get(paths[-1])
    assert builds(app) == 3
    anonymous.get(paths[0])  # the least recently used went first
    assert builds(app) == 4


def test_a_write_landing_mid_build_is_not_kept(db_url: str) -> None:
    watch = watch_for(db_url)
    cache = page_cache.PageCache(watch)

    def build() -> page_cache.Page:
        watch.bump()  # another request's commit, while this page was read
        return page_cache.Page("<p>stale</p>", None, [])

    async def ask() -> str:
        return (await cache.get(("/x", "", None), cache.moment(), build)).body

    with ThreadPoolExecutor(1) as thread:  # a loop of its own: the browser tests' may be running in this thread
        assert thread.submit(asyncio.run, ask()).result() == "<p>stale</p>"  # served to whoever waited for it
    assert cache.builds == 1 and not cache._pages  # but the next request builds again


def _entry(session):
    from sqlmodel import select

    from app.store.progress import MigrationEntry

    return session.exec(select(MigrationEntry)).first().id


def _task(session):
    from sqlmodel import select

    from app.store.progress import MilestoneTask

    return session.exec(select(MilestoneTask).where(MilestoneTask.done == False)).first().id  # noqa: E712


# Each kind of change a page shows, made by another connection as another process would: (page, change, what
# the page shows after it). A report's change is shown in tests/reports/test_pages.py over a real repository.
CHANGES = {
    "scan": ("/", lambda url, s: record(url, commit="c0ffee" + "e" * 34), "c0ffeeee"),
    "blocker": ("/blockers", lambda url, s: add_blocker(s, "Vault sidecar wedged", "dan"), "Vault sidecar wedged"),
    "backlog": ("/backlog", lambda url, s: create_backlog_item(s, "Testing Improvements", "Chaos day", "dan"), "Chaos day"),
    "milestone": ("/milestones", lambda url, s: set_task_done(s, _task(s), True, "dan"), None),
    "pin": ("/document", lambda url, s: pin_entry(s, _entry(s), "kept ticked by hand", "dan"), "kept ticked by hand"),
    "import": ("/document", lambda url, s: import_document(s, DEMO_DOCUMENT.read_bytes() + b"\n- Tea with the auditors\n", who="dan"),
               "Tea with the auditors"),
}  # fmt: skip


@pytest.mark.parametrize("kind", CHANGES)
def test_every_kind_of_change_shows_on_the_next_get(db_url, anonymous, kind: str) -> None:
    path, change, shown = CHANGES[kind]
    before = anonymous.get(path)
    assert anonymous.get(path).text == before.text  # served from memory now
    with session_scope(db_url) as session:
        change(db_url, session)
    after = anonymous.get(path)
    assert after.status_code == 200 and after.text != before.text
    assert after.headers["etag"] != before.headers["etag"]
    assert anonymous.get(path, headers={"If-None-Match": before.headers["etag"]}).status_code == 200
    if shown:
        assert shown in after.text and shown not in before.text
