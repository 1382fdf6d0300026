"""`sawmill demo` and `sawmill serve`: the commands behind `make run`."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import git
from typer.testing import CliRunner

from app.cli import cli
from app.store import progress_read
from app.store.blockers import resolve_blocker
from app.store.db import session_scope
from app.store.scans import latest_scan, scan_modules

runner = CliRunner()


def test_demo_builds_a_repository_with_months_of_history_imports_and_scans(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "demo"
    result = runner.invoke(cli, ["demo", str(path)], env={"SAWMILL_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert "10 of 20 modules migrated (50%)" in result.output

    repo = git.Repo(path)
    commits = list(repo.iter_commits("HEAD"))
    span = commits[0].committed_datetime - commits[-1].committed_datetime
    assert span > timedelta(days=120)  # several months of history
    assert commits[0].committed_datetime < datetime.now(UTC)
    assert any("(#1010)" in c.summary for c in commits)
    head = repo.head.commit.tree
    assert "progress_document: memory-bank/progress.md" in head["sawmill.yaml"].data_stream.read().decode()
    assert head["memory-bank/progress.md"].data_stream.read().startswith(b"# Progress Tracking")

    with session_scope(db_url) as session:
        statuses = {m.status for m in scan_modules(session, latest_scan(session).id)}
        assert statuses == {"untested", "legacy", "in_progress", "migrated"}  # every column has a card
        in_flight = {m.path: m.branch for m in scan_modules(session, latest_scan(session).id) if m.branch}
        assert in_flight == {
            "infrastructure/subsystems/clusterops-core": "chainsaw/infra-clusterops",
            "infrastructure/subsystems/clusterops-extra": "chainsaw/infra-clusterops",
        }
        assert progress_read.blockers(session)["open"]

    with session_scope(db_url) as session:
        blocker = progress_read.blockers(session)["open"][0]
        resolve_blocker(session, blocker["id"], blocker["version"], "solved on the board", "alice")
    again = runner.invoke(cli, ["demo", str(path)], env={"SAWMILL_DATABASE_URL": db_url})
    assert again.exit_code == 0  # a second `make run` reuses the repository...
    assert len(list(git.Repo(path).iter_commits("HEAD"))) == len(commits)
    with session_scope(db_url) as session:  # ...and keeps what people changed on the board
        assert blocker["title"] in [b["title"] for b in progress_read.blockers(session)["resolved"]]


def test_demo_refuses_a_folder_that_is_not_a_repository(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "notes.txt").write_text("mine\n")
    result = runner.invoke(cli, ["demo", str(tmp_path / "stuff")], env={"SAWMILL_DATABASE_URL": db_url})
    assert result.exit_code == 1
    assert result.output.strip().startswith("error:") and "not a git repository" in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_bad_options_in_one_line(tmp_path: Path, db_url: str) -> None:
    env = {"SAWMILL_DATABASE_URL": db_url}
    missing = runner.invoke(cli, ["serve", "--repo", str(tmp_path / "nope")], env=env)
    assert missing.exit_code == 1 and missing.output.strip() == f"error: no repository at {tmp_path / 'nope'}"
    port = runner.invoke(cli, ["serve", "--port", "70000"], env=env)
    assert port.exit_code == 1 and port.output.strip() == "error: SAWMILL_PORT must be between 1 and 65535"


def test_serve_on_a_busy_port_says_so_in_one_line(db_url: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(cli, ["serve", "--port", str(port)], env={"SAWMILL_DATABASE_URL": db_url})
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: port {port} on 127.0.0.1 is already in use: stop what runs there or pick another with --port (make run PORT=...)"
    )
    unknown = runner.invoke(cli, ["serve", "--host", "no-such-host.invalid"], env={"SAWMILL_DATABASE_URL": db_url})
    assert unknown.exit_code == 1 and unknown.output.strip() == "error: cannot listen on no-such-host.invalid: no such address"


def test_demo_into_a_file_says_so_in_one_line(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    env = {"SAWMILL_DATABASE_URL": db_url}
    file = runner.invoke(cli, ["demo", str(tmp_path / "notes.txt")], env=env)
    assert file.exit_code == 1
    assert file.output.strip() == f"error: {tmp_path / 'notes.txt'} is a file, not a folder; give the demo an empty or new folder"
    under = runner.invoke(cli, ["demo", str(tmp_path / "notes.txt" / "demo")], env=env)
    assert under.exit_code == 1 and under.output.startswith("error: cannot create the demo folder ")
    assert under.output.count("\n") == 1 and (tmp_path / "notes.txt").read_text() == "mine\n"
