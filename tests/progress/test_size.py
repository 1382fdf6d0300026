"""A progress document is never read past its limit: not from a file, a device, a pipe or git."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.progress.document import MAX_BYTES
from app.repobuilder import RepoBuilder
from app.services import progress_document_at, scan_and_store
from tests.progress.conftest import SEED
from tests.scanner.conftest import MiB, add_big_blob, within

APP = Path(__file__).resolve().parents[2]
OVER = "the document is over 5 MiB; the limit is 5,242,880 bytes"


def sawmill(db_url: str, *args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"SAWMILL_DATABASE_URL": db_url})


def test_a_file_over_the_limit_is_one_error_line(db_url: str, tmp_path: Path) -> None:
    doc = tmp_path / "big.md"
    doc.write_bytes(SEED.read_bytes() + b"\n" + b"- [ ] filler\n" * (MAX_BYTES // 12))
    result = sawmill(db_url, "import", doc)
    assert result.exit_code == 1
    assert result.stderr == f"error: {doc}: {OVER}\n"


def test_a_fifo_without_a_writer_does_not_hang(db_url: str, tmp_path: Path) -> None:
    fifo = tmp_path / "doc.fifo"
    os.mkfifo(fifo)
    with within(5):
        result = sawmill(db_url, "import", fifo)
    assert result.exit_code == 1
    assert result.stderr == f"error: {fifo}: the document is empty\n"


def test_a_pipe_with_a_writer_is_read(db_url: str) -> None:
    """``cat doc.md | sawmill import /dev/stdin`` still works: only a pipe nobody writes to reads as empty."""
    read, write = os.pipe()
    os.write(write, SEED.read_bytes())
    os.close(write)
    try:
        with within(5):
            result = sawmill(db_url, "import", f"/dev/fd/{read}")
    finally:
        os.close(read)
    assert result.exit_code == 0, result.output


IMPORT = textwrap.dedent(
    """
    import atexit, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # a regression fails here, not in the machine's memory
    def peak():  # VmHWM is this process's own: ru_maxrss also holds the parent's, from before exec
        return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024
    before = peak()
    atexit.register(lambda: print(f"growth {peak() - before}", file=sys.stderr))
    from app.cli import cli
    cli(["import", "/dev/zero"])
    """
)


@pytest.mark.skipif(not Path("/dev/zero").exists() or not Path("/proc/self/status").exists(), reason="Linux only")
def test_dev_zero_is_refused_at_the_limit(db_url: str) -> None:
    """It was killed by the kernel at 21 GB."""
    env = {**os.environ, "SAWMILL_DATABASE_URL": db_url}
    with within(30):
        done = subprocess.run([sys.executable, "-c", IMPORT], cwd=APP, env=env, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    error, growth = done.stderr.splitlines()
    assert error == f"error: /dev/zero: {OVER}"
    assert int(growth.split()[1]) < 100 * MiB


def doc_repo(path: Path, size: int) -> Path:
    with RepoBuilder(path) as builder:
        builder.write("sawmill.yaml", "progress_document: docs/progress.md\n").commit("init")
    add_big_blob(path, "docs/progress.md", size, keep=True)
    return path


def test_a_document_in_git_over_the_limit_is_read_no_further(tmp_path: Path, db_url: str) -> None:
    repo = doc_repo(tmp_path / "big", 64 * MiB)
    data, path = progress_document_at(repo, "HEAD")
    assert (len(data or b""), path) == (MAX_BYTES + 1, "docs/progress.md")  # enough to refuse it, no more
    stored, _ = scan_and_store(db_url, repo)
    assert {"path": "progress_document", "reason": f"not imported: docs/progress.md: {OVER}"} in stored.warnings


READ_AT = textwrap.dedent(
    """
    import json, sys
    from app.services import progress_document_at
    def peak():
        return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024
    before = peak()
    data, path = progress_document_at(sys.argv[1], "HEAD")
    print(json.dumps({"growth": peak() - before, "read": len(data)}))
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak memory from /proc")
def test_a_300_mb_document_in_git_costs_no_memory(tmp_path: Path) -> None:
    """It took the import to 376 MB."""
    repo = doc_repo(tmp_path / "huge", 300 * MiB)
    with within(60):
        done = subprocess.run([sys.executable, "-c", READ_AT, str(repo)], cwd=APP, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["read"] == MAX_BYTES + 1
    assert report["growth"] < 100 * MiB, report
