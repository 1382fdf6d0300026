"""The command line starts at once: nothing heavy is imported before a command needs it,
and a database already at head is checked with one query, without Alembic."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from app.repobuilder.gitops import build_seed_repo
from app.store.db import alembic_config, get_engine, head_revision, migrate, session_scope
from app.store.scans import latest_scan, scan_modules
from tests.serve import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "fastapi", "starlette", "git", "pydantic_settings", "app.store")


def loaded_after(code: str) -> list[str]:
    """The heavy packages a fresh interpreter holds after running ``code``."""
    probe = (
        "import atexit, sys\n"
        f"heavy = {HEAVY!r}\n"
        "atexit.register(lambda: print(sorted({m for m in sys.modules for h in heavy "
        "if m == h or m.startswith(h + '.')}), file=sys.stderr))\n"
        f"{code}\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    return eval(done.stderr.strip().splitlines()[-1])  # noqa: S307  (our own probe's list)


def test_importing_the_command_line_loads_no_database_web_or_git_library() -> None:
    assert loaded_after("import app.cli") == []


def test_sawmill_help_loads_no_database_web_or_git_library() -> None:
    code = "sys.argv = ['sawmill', '--help']\nfrom app.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass"
    assert loaded_after(code) == []


def test_the_head_read_from_file_names_is_alembics_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert script.get_heads() == [head_revision()]


def stored_versions(url: str) -> set[str]:
    with get_engine(url).connect() as connection:
        return set(connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_a_database_at_head_is_not_handed_to_alembic(db_url: str) -> None:
    assert stored_versions(db_url) == {head_revision()}
    assert "alembic" not in loaded_after(f"from app.store.db import migrate\nmigrate({db_url!r})")


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_a_database_behind_head_is_upgraded(db_url: str) -> None:
    command.downgrade(alembic_config(db_url), "-1")
    assert stored_versions(db_url) != {head_revision()}
    migrate(db_url)
    assert stored_versions(db_url) == {head_revision()}


def test_a_new_sqlite_file_is_created_and_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new folder' / 'sawmill.db'}"
    migrate(url)
    assert stored_versions(url) == {head_revision()}
    get_engine(url).dispose()


# -- the collector: paused for a command, running for a server ------------------


def test_a_command_runs_without_the_collector_and_leaves_its_objects_frozen(tmp_path: Path, own_data_dir: Path) -> None:
    repo = build_seed_repo(tmp_path / "platform")
    probe = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('collector', gc.isenabled(), 'frozen', gc.get_freeze_count() > 0, file=sys.stderr))\n"
        f"sys.argv = ['sawmill', 'scan', {str(repo)!r}]\n"
        "from app.cli import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "2 of 18 modules migrated (11%)"  # the whole table came out
    assert done.stderr.splitlines()[-1] == "collector False frozen True"
    # its connections closed as it ended, not left to the frozen garbage: SQLite folded its write-ahead
    # log into the file, so the file alone (a backup, a CI cache) holds the whole scan
    assert not (own_data_dir / "sawmill.db-wal").exists()
    copy = tmp_path / "copy" / "sawmill.db"
    copy.parent.mkdir()
    shutil.copyfile(own_data_dir / "sawmill.db", copy)
    with session_scope(f"sqlite:///{copy}") as session:
        assert len(scan_modules(session, latest_scan(session).id)) == 20


def test_a_server_runs_with_the_collector(tmp_path: Path) -> None:
    port = free_port()
    probe = (
        "import gc, sys, threading, time\n"
        "def watch():\n"  # the command pauses the collector first, and serve starts it again
        "    paused = False\n"
        "    while not (paused and gc.isenabled()):\n"
        "        paused = paused or not gc.isenabled()\n"
        "        time.sleep(0.005)\n"
        "    print('collector running', flush=True)\n"
        "threading.Thread(target=watch, daemon=True).start()\n"
        f"sys.argv = ['sawmill', 'serve', '--port', '{port}']\n"
        "from app.cli import main\n"
        "main()\n"
    )
    env = {**os.environ, "SAWMILL_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}", "SAWMILL_FETCH_INTERVAL": "0"}
    server = subprocess.Popen([sys.executable, "-c", probe], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/api/ping"), "the server to answer", 60)
        server.terminate()
        out, _ = server.communicate(timeout=30)
        assert "collector running" in out
        assert not (tmp_path / "serve.db-wal").exists()  # its connections closed as it stopped
    finally:
        server.kill()
        server.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False
