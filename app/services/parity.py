"""The parity use case: the stored history says where each module migrated, git says what it checked.

``parity_report`` serves ``sawmill parity``; ``module_parity_at`` serves the
module page and ``/api/modules/{path}``. A module's parity depends only on
three commits (its migration, the last legacy one, the ref shown), so the
answer for one set of them is kept in memory: a page rebuilt every minute
costs git nothing after the first time.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlmodel import Session

from app.assistant.parity import Commits, Migration, ModuleParity, migrations, module_parity
from app.scanner import GitSource, ParseCache, ScanError, load_config
from app.services.history import history_cut
from app.store.history import events, history_state


def parity_report(
    session: Session, repo: Path | str, repository: str, ref: str = "HEAD", config_path: Path | None = None
) -> tuple[str, list[ModuleParity]]:
    """The commit ``ref`` names, and the parity of every module migrated as of it.

    The stored history must be current (``record_history`` first); raises ScanError
    for an unknown ref or a repository git cannot read.
    """
    with GitSource(repo) as source:
        commit = source.resolve(ref).sha
        found = _migrations(session, repo, repository, source, commit)
        commits = Commits(source, _config(source, commit, config_path))
        return commit, [module_parity(commits, m, commit) for m in found]


def module_parity_at(
    session: Session, repo: Path | str | None, repository: str, module: str, commit: str, upto: int | None,
    config_path: Path | None = None,
) -> ModuleParity | None:  # fmt: skip
    """The parity of ``module`` as a scan of ``commit`` (showing events ``upto``) sees it;
    None when it is not migrated, or there is no repository on disk to read."""
    if repo is None or not Path(repo).is_dir():
        return None
    items = [e for e in events(session, repository, upto=upto) if e["module"] == module]
    if not items or items[-1]["to"] != "migrated":
        return None
    try:
        found = migrations(items, lambda sha: _parent_of(str(repo), sha))
        return _cached(str(repo), found[0], commit, str(config_path) if config_path else None) if found else None
    except ScanError:  # a commit gone from the repository (a rewritten history): nothing to show
        return None


@lru_cache(maxsize=256)
def _parent_of(repo: str, commit: str) -> str:
    with GitSource(repo) as source:
        return _parent(source)(commit)


@lru_cache(maxsize=256)
def _cached(repo: str, migration: Migration, commit: str, config_path: str | None) -> ModuleParity:
    with GitSource(repo) as source:
        commits = Commits(source, _config(source, commit, config_path))
        return module_parity(commits, migration, commit)


def _migrations(session: Session, repo, repository: str, source: GitSource, commit: str) -> list[Migration]:
    state = history_state(session, repository)
    upto = history_cut(session, repo, repository, commit, state.last_commit if state else None)
    return migrations(events(session, repository, upto=upto), _parent(source))


def _parent(source: GitSource):
    def parent(commit: str) -> str:
        try:
            return source.resolve(f"{commit}^").sha
        except ScanError:  # the root commit: its legacy suite, if any, is in the commit itself
            return commit

    return parent


def _config(source: GitSource, commit: str, config_path: Path | str | None):
    return load_config(source.tree(commit), ParseCache.over(source), config_path)
