"""The incremental walk agrees with a fresh scan at every commit it passes."""

from __future__ import annotations

from pathlib import Path

from app.scanner import scan
from app.scanner.config import ScanConfig
from app.scanner.history import replay, walk_history
from app.scanner.source import git_lines
from app.scanner.history_scan import HistoryScanner, relevant_paths
from bench.bench_history import build_history_repo


def test_statuses_replayed_from_the_walk_equal_fresh_scans(tmp_path: Path) -> None:
    builder, _ = build_history_repo(tmp_path / "h.git", commits=240, seed=3)
    builder.repo.close()
    path = builder.path
    config = ScanConfig()
    with HistoryScanner(path, config) as scanner:
        walk = walk_history(path, "HEAD", relevant_paths(config), scanner)
    assert walk.scans < walk.commits  # content-only commits were skipped...
    kinds = {t.kind for t in walk.transitions}
    assert {"born", "changed", "renamed", "removed"} <= kinds  # ...and the history has every kind of move

    commits = list(reversed(git_lines(path, "rev-list", "--first-parent", "HEAD")))
    moved = {t.commit for t in walk.transitions}
    checked = [c for i, c in enumerate(commits) if i % 9 == 0 or c in moved] + [commits[-1]]
    for sha in checked:
        upto = commits[: commits.index(sha) + 1]
        replayed = replay(t for t in walk.transitions if t.commit in upto)
        fresh = {m.path: str(m.status) for m in scan(path, ref=sha).modules}
        assert replayed == fresh, sha
