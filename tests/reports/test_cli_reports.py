"""``sawmill report FILE`` and ``sawmill scan --require-passing``, run in process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from app.store.db import session_scope
from app.store.reports import Report
from tests.scanner.conftest import within

from .conftest import CORE, EXTRA, NETWORKING, STORAGE, STORAGE_CORE
from .samples import WRITERS, failing, passing

SAWMILL = Path(sys.executable).parent / "sawmill"


@pytest.fixture
def sawmill(db_url: str, platform, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SAWMILL_DATABASE_URL", db_url)
    monkeypatch.setenv("SAWMILL_REPO", str(platform.path))
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(cli, [str(a) for a in args])
    get_settings.cache_clear()


def write(tmp_path: Path, kind: str, cases, name: str = "report") -> Path:
    path = tmp_path / f"{name}.{'json' if kind == 'JSON' else 'xml'}"
    path.write_bytes(WRITERS[kind](cases))
    return path


def test_a_report_is_stored_once(sawmill, platform, tmp_path: Path) -> None:
    file = write(tmp_path, "JUNIT-STEP", [failing(NETWORKING, "infra-networking", "not ready"), passing(STORAGE, "infra-storage")])
    first = sawmill("report", file, "--commit", platform.first, "--branch", "main", "--run-url", "https://ci.example/1")
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == f"stored report #1 (JUNIT-STEP) of {platform.first[:12]}: 2 tests: 1 passed, 1 failed, 0 skipped"
    again = sawmill("report", file, "--commit", platform.first)
    assert again.exit_code == 0 and again.stdout.startswith("already stored as report #1")
    unknown = sawmill("report", file, "--commit", "deadbeef")  # the commit is checked first, known bytes or not
    assert unknown.exit_code != 0 and "unknown commit deadbeef" in unknown.output
    other = sawmill("report", file, "--commit", platform.second)
    assert other.exit_code != 0
    assert f"already stored as report #1, for commit {platform.first[:12]}" in other.output


def test_without_a_commit_the_repository_head_is_taken_and_waits_for_its_scan(sawmill, platform, tmp_path: Path) -> None:
    result = sawmill("report", write(tmp_path, "JSON", [passing(NETWORKING, "infra-networking")]))
    assert result.exit_code == 0, result.output
    assert f"waiting for a scan of {platform.second[:12]}" in result.stdout


@pytest.mark.parametrize(
    ("content", "says"),
    [(b"<testsuites>", "malformed XML"), (b"not a report", "neither JSON nor XML"), (None, "cannot read")],
)
def test_a_bad_file_is_one_line_not_a_traceback(sawmill, platform, tmp_path: Path, content, says) -> None:
    file = tmp_path / "report.xml"
    if content is not None:
        file.write_bytes(content)
    result = sawmill("report", file, "--commit", platform.first)
    assert result.exit_code == 1 and says in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_report_that_is_not_a_file_is_read_as_far_as_its_limit(sawmill, platform, tmp_path: Path) -> None:
    """A FIFO nobody writes to waited for ever; /dev/zero filled memory (its size is 0 to stat)."""
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    with within(5):
        result = sawmill("report", fifo, "--commit", platform.first)
    assert (result.exit_code, result.stderr) == (1, f"error: {fifo}: the report is empty\n")
    result = sawmill("report", tmp_path, "--commit", platform.first)
    assert (result.exit_code, result.stderr) == (1, f"error: cannot read {tmp_path}: Is a directory\n")


def test_a_report_can_come_through_a_pipe(db_url: str, platform) -> None:
    env = {**os.environ, "SAWMILL_DATABASE_URL": db_url, "SAWMILL_REPO": str(platform.path)}
    proc = subprocess.run(
        [str(SAWMILL), "report", "/dev/stdin", "--commit", platform.first],
        input=WRITERS["JSON"]([passing(NETWORKING, "infra-networking")]), capture_output=True, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().startswith("stored report #1 (JSON)")


def test_a_branch_and_suite_not_in_utf8_are_stored_with_what_they_cannot_hold_replaced(db_url: str, platform) -> None:
    """Arguments that are not UTF-8 reach Python as lone surrogates, which no database stores."""
    env = {**os.environ, "SAWMILL_DATABASE_URL": db_url, "SAWMILL_REPO": str(platform.path)}
    proc = subprocess.run(
        [str(SAWMILL), "report", "/dev/stdin", "--commit", platform.first, "--branch", b"caf\xe9", "--suite", b"ci/\xff"],
        input=WRITERS["JSON"]([passing(NETWORKING, "infra-networking")]), capture_output=True, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with session_scope(db_url, platform.key) as session:
        report = session.exec(select(Report)).one()
        assert (report.branch, report.suite) == ("caf\ufffd", "ci/\ufffd")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="Linux only")
def test_a_report_from_dev_zero_is_refused_at_once(db_url: str, platform, tmp_path: Path) -> None:
    """Under a cap on memory it ended in ``error: `` and no more (an empty MemoryError)."""
    import resource

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    env = {**os.environ, "SAWMILL_DATABASE_URL": db_url, "SAWMILL_REPO": str(platform.path)}
    proc = subprocess.run(
        [str(SAWMILL), "report", "/dev/zero", "--commit", platform.first],
        capture_output=True, text=True, env=env, timeout=60, preexec_fn=cap,
    )  # fmt: skip
    assert (proc.returncode, proc.stderr) == (1, "error: /dev/zero is more than the 10 MiB a report may be\n")


def test_an_unknown_commit_is_refused(sawmill, tmp_path: Path) -> None:
    result = sawmill("report", write(tmp_path, "JSON", [passing(NETWORKING, "x")]), "--commit", "0" * 40)
    assert result.exit_code == 1 and "unknown commit" in result.stderr


def test_require_passing_gates_on_the_last_runs(sawmill, platform, tmp_path: Path) -> None:
    scan = ("scan", platform.path, "--ref", platform.first, "--require-passing")
    never = sawmill(*scan)
    assert never.exit_code == 1
    assert never.stderr.strip() == (
        f"error: 3 migrated modules not passing in CI: {CORE} (never ran), {EXTRA} (never ran), {STORAGE_CORE} (never ran)"
    )
    green = [passing(NETWORKING, "infra-networking"), passing(STORAGE, "infra-storage")]
    assert sawmill("report", write(tmp_path, "JSON", green), "--commit", platform.first).exit_code == 0
    assert sawmill(*scan).exit_code == 0
    assert sawmill("scan", platform.path, "--ref", platform.first).exit_code == 0  # without the flag: no gate

    red = [passing(NETWORKING, "infra-networking"), failing(STORAGE, "infra-storage", "timed out")]
    assert sawmill("report", write(tmp_path, "JUNIT-TEST", red, "red"), "--commit", platform.first).exit_code == 0
    failed = sawmill(*scan)
    assert failed.exit_code == 1 and failed.stderr.strip() == f"error: 1 migrated module not passing in CI: {STORAGE_CORE} (failed)"
    under = sawmill(*scan, "--fail-under", 50)  # 2 of 4 modules migrated and passing
    assert under.exit_code == 1 and "50.0% of modules migrated and passing" not in under.stderr
    assert "not passing in CI" in under.stderr
    below = sawmill(*scan, "--fail-under", 60)
    assert below.exit_code == 1 and "50.0% of modules migrated and passing, below --fail-under 60" in below.stderr


def test_tests_that_cover_no_module_are_named(sawmill, platform, tmp_path: Path) -> None:
    file = write(tmp_path, "JSON", [passing(NETWORKING, "infra-networking"), passing("ci/test/apps-media", "apps-media")])
    result = sawmill("report", file, "--commit", platform.first)
    assert result.exit_code == 0
    assert result.stdout.strip().endswith("; 1 unmatched (no module's chainsaw test): apps-media (ci/test/apps-media)")
