"""The "what next" use case: the last scan's modules, the open blockers, and the Flux graph from git.

The graph depends only on the scanned commit, so it is read once per commit
and kept in memory; the overview and the backlog page, rebuilt every minute,
cost git nothing after that.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlmodel import Session

from app.assistant.next import Candidate, DependencyGraph, NextPlan, dependency_graph, plan_next
from app.scanner import GitSource, ParseCache, ScanError, load_config
from app.store import progress_read
from app.store.scans import ModuleResult, latest_scan, scan_modules


def next_report(session: Session, repo: Path | str | None, config_path: Path | str | None = None) -> NextPlan:
    """What to migrate next as of the last scan; without a readable repository the
    dependencies are unknown (``graph_read`` False) and every legacy module is ready."""
    scan = latest_scan(session)
    rows = [m for m in scan_modules(session, scan.id) if not m.component] if scan else []
    graph = _read_graph(repo, scan.commit_sha, rows, config_path) if scan else None
    blockers = [(b["title"], " ".join([b["title"], *b["points"]])) for b in progress_read.blockers(session)["open"]]
    plan = plan_next([candidate(m) for m in rows], graph if graph is not None else DependencyGraph(), blockers)
    plan.graph_read = graph is not None
    return plan


def _read_graph(repo, commit: str, rows: list[ModuleResult], config_path) -> DependencyGraph | None:
    if repo is None or not Path(repo).is_dir():
        return None
    try:
        return _graph(str(repo), commit, tuple(sorted(m.path for m in rows)), _text(config_path))
    except ScanError:  # a repository gone or rewritten since the scan: dependencies unknown (and not kept so)
        return None


def candidate(m: ModuleResult) -> Candidate:
    """A stored module, with its legacy suites and their sizes."""
    suites = {x.get("suite", ""): x.get("success_conditions", 0) + x.get("steps", 0) for x in m.evidence.get("legacy", [])}
    return Candidate(m.path, m.name, m.status, m.group, m.pair, tuple(sorted(suites.items())))


@lru_cache(maxsize=32)
def _graph(repo: str, commit: str, modules: tuple[str, ...], config_path: str | None) -> DependencyGraph:
    with GitSource(repo) as source:
        files = source.tree(commit)
        blobs = ParseCache.over(source)
        config = load_config(files, blobs, config_path)
        return dependency_graph(files, blobs, list(modules), tuple(config.test_roots))


def _text(path: Path | str | None) -> str | None:
    return str(path) if path else None
