"""``sawmill scan``: the table, JSON, --fail-under, stored results, and errors as one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import SEED_TAG_BEFORE_POC, build_seed_repo
from app.store.db import session_scope
from app.store.scans import latest_scan, scan_modules

SAWMILL = Path(sys.executable).parent / "sawmill"


@pytest.fixture(scope="module")
def seed_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_seed_repo(tmp_path_factory.mktemp("seed") / "platform")


@pytest.fixture
def run(db_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SAWMILL_DATABASE_URL", db_url)
    monkeypatch.delenv("SAWMILL_REPO", raising=False)
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(cli, ["scan", *map(str, args)])
    get_settings.cache_clear()


def test_table_summary_and_stored_scan(run, seed_repo: Path, db_url: str) -> None:
    result = run(seed_repo)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["MODULE", "STATUS", "COVERING", "TEST", "ASSERTIONS"]
    row = next(line for line in lines if line.startswith("kubernetes-core "))
    assert row.split() == ["kubernetes-core", "migrated", "ci/test/infra-kubernetes/chainsaw-test.yaml", "12"]
    assert "bitwarden" in result.output and "db-backups (component)" in result.output
    assert lines[-1] == "2 of 18 modules migrated (11%)"
    with session_scope(db_url) as session:
        scan = latest_scan(session)
        assert scan.repository == str(seed_repo.resolve()) and scan.ref == "HEAD"
        assert len(scan_modules(session, scan.id)) == 20


def test_the_command_writes_nothing_to_the_scanned_repository(run, tmp_path: Path) -> None:
    repo = build_seed_repo(tmp_path / "platform")
    before = {p: p.read_bytes() for p in sorted((repo / ".git").rglob("*")) if p.is_file()}
    assert run(repo).exit_code == 0
    assert run(repo, "--ref", SEED_TAG_BEFORE_POC).exit_code == 0
    assert {p: p.read_bytes() for p in sorted((repo / ".git").rglob("*")) if p.is_file()} == before


def test_json(run, seed_repo: Path) -> None:
    result = run(seed_repo, "--json", "--ref", SEED_TAG_BEFORE_POC)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # stderr may carry a progress bar
    assert data["ref"] == SEED_TAG_BEFORE_POC
    assert data["summary"]["counts"]["legacy"] == 17 and data["summary"]["percent"] == 0
    assert {m["path"] for m in data["modules"]} >= {"infrastructure/subsystems/kubernetes-core"}
    assert [c["name"] for c in data["components"]] == ["db-backups", "sso"]
    assert data["warnings"] == []


def test_fail_under(run, seed_repo: Path) -> None:
    assert run(seed_repo, "--fail-under", "11").exit_code == 0
    result = run(seed_repo, "--fail-under", "50")
    assert result.exit_code == 1
    assert "11.1% of modules migrated, below --fail-under 50" in result.output


def test_path_defaults_to_the_setting(run, seed_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAWMILL_REPO", str(seed_repo))
    get_settings.cache_clear()
    result = run()
    assert result.exit_code == 0 and result.stdout.splitlines()[-1] == "2 of 18 modules migrated (11%)"


def test_why_the_progress_document_was_not_imported_is_shown_in_the_table_and_the_json(run, tmp_path: Path) -> None:
    """The scan stores the reason (scan.warnings); the command printed the scanner's warnings only."""
    seed = (Path(__file__).resolve().parents[1] / "app" / "demo" / "progress.md").read_text()
    tabbed = seed.replace("\n  - [ ] storage-core module\n", "\n\t- [ ] storage-core module\n")
    assert tabbed != seed
    line = tabbed.splitlines().index("\t- [ ] storage-core module") + 1
    with RepoBuilder(tmp_path / "platform") as builder:
        builder.write("memory-bank/progress.md", tabbed)
        builder.write("sawmill.yaml", "progress_document: memory-bank/progress.md\n")
        builder.commit("docs: progress")
    reason = (
        f"not imported: memory-bank/progress.md: line {line}: a sub-point indented with a tab;"
        " sub-points of the line above are '- ' lines indented exactly 2 spaces"
    )
    as_json = run(tmp_path / "platform", "--json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["warnings"] == [{"path": "progress_document", "reason": reason}]
    text = run(tmp_path / "platform")  # the store has no document yet: the scan tries again, and says why again
    assert text.exit_code == 0, text.output
    assert text.stderr.splitlines() == [f"warning: progress document {reason}"]
    assert text.stdout.splitlines()[-2] == "1 warning(s); --json lists them"


def test_bad_config_is_one_line(run, seed_repo: Path, tmp_path: Path) -> None:
    bad = tmp_path / "sawmill.yaml"
    bad.write_text("modules: {roots: 3}\n")
    result = run(seed_repo, "--config", bad)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {bad}: modules.roots must be a list of path globs"


def test_a_repository_without_modules_says_where_to_look(run, tmp_path: Path) -> None:
    with RepoBuilder(tmp_path / "plain") as builder:
        builder.write("README.md", "# nothing to see\n")
        builder.commit("init")
    result = run(tmp_path / "plain")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-2:] == [
        "no modules found: set modules.roots or modules.marker in sawmill.yaml (see docs/scanner.md)",
        "0 of 0 modules migrated (0%)",
    ]


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ({"SAWMILL_FETCH_INTERVAL": "abc"}, "SAWMILL_FETCH_INTERVAL must be a valid integer"),
        (
            {"SAWMILL_STALE_BRANCH_DAYS": "-1", "SAWMILL_WORKER": "maybe"},
            "SAWMILL_WORKER must be a valid boolean; SAWMILL_STALE_BRANCH_DAYS must be 0 or more",
        ),
        ({"SAWMILL_TRUSTED_PROXIES": "here"}, "SAWMILL_TRUSTED_PROXIES: 'here' is not an address or network"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_the_variable(
    run, seed_repo: Path, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], says: str
) -> None:
    """It was pydantic's four-line dump, which names the field (fetch_interval), not the variable."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    result = run(seed_repo)
    assert (result.exit_code, result.stderr, result.stdout) == (1, f"error: {says}\n", "")


def test_a_corrupt_database_is_one_line(seed_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It printed SQLAlchemy's wrapping: the SQL statement and a link to sqlalche.me."""
    garbage = tmp_path / "sawmill.db"
    garbage.write_bytes(b"not a database at all, " * 200)
    monkeypatch.setenv("SAWMILL_DATABASE_URL", f"sqlite:///{garbage}")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["scan", str(seed_repo)])
    get_settings.cache_clear()
    assert (result.exit_code, result.stderr) == (1, f"error: cannot open the database {garbage}: file is not a database\n")


@pytest.mark.parametrize("case", ["not-a-repo", "bad-ref"])
def test_errors_from_the_real_command_are_one_line_without_traceback(case: str, seed_repo: Path, tmp_path: Path) -> None:
    args = [str(tmp_path), "--json"] if case == "not-a-repo" else [str(seed_repo), "--ref", "nope"]
    env = {**os.environ, "SAWMILL_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    proc = subprocess.run([str(SAWMILL), "scan", *args], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1
    expected = f"{tmp_path} is not a git repository" if case == "not-a-repo" else f"unknown ref 'nope' in {seed_repo}"
    assert proc.stderr.splitlines() == [f"error: {expected}"]
    assert proc.stdout == ""


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="Linux only")
def test_a_config_from_dev_zero_is_refused_at_once(seed_repo: Path, tmp_path: Path) -> None:
    """It was read until the kernel killed the process: under a cap on memory a regression fails here."""
    import resource

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    env = {**os.environ, "SAWMILL_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    proc = subprocess.run(
        [str(SAWMILL), "scan", str(seed_repo), "--config", "/dev/zero"],
        capture_output=True, text=True, env=env, timeout=60, preexec_fn=cap,
    )  # fmt: skip
    assert (proc.returncode, proc.stderr) == (1, "error: /dev/zero: file over 1 MiB, not read\n")


def test_scan_and_history_of_a_bare_repository_without_a_config_file(run, seed_repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "raw.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed_repo), str(bare)], check=True)
    (bare / "config").unlink()  # git still reads it as a bare repository
    result = run(bare)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "2 of 18 modules migrated (11%)"
    history = CliRunner().invoke(cli, ["history", str(bare), "--json"])
    assert history.exit_code == 0, history.output
    assert json.loads(history.stdout)["events"]
