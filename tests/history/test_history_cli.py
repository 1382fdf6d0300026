"""`sawmill history` and `sawmill scan --fail-on-regression`, in process."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.cli_history import ProgressBar
from app.config import get_settings
from app.repobuilder.gitops import GitOps
from tests.history.conftest import A_CORE, B_CORE, base
from tests.scanner.conftest import drop_blob


@pytest.fixture
def run(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    monkeypatch.setenv("SAWMILL_DATABASE_URL", db_url)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(cli, [str(a) for a in args])
    get_settings.cache_clear()


def test_history_prints_the_timeline_and_json(gitops: GitOps, days, run) -> None:
    base(gitops, days())
    migration = gitops.migrate_suite("infra-b", pr=1010, date=days())
    gitops.builder.flush()
    path = gitops.builder.path

    text = run("history", path)
    assert text.exit_code == 0, text.output
    assert f"{migration.sha[:8]}  {B_CORE}  legacy -> migrated  (#1010)" in text.output

    data = run("history", path, "--json", "--module", B_CORE)
    assert data.exit_code == 0
    assert [(e["module"], e["from"], e["to"], e["commit"], e["pr"]) for e in json.loads(data.output)["events"]] == [
        (B_CORE, None, "legacy", gitops.builder.repo.git.rev_parse("HEAD~1"), None),
        (B_CORE, "legacy", "migrated", migration.sha, 1010),
    ]
    completed = run("history", path, "--json", "--module", f"./{B_CORE}/")  # as a shell completes a folder
    assert json.loads(completed.output)["events"] == json.loads(data.output)["events"]
    first = json.loads(data.output)["events"][1]
    assert {"module", "from", "to", "commit", "date", "author", "subject", "pr"} <= set(first)  # the names
    assert (first["author"], first["subject"], first["date"][:10]) == (
        "Sam Sawyer", "refactor: migrate tests for infra-b-core to chainsaw (#1010)", migration.date.strftime("%Y-%m-%d")
    )  # fmt: skip


def test_history_of_what_is_not_a_repository_is_one_line(tmp_path: Path, run) -> None:
    result = run("history", tmp_path)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"error: {tmp_path} is not a git repository"]


def test_history_passes_over_a_missing_blob_it_never_reads_and_names_one_it_needs(gitops: GitOps, days, run) -> None:
    from app.scanner.parse import SHARED

    base(gitops, days())
    gitops.builder.write(f"{A_CORE}/NOTES.md", "why a-core is odd\n")
    gitops.migrate_suite("infra-b", pr=7, date=days())
    gitops.builder.flush()
    path = gitops.builder.path
    drop_blob(path, f"{A_CORE}/NOTES.md")
    SHARED.clear()  # blobs parsed by other tests in this process are not read again
    result = run("history", path)
    assert result.exit_code == 0, result.output
    assert f"{B_CORE}  legacy -> migrated  (#7)" in result.output

    drop_blob(path, "ci/test/infra-b/chainsaw-test.yaml")
    SHARED.clear()
    result = run("history", path, "--rebuild")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: the repository is corrupt: the object of ci/test/infra-b/chainsaw-test.yaml is missing"
    ]


def test_history_where_head_names_no_branch_is_the_scan_s_error_and_an_empty_repository_is_not(
    gitops: GitOps, days, run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bare clone whose HEAD names refs/heads/master, where the branch is main: the history
    said "no module has changed status yet" and exit 0, while the scan said why it could not."""
    import subprocess

    base(gitops, days())
    gitops.builder.flush()
    bare = tmp_path / "x.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(gitops.builder.path), str(bare)], check=True)
    subprocess.run(["git", "-C", str(bare), "symbolic-ref", "HEAD", "refs/heads/master"], check=True)
    for command in ("scan", "history"):
        result = run(command, bare)
        assert (result.exit_code, result.output) == (1, (
            f"error: unknown ref 'HEAD' in {bare}: it names branch 'master', which the repository does not hold "
            "(name the default branch with SAWMILL_BRANCH, or scan one with --ref)\n"
        )), command
    monkeypatch.setenv("SAWMILL_BRANCH", "main")  # what the message says works
    get_settings.cache_clear()
    told = run("history", bare)
    assert told.exit_code == 0, told.output

    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "empty.git")], check=True)
    result = run("history", tmp_path / "empty.git")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "no module has changed status yet"


def test_scan_fails_on_a_standing_regression(gitops: GitOps, days, run) -> None:
    base(gitops, days())
    gitops.migrate_suite("infra-b", pr=7, date=days())
    gitops.builder.flush()
    path = gitops.builder.path
    assert run("scan", path, "--fail-on-regression").exit_code == 0

    gitops.builder.delete("ci/test/infra-b/chainsaw-test.yaml")
    broke = gitops.commit("chore: drop the b test", date=days())
    gitops.builder.flush()
    result = run("scan", path, "--fail-on-regression")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"error: 1 module regressed: {B_CORE} (migrated -> untested, {broke.sha[:8]})"
    )
    assert run("scan", path).exit_code == 0  # without the flag a regression is reported, not fatal


def test_the_progress_bar_waits_a_second_then_draws_on_its_stream() -> None:
    quiet, loud = io.StringIO(), io.StringIO()
    slow = ProgressBar(stream=quiet)
    slow(0.5)
    slow.close()
    assert quiet.getvalue() == ""
    bar = ProgressBar(stream=loud, delay=0, tty=True)
    bar(0.5)
    bar(0.5)
    bar(1.0)
    bar.close()
    assert loud.getvalue() == "\rhistory [###############...............]  50%\rhistory [##############################] 100%\n"


def test_the_progress_bar_in_a_log_writes_a_first_and_a_last_line_not_one_per_percent(tmp_path: Path) -> None:
    """Where stderr is not a terminal (a CI log) each \\r update was a line: about a hundred."""
    with (tmp_path / "ci.log").open("w") as log:
        bar = ProgressBar(stream=log, delay=0)  # a file: asked, it says it is no terminal
        for step in range(1, 201):
            bar(step / 200)
        bar.close()
    assert (tmp_path / "ci.log").read_text() == "history 0%\nhistory 100%\n"
    every = io.StringIO()
    bar = ProgressBar(stream=every, delay=0, every=0)  # a line each time the percentage moves, if asked to
    for fraction in (0.1, 0.1, 0.5):
        bar(fraction)
    bar.close()
    assert every.getvalue() == "history 10%\nhistory 50%\n"


def test_scan_says_when_history_was_rewritten(gitops: GitOps, days, run) -> None:
    base(gitops, days())
    kept = gitops.migrate_suite("infra-a", pr=1, date=days())
    dropped = gitops.migrate_suite("infra-b", pr=2, date=days())
    gitops.builder.flush()
    path = gitops.builder.path
    assert run("scan", path).exit_code == 0
    gitops.builder.branch("main", kept)
    gitops.migrate_suite("apps-media", pr=3, date=days())
    gitops.builder.flush()

    result = run("scan", path)
    assert result.exit_code == 0
    assert f"history was rewritten: {dropped.sha[:8]} is no longer on main; recomputed from {kept.sha[:8]}" in result.output
    assert "history was rewritten" not in run("scan", path).output  # said once, when it happened


def test_history_of_a_folder_that_does_not_exist_is_one_line(tmp_path: Path, run) -> None:
    result = run("history", tmp_path / "nowhere")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"error: {tmp_path / 'nowhere'} does not exist"]
