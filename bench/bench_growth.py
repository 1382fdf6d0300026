"""Growth: the same measures on a seed-sized repository and on one ten times bigger.

1x is the seed's size (20 modules, 3,500 commits), 10x has 200 modules and
35,000 commits; both come from ``bench_history.build_history_repo`` (git
fast-import) and are kept under ``var/bench-cache``, keyed by their parameters,
so the big one is built once. Each measure is taken at both sizes and its
growth (10x time / 1x time) printed beside the growth of the work it walks:
files at the tip for a scan, a rescan (one new commit, the whole tip scanned
again) and the pages; for a backfill, the commits, or git's own ``log --raw`` of the relevant
paths where that grows faster (each commit's tree diff reads wider trees in a wider repository:
git's stream alone grows about 30x from 1x to 10x). A measure growing faster than its work is MISSED.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from bench.bench_history import build_history_repo
from bench.common import Result, best_of

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "var" / "bench-cache"
SIZES = {"1x": (10, 3_500), "10x": (100, 35_000)}  # suites of two modules, commits
GENERATOR = 1  # bump when build_history_repo changes what it writes: the cache key holds it


def cached_repo(suites: int, commits: int) -> Path:
    """The history repository of these parameters, built once into ``var/bench-cache``."""
    path = CACHE / f"history-g{GENERATOR}-{suites}s-{commits}c.git"
    if path.exists():  # only ever a whole repository: see the rename below
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix="building-", dir=CACHE))
    print(f"   building {path.name} (once) ...", flush=True)
    builder, _ = build_history_repo(building / "repo.git", commits, suites=suites)
    builder.repo.close()
    subprocess.run(["git", "gc", "--quiet"], cwd=building / "repo.git", check=True)
    (building / "repo.git").rename(path)  # whole or not at all: an interrupted build is never taken for one
    shutil.rmtree(building, ignore_errors=True)
    return path


@dataclass
class Scale:
    files: int
    commits: int
    seconds: dict[str, float]


def measure(repo: Path, tmp: Path) -> Scale:
    """Scan, backfill, incremental rescan, /api/status and the overview on a shared clone of ``repo``."""
    from app.scanner import scan
    from app.scanner.history_scan import load_config
    from app.scanner.parse import SHARED
    from app.services import scan_and_store
    from app.services.history import update_history
    from app.store.db import get_engine, migrate, session_scope

    clone = tmp / "clone.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", "--shared", str(repo), str(clone)], check=True)
    listing = subprocess.run(["git", "ls-tree", "-r", "--name-only", "HEAD"], cwd=clone, capture_output=True, text=True)
    commits = int(subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=clone, capture_output=True, text=True).stdout)
    url = f"sqlite:///{tmp / 'growth.db'}"
    migrate(url)
    key = str(clone.resolve())
    seconds = {"scan": best_of(lambda: scan(clone), repeat=3)}
    config = load_config(clone, "HEAD")
    # git's own work for the walk's stream: no pathspec, as the walk's log (see history_log.log_command)
    stream = ["git", "log", "--raw", "--first-parent", "--no-renames", "--format=%H", "HEAD"]
    seconds["git log"] = best_of(lambda: subprocess.run(stream, cwd=clone, capture_output=True, check=True), repeat=3)
    keys = iter([f"{key}#1", f"{key}#2", key])  # a first backfill each time; the last one is the store's

    def backfill() -> None:
        SHARED.clear()  # cold, as a repository's first backfill: the scans above parsed its tip
        stored = next(keys)
        with session_scope(url, stored) as session:
            update_history(session, clone, stored, config)

    seconds["backfill"] = best_of(backfill, repeat=3)  # one run at each scale swung the ratio by a quarter
    scan_and_store(url, clone, repository=key)  # the store as a served repository holds it
    rescans = []
    manifest = next(p for p in listing.stdout.splitlines() if p.startswith("ci/test/") and p.endswith("-m0.yaml"))
    for i in range(3):
        one_more_commit(clone, manifest, i)
        start = time.perf_counter()
        scan_and_store(url, clone, repository=key)
        rescans.append(time.perf_counter() - start)
    seconds["incremental rescan"] = min(rescans)
    seconds |= cold_reads(url, key)
    get_engine(url).dispose()
    return Scale(listing.stdout.count("\n"), commits, seconds)


def one_more_commit(repo: Path, manifest: str, n: int) -> None:
    """A test manifest edited on main (a comment added), written with fast-import into the clone alone."""
    show = ["git", "cat-file", "blob", f"HEAD:{manifest}"]
    body = subprocess.run(show, cwd=repo, capture_output=True, check=True).stdout + f"# growth {n}\n".encode()
    stream = (
        b"commit refs/heads/main\ncommitter Bench <bench@example.com> 1900000000 +0000\n"
        + f"data 12\ngrowth: one\nfrom refs/heads/main^0\nM 100644 inline {manifest}\ndata {len(body)}\n".encode()
        + body + b"\n"
    )
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=stream, check=True)


def cold_reads(url: str, key: str) -> dict[str, float]:
    """/api/status and the overview as the first reader after a change meets them: a new app,
    nothing in memory yet (a hit from memory costs the same at any size)."""
    from app.config import Settings
    from app.web.main import create_app
    from app.web.status_cache import forget

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    out = {}
    for path in ("/api/status", "/"):
        times = []
        for _ in range(3):
            forget(url)
            client = TestClient(create_app(Settings(database_url=url, repo=key, worker=False)))
            start = time.perf_counter()
            assert client.get(path).status_code == 200, path
            times.append(time.perf_counter() - start)
        out[path if path != "/" else "overview"] = min(times)
    return out


def _work(unit: str, growth: float, commits: float) -> str:
    if unit == "commits" and growth > commits:
        return f"git log --raw of its commits x{growth:.1f}, commits x{commits:.1f}"
    return f"{unit} x{growth:.1f}"


def run() -> list[Result]:
    scales = {}
    for name, (suites, commits) in SIZES.items():
        repo = cached_repo(suites, commits)
        with tempfile.TemporaryDirectory(prefix=f"sawmill-bench-growth-{name}-") as tmp:
            scales[name] = measure(repo, Path(tmp))
    small, big = scales["1x"], scales["10x"]
    commits = big.commits / small.commits
    work = {"files": big.files / small.files, "commits": max(commits, big.seconds["git log"] / small.seconds["git log"])}
    # an incremental rescan walks one commit but scans the whole tip again: its work is the files
    walks = {"scan": "files", "backfill": "commits", "incremental rescan": "files", "/api/status": "files",
             "overview": "files"}  # fmt: skip
    return [
        Result(
            f"growth 1x -> 10x: {measure_name} (work: {_work(unit, work[unit], commits)})",
            big.seconds[measure_name] / small.seconds[measure_name],
            goal=round(work[unit], 1),
            unit="x",
            detail=f"{small.seconds[measure_name] * 1000:.0f} ms -> {big.seconds[measure_name] * 1000:.0f} ms "
            f"({small.files:,} -> {big.files:,} files, {small.commits:,} -> {big.commits:,} commits)",
        )
        for measure_name, unit in walks.items()
    ]
