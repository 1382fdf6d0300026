"""The audit log page: who changed what, filtered by target and person, a page at a time."""

from __future__ import annotations

import re
import warnings

from app.config import Settings
from app.store.backlog import create_backlog_item, move_backlog_item
from app.store.blockers import add_blocker
from app.store.db import session_scope
from app.web.log import PAGE_SIZE
from app.web.main import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-target="([^"]+)">', html)


def changes(db_url: str) -> tuple[int, int]:
    """Blockers by alice, backlog items by bob (more than a page of them); their ids."""
    with session_scope(db_url) as session:
        blocker = add_blocker(session, "Registry quota", "alice", ["ask for more"])
        items = [create_backlog_item(session, "CI", f"item {n}", "bob") for n in range(PAGE_SIZE + 5)]
        session.flush()
        move_backlog_item(session, items[0].id, "alice", status="doing")
        return blocker.id, items[0].id


def test_the_log_lists_changes_newest_first_a_page_at_a_time(client, db_url: str) -> None:
    blocker, item = changes(db_url)
    first = client.get("/log")
    assert first.status_code == 200
    assert '<a href="/log" aria-current="page">Log</a>' in first.text  # in the nav
    assert rows(first.text)[0] == f"backlog:{item}"  # the move, newest
    assert len(rows(first.text)) == PAGE_SIZE
    total = PAGE_SIZE + 5 + 3  # the import, the blocker, the items, the move
    assert f"1–{PAGE_SIZE} of {total} changes" in first.text
    assert 'href="/log?page=2" rel="next"' in first.text and 'rel="prev"' not in first.text
    second = client.get("/log?page=2")
    assert rows(second.text)[-1] == "document"  # the import, oldest
    assert len(rows(second.text)) == total - PAGE_SIZE and 'href="/log" rel="prev"' in second.text
    assert "status: &#34;todo&#34; -&gt; &#34;doing&#34;" in first.text  # what changed, before and after
    beyond = client.get("/log?page=99999")  # past the end: the last page, as on the backlog
    assert beyond.status_code == 200 and rows(beyond.text) == rows(second.text)
    assert "Page 2 of 2" in beyond.text and "Page 99999" not in beyond.text


def test_filter_by_target_kind_row_and_person(client, db_url: str) -> None:
    blocker, item = changes(db_url)
    assert rows(client.get("/log", params={"target": "blocker"}).text) == [f"blocker:{blocker}"]
    one = client.get("/log", params={"target": f"backlog:{item}"}).text
    assert rows(one) == [f"backlog:{item}", f"backlog:{item}"]
    assert "2 changes to <code>backlog:" in one
    by_alice = client.get("/log", params={"who": "alice"}).text
    assert rows(by_alice) == [f"backlog:{item}", f"blocker:{blocker}"]
    assert '<option value="alice" selected>alice</option>' in by_alice
    both = client.get("/log", params={"who": "alice", "target": "backlog"}).text
    assert rows(both) == [f"backlog:{item}"]
    nobody = client.get("/log", params={"who": "mallory"})
    assert nobody.status_code == 200 and "No changes recorded" in nobody.text and "mallory" in nobody.text
    # each row links to its target's and its person's own log
    assert f'<a href="/log?target=blocker%3A{blocker}">blocker:{blocker}</a>' in by_alice
    assert '<a href="/log?who=alice">alice</a>' in by_alice


def test_a_bad_page_number_is_a_clear_error(client) -> None:
    response = client.get("/log?page=0")
    assert response.status_code == 422 and "<html" in response.text and "Traceback" not in response.text


def test_behind_sign_in_the_log_is_for_signed_in_readers(db_url: str, bearer) -> None:
    changes(db_url)
    app = TestClient(create_app(Settings(database_url=db_url, read_requires_signin=True)), follow_redirects=False)
    anonymous = app.get("/log?who=alice")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin?next=/log")
    assert rows(app.get("/log", headers=bearer).text)
