"""What a server's job does with a damaged or moving repository, run in process by the real worker."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from sqlmodel import select

from app.config import Settings
from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import GitOps, seed_history
from app.services.jobs import request_sync
from app.services.mirror import mirror_path
from app.services.worker import Worker
from app.store.db import session_scope
from app.store.jobs import Job
from app.store.scans import Scan
from tests.gitserver import git_server  # noqa: F401  (fixture)
from tests.services.test_live import platform  # noqa: F401  (fixture: the seed repository served over HTTP)

SUITE_FILE = "ci/test/infra-storage/kustomization.yaml"


def git(repo: Path, *args: str, **kw) -> str:
    return subprocess.run(["git", f"--git-dir={repo}", *args], capture_output=True, text=True, check=True, **kw).stdout.strip()


def run_job(settings: Settings) -> Job:
    """Queue a sync as a push would, and have a worker run it; the job as it ended."""
    job, _new = request_sync(settings, "test")
    assert Worker(settings).run_one()
    with session_scope(settings.database_url) as session:
        return session.exec(select(Job).where(Job.id == job.id)).one()


def newest_scan(settings: Settings) -> str | None:
    with session_scope(settings.database_url) as session:
        return session.exec(select(Scan.commit_sha).order_by(Scan.id.desc()).limit(1)).first()


def lose_blob(repo: Path, path: str) -> str:
    """Delete the object of ``path`` (at HEAD) from ``repo``'s store: its packs unpacked first."""
    sha = git(repo, "rev-parse", f"HEAD:{path}")
    packs = list((repo / "objects" / "pack").glob("*.pack"))
    for pack in packs:
        data = pack.read_bytes()
        for leftover in pack.parent.glob(f"{pack.stem}.*"):
            leftover.unlink()
        subprocess.run(["git", f"--git-dir={repo}", "unpack-objects", "-q"], input=data, check=True)
    (repo / "objects" / sha[:2] / sha[2:]).unlink()
    return sha


def test_a_mirror_that_lost_an_object_is_cloned_again_and_the_push_scanned(platform, tmp_path, db_url) -> None:
    server, gitops = platform
    settings = Settings(repo=server.url("platform"), data_dir=tmp_path / "data", database_url=db_url, fetch_interval=0)
    assert run_job(settings).error is None
    mirror = mirror_path(settings.data_dir, settings.repo)
    lost = lose_blob(mirror, SUITE_FILE)
    gitops.builder.write("README.md", "# platform\n\nmoved on\n")
    pushed = gitops.commit("docs: readme")
    gitops.builder.flush()

    job = run_job(settings)

    assert job.error is None, job.error
    assert newest_scan(settings) == pushed.sha
    assert git(mirror, "cat-file", "-t", lost) == "blob"  # whole again


def test_a_repository_given_as_a_path_that_lost_an_object_is_never_written_to(tmp_path, db_url) -> None:
    repo = tmp_path / "platform.git"
    with RepoBuilder(repo, bare=True) as builder:
        seed_history(GitOps(builder))
    lose_blob(repo, SUITE_FILE)
    before = sorted(p.relative_to(repo) for p in repo.rglob("*"))
    settings = Settings(repo=str(repo), data_dir=tmp_path / "data", database_url=db_url, fetch_interval=0)

    job = run_job(settings)

    assert job.error == f"the repository is corrupt: the object of {SUITE_FILE} is missing"
    assert sorted(p.relative_to(repo) for p in repo.rglob("*")) == before
    assert not (settings.data_dir / "mirrors").exists()


def newest(settings: Settings) -> tuple[str, str] | None:
    """The newest scan's (ref, commit)."""
    with session_scope(settings.database_url) as session:
        scan = session.exec(select(Scan).order_by(Scan.id.desc()).limit(1)).first()
        return (scan.ref, scan.commit_sha) if scan else None


def work(clone: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(clone), "-c", "user.name=dev", "-c", "user.email=dev@x", *args],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def test_a_clone_served_by_path_is_scanned_at_its_default_branch_whatever_is_checked_out(platform, tmp_path, db_url) -> None:
    server, _gitops = platform
    clone = tmp_path / "platform"
    subprocess.run(["git", "clone", "-q", server.url("platform"), str(clone)], check=True)
    main = work(clone, "rev-parse", "main")
    settings = Settings(repo=str(clone), data_dir=tmp_path / "data", database_url=db_url, fetch_interval=0)
    assert run_job(settings).error is None
    assert newest(settings) == ("HEAD", main)  # on main: as it always was
    work(clone, "checkout", "-q", "-b", "wip")
    (clone / "README.md").write_text("unpushed work\n")
    work(clone, "commit", "-q", "-am", "wip")

    job = run_job(settings)  # the timer's next tick: a branch moved

    assert job.error is None and job.commit_sha == main
    assert newest(settings) == ("main", main)
    work(clone, "branch", "-q", "-D", "main")  # only origin/main left
    assert run_job(settings).error is None
    assert newest(settings) == ("origin/main", main)


def test_a_repository_with_no_remote_served_by_path_follows_its_head(tmp_path, db_url) -> None:
    repo = tmp_path / "platform"
    with RepoBuilder(repo) as builder:
        seed_history(GitOps(builder))
        builder.checkout()
    settings = Settings(repo=str(repo), data_dir=tmp_path / "data", database_url=db_url, fetch_interval=0)
    work(repo, "checkout", "-q", "-b", "next")
    (repo / "README.md").write_text("next\n")
    work(repo, "commit", "-q", "-am", "next")

    assert run_job(settings).error is None
    assert newest(settings) == ("HEAD", work(repo, "rev-parse", "next"))  # nothing names another default branch


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_stopping_the_worker_mid_clone_kills_git_and_its_ssh(tmp_path, db_url, monkeypatch) -> None:
    pids = tmp_path / "ssh.pid"
    ssh = tmp_path / "slow-ssh"
    ssh.write_text(f"#!/bin/sh\necho $$ >> {pids}\nexec sleep 120\n")  # a remote that never answers
    ssh.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(ssh))
    url = "ssh://git@example.invalid/org/platform.git"
    settings = Settings(repo=url, data_dir=tmp_path / "data", database_url=db_url, fetch_interval=0)
    worker = Worker(settings)
    worker.start()
    deadline = time.monotonic() + 30
    while not (pids.exists() and pids.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    (pid,) = [int(line) for line in pids.read_text().split()]
    assert alive(pid)  # the clone is under way, waiting on ssh

    worker.stop(grace=0.5)

    def cloning() -> list[Path]:
        return [p for p in Path("/proc").glob("[0-9]*/cmdline") if url.encode() in _read(p)]

    deadline = time.monotonic() + 10  # killed at once; gone once the kernel has ended each of them
    while (alive(pid) or cloning()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)
    assert not cloning()
    with session_scope(db_url) as session:
        assert [job.state for job in session.exec(select(Job))] == ["queued"]  # for the next start


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes().replace(b"\0", b" ")
    except OSError:
        return b""


def test_an_empty_remote_and_a_head_naming_no_branch_are_said_of_the_url_with_the_server_s_advice(
    git_server, tmp_path, db_url  # noqa: F811
) -> None:
    server = git_server(root=tmp_path / "srv")
    server.create("empty")
    empty = Settings(repo=server.url("empty"), data_dir=tmp_path / "data", database_url=db_url, fetch_interval=0)
    assert run_job(empty).error == f"{server.url('empty')} has no commits yet"

    with RepoBuilder(server.create("platform"), bare=True) as builder:
        seed_history(GitOps(builder))
    git(server.path("platform"), "symbolic-ref", "HEAD", "refs/heads/trunk")  # the remote's default branch is gone
    url = server.url("platform")
    settings = Settings(repo=url, data_dir=tmp_path / "data", database_url=db_url, fetch_interval=0)
    error = run_job(settings).error
    assert error == f"the HEAD of {url} names branch 'trunk', which it does not hold: name the default branch with SAWMILL_BRANCH"
