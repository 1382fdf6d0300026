"""The history walk's side of the scanner: statuses from ``scan_files``, and branches.

``HistoryScanner`` answers the walk's two questions (the statuses of a
snapshot; whether a changed blob can change them) with the scanner's own
``scan_files`` over ONE ``ParseCache`` shared by every commit and branch, so
each blob is read once, parsed once, and each test analysed once per version.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.scanner import load_config as scanner_config
from app.scanner.config import CONFIG_FILE, ScanConfig, is_glob
from app.scanner.core import likely_reads, scan_files
from app.scanner.history_log import git_lines
from app.scanner.model import ScanError, Status
from app.scanner.parse import ParseCache, Parsed
from app.scanner.source import BlobRef, GitSource

_CHAINSAW = {str(Status.MIGRATED), str(Status.IN_PROGRESS)}


@dataclass(frozen=True)
class Tip:
    sha: str
    branch: str  # the branch name, or the ref as given when it is not a branch
    date: datetime


@dataclass(frozen=True)
class BranchProgress:
    """A module legacy on the default branch with chainsaw tests on ``branch``."""

    path: str
    branch: str
    commit: str
    status: str  # the module's status on that branch


class TrackingCache(ParseCache):
    """A ParseCache that remembers every blob any scan looked inside.

    Memoized analyses skip reading blobs whose sha did not change, so "looked
    inside at some point" (not "in the last scan") is the set a changed blob
    must be in to matter.
    """

    def __init__(self, read, read_many=None) -> None:
        super().__init__(read, read_many)
        self.touched: set[str] = set()

    def raw(self, ref: BlobRef) -> bytes | str:
        self.touched.add(ref.sha)
        return super().raw(ref)

    def parse(self, ref: BlobRef) -> Parsed:
        self.touched.add(ref.sha)
        return super().parse(ref)


class HistoryScanner:
    """Module statuses of snapshots, over one repository; use it as a context manager."""

    def __init__(self, repo: Path | str, config: ScanConfig) -> None:
        self.repo = Path(repo)
        self.config = config
        self._source = GitSource(repo)

    def __enter__(self) -> HistoryScanner:
        self._source.__enter__()
        self.cache = TrackingCache(self._source.read, self._source.read_many)
        self._last: tuple[object, dict[str, str]] = (None, {})
        return self

    def __exit__(self, *exc) -> None:
        self._source.close()

    def statuses(self, files: Mapping[str, BlobRef], changed: Collection[str] | None = None) -> dict[str, str]:
        """The statuses, as the very dict of the last call when the scan handed back its last result
        (most commits of a walk): the walk then knows at a glance that nothing moved. Read only."""
        result = scan_files(files, self.cache, self.config, changed)
        if result is not self._last[0]:
            self._last = (result, {m.path: str(m.status) for m in result[0]})
        return self._last[1]

    def may_change(self, old: BlobRef, new: BlobRef | None) -> bool:
        return old.sha in self.cache.touched

    def prefetch(self, files: Mapping[str, BlobRef] | Iterable[tuple[str, BlobRef]]) -> None:
        entries = list(files.items() if isinstance(files, Mapping) else files)
        latest = dict(entries)
        # likely_reads judges a path by its name and place, so every version of a likely path is wanted
        likely = {id(ref) for ref in likely_reads(latest, self.config)}
        paths = {path for path, ref in latest.items() if id(ref) in likely}
        self.cache.prefetch([ref for path, ref in entries if path in paths])

    def branch_progress(self, tip: Tip, statuses: Mapping[str, str]) -> list[BranchProgress]:
        """Modules legacy at ``tip`` that another local or remote-tracking branch migrates."""
        legacy = {path for path, status in statuses.items() if status == Status.LEGACY}
        if not legacy:
            return []
        paths = relevant_paths(self.config)
        found: dict[str, BranchProgress] = {}
        seen_trees: dict[str, dict[str, str]] = {}
        for name, sha in other_branches(self.repo, tip):
            if sha not in seen_trees:
                files = relevant_files(self.repo, sha, paths)
                self.prefetch(files)  # only blobs the walk has not read yet are fetched
                seen_trees[sha] = self.statuses(files)
            for path in sorted(legacy):
                status = seen_trees[sha].get(path)
                if status in _CHAINSAW and path not in found:
                    found[path] = BranchProgress(path, name, sha, status)
        return [found[p] for p in sorted(found)]


# -- git queries: a few per update, never one per commit -----------------------


def relevant_paths(config: ScanConfig) -> list[str]:
    """The pathspecs of what can change a module's status: see ``core.relevant``."""
    if config.marker:  # a module may be any folder: everything is relevant
        return ["."]
    roots = [*config.module_roots, *config.component_roots, *config.test_roots, config.workflows]
    return sorted({_literal_prefix(r) or "." for r in roots} | {CONFIG_FILE, "*.yaml", "*.yml"})


def _literal_prefix(glob: str) -> str:
    """The folder a glob stays within: ``infrastructure/subsystems/*`` -> ``infrastructure/subsystems``."""
    parts = []
    for part in glob.split("/"):
        if is_glob(part):
            break
        parts.append(part)
    return posixpath.join(*parts) if parts else ""


def resolve(repo: Path | str, ref: str) -> Tip | None:
    """The commit ``ref`` names and the branch it stands for; None when ``HEAD`` names no commit yet."""
    if not Path(repo).is_dir():
        raise ScanError(f"{repo} does not exist")
    found = git_lines(repo, "log", "-1", "--format=%H%x00%ct", ref, "--")
    if not found:  # only now find out why: the usual path costs two processes
        if not git_lines(repo, "rev-parse", "--git-dir"):
            raise ScanError(f"{repo} is not a git repository")
        if ref == "HEAD":  # an empty repository, or HEAD naming a branch not made yet
            return None
        raise ScanError(f"unknown ref {ref!r} in {repo}")
    sha, stamp = found[0].split("\0")
    if ref == "HEAD":
        branch = git_lines(repo, "symbolic-ref", "--quiet", "--short", "HEAD")
    else:
        branch = git_lines(repo, "rev-parse", "--abbrev-ref", ref)
    return Tip(
        sha=sha,
        branch=branch[0] if branch and branch[0] != "HEAD" else ref,
        date=datetime.fromtimestamp(int(stamp), UTC),
    )


def on_first_parent_chain(repo: Path | str, commit: str, tip: str) -> bool:
    """Whether ``commit`` is ``tip`` or one of its first-parent ancestors."""
    if commit == tip:
        return True
    lines = git_lines(repo, "rev-list", "--first-parent", "--parents", tip, "--not", commit)
    if not lines:
        return False  # unknown commit, or tip is behind it
    return lines[-1].split()[1:2] == [commit]


def merge_base(repo: Path | str, a: str, b: str) -> str | None:
    lines = git_lines(repo, "merge-base", a, b)
    return lines[0] if lines else None


def first_parent_commits(repo: Path | str, tip: str, paths: list[str]) -> set[str]:
    return set(git_lines(repo, "rev-list", "--first-parent", tip, "--", *paths))


def relevant_files(repo: Path | str, commit: str, paths: list[str]) -> dict[str, BlobRef]:
    """The relevant files of one commit, as the walk would have built them."""
    out = git_lines(repo, "ls-tree", "-r", "-z", "--full-tree", commit, "--", *paths)
    files: dict[str, BlobRef] = {}
    for entry in "\n".join(out).split("\0"):
        if not entry:
            continue
        meta, path = entry.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind == "blob":
            files[path] = BlobRef(mode, sha)
    return files


def other_branches(repo: Path | str, tip: Tip) -> list[tuple[str, str]]:
    """(name, sha) of local and remote-tracking branches, not merged yet, other than the default one."""
    # Branches already merged into the tip hold nothing the default branch lacks.
    lines = git_lines(
        repo, "for-each-ref", f"--no-merged={tip.sha}",
        "--format=%(refname)%00%(objectname)%00%(symref)", "refs/heads", "refs/remotes",
    )  # fmt: skip
    out = []
    for line in lines:
        ref, sha, symref = line.split("\0")
        if symref:  # refs/remotes/origin/HEAD
            continue
        if ref.startswith("refs/heads/"):
            name = ref[len("refs/heads/"):]
            if name == tip.branch:
                continue
        else:
            name = ref[len("refs/remotes/"):]
            if name.split("/", 1)[-1] == tip.branch:  # origin/main is the default branch too
                continue
        if sha != tip.sha:
            out.append((name, sha))
    return sorted(out)


def load_config(repo: Path | str, commit: str, config_file: Path | None = None) -> ScanConfig:
    """The scanner's config for ``commit`` (``config_file`` if given, else its sawmill.yaml).

    The whole walk uses this one config: today's rules applied to every commit.
    """
    with GitSource(repo) as source:
        return scanner_config(source.tree(commit), ParseCache(source.read), config_file)
