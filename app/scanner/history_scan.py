"""The history walk's side of the scanner: statuses from ``scan_files``, and branches.

``HistoryScanner`` answers the walk's two questions (the statuses of a
snapshot; whether a changed blob can change them) with the scanner's own
``scan_files`` over ONE ``ParseCache`` shared by every commit and branch, so
each blob is read once, parsed once, and each test analysed once per version.
"""

from __future__ import annotations

import posixpath
import subprocess
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import compress, count
from operator import is_not
from pathlib import Path

from app.scanner import load_config as scanner_config
from app.scanner.collector import collector_paused
from app.scanner.config import CONFIG_FILE, ScanConfig, is_glob
from app.scanner.core import likely_paths, scan_files
from app.scanner.model import ScanError, Status
from app.scanner.parse import ParseCache, Parsed
from app.scanner.source import SUBMODULE, BlobRef, GitSource, git_date, git_lines, unknown_ref

_CHAINSAW = {str(Status.MIGRATED), str(Status.IN_PROGRESS)}


@dataclass(frozen=True)
class Tip:
    sha: str
    branch: str  # the branch name, or the ref as given when it is not a branch
    date: datetime


@dataclass(frozen=True)
class BranchProgress:
    """A module legacy on the default branch that ``branch``'s own commits move to chainsaw."""

    path: str
    branch: str
    commit: str
    status: str  # the module's status on that branch
    stale: bool = False  # the branch has been idle too long to count


@dataclass(frozen=True)
class BranchTip:
    name: str  # the short name: ``feature/x``, ``origin/wip``
    ref: str  # the full ref: ``refs/remotes/origin/wip``
    sha: str
    date: datetime  # its tip's committer date


@dataclass(frozen=True)
class Branches:
    """A repository's branches as one ``for-each-ref`` saw them, split around the default branch."""

    default: str  # the default branch's name (``main``), or ``HEAD`` when nothing names one
    tip: Tip | None  # what the history walk follows; None before the first commit
    twins: tuple[BranchTip, ...] = ()  # refs/heads/<default> and refs/remotes/*/<default>
    others: tuple[BranchTip, ...] = ()  # every other local or remote-tracking branch

    def newest(self) -> BranchTip | Tip | None:
        """The newest of the default branch's refs: where other branches fork from."""
        return max([*self.twins, *([self.tip] if self.tip else [])], key=lambda t: t.date, default=None)


class TrackingCache(ParseCache):
    """A ParseCache that remembers every blob any scan looked inside.

    Memoized analyses skip reading blobs whose sha did not change, so "looked
    inside at some point" (not "in the last scan") is the set a changed blob
    must be in to matter.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.touched: set[str] = set()
        self.tested: dict[str, set[tuple[bytes, ...]]] = {}  # blob -> the byte tests ``holds`` put to it

    def holds(self, ref: BlobRef, needles: tuple[bytes, ...]) -> bool:
        self.tested.setdefault(ref.sha, set()).add(needles)
        return super().holds(ref, needles)

    def may_change(self, old: BlobRef, new: BlobRef | None) -> bool:
        """Whether replacing ``old`` by ``new`` can change what a scan found: ``old`` was looked
        inside, or a byte test put to it answers otherwise for ``new``."""
        if old.sha in self.touched:
            return True
        tests = self.tested.get(old.sha)
        if not tests:
            return False
        if new is None or any(ParseCache.holds(self, old, t) != ParseCache.holds(self, new, t) for t in tests):
            return True
        # No scan will test ``new`` now, and the walk tells no rescan of this edit, so no analysis
        # reads it again: it stands for ``old``, and its own successor must be judged by the same
        # tests. Required for correctness, not a saving: without it an edit of ``new`` into a Flux
        # Kustomization would find no tests and be passed over.
        self.tested.setdefault(new.sha, set()).update(tests)
        return False

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
        # git's sizes first: a huge blob in history is never read; blobs the scan of the tip parsed are not parsed again;
        # statuses only, so no file is parsed for a warning nobody reads
        self.cache = TrackingCache.over(self._source, shared=True, warns=False)
        self._last: tuple[object, dict[str, str]] = (None, {})
        self.moved: list[str] | None = None
        # no collections until the cache is dropped on exit: see app.scanner.collector
        self._paused = collector_paused()
        self._paused.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._source.close()
            self.cache.forget()
            self._last = (None, {})
        finally:
            self._paused.__exit__(None, None, None)

    def statuses(self, files: Mapping[str, BlobRef], changed: Collection[str] | None = None) -> dict[str, str]:
        """The statuses, as the very dict of the last call when the scan handed back its last result
        (most commits of a walk): the walk then knows at a glance that nothing moved. Read only."""
        result = scan_files(files, self.cache, self.config, changed)
        last, before = self._last
        if result is not last:
            # most new results move evidence, not statuses: the same dict back spares the walk a comparison
            statuses, self.moved = _statuses(result[0], last[0] if last is not None else (), before)
            self._last = (result, statuses)
        else:
            self.moved = []
        return self._last[1]

    def may_change(self, old: BlobRef, new: BlobRef | None) -> bool:
        return self.cache.may_change(old, new)

    def prefetch(self, files: Mapping[str, BlobRef] | Iterable[tuple[str, BlobRef]]) -> None:
        # the walk's first call comes once its log is started: the readers start while git works on it
        self._source.start_readers()
        entries = list(files.items() if isinstance(files, Mapping) else files)
        # judged by name and place, so every version of a likely path is wanted
        likely = set(likely_paths(dict.fromkeys(path for path, _ in entries), self.config))
        self.cache.prefetch([ref for path, ref in entries if path in likely])

    def branch_progress(
        self, refs: Branches, statuses: Mapping[str, str], stale_days: int = 60
    ) -> list[BranchProgress]:
        """Modules legacy in ``statuses`` (the default branch's tip) that another branch's
        own commits move to chainsaw: its tip has them migrated or in progress, its fork
        point did not. Branches idle more than ``stale_days`` (0: never) before the
        default branch's newest commit come back ``stale``."""
        legacy = {path for path, status in statuses.items() if status == Status.LEGACY}
        newest = refs.newest()
        if not legacy or newest is None:
            return []
        paths = relevant_paths(self.config)
        exclude = sorted({t.sha for t in refs.twins} | ({refs.tip.sha} if refs.tip else set()))
        trees = {refs.tip.sha: dict(statuses)} if refs.tip else {}  # commit -> statuses: the tip's are known
        forks: dict[str, str | None | bool] = {}  # branch sha -> fork point; False: no commits of its own
        found: list[BranchProgress] = []
        for branch in refs.others:
            if branch.sha not in forks:
                forks[branch.sha] = fork_point(self.repo, branch.sha, exclude, newest.sha)
            fork = forks[branch.sha]
            if fork is False:
                continue
            before = self._statuses_at(fork, paths, trees) if fork else {}
            after = self._statuses_at(branch.sha, paths, trees)
            stale = bool(stale_days) and newest.date - branch.date > timedelta(days=stale_days)
            for path in sorted(legacy):
                if after.get(path) in _CHAINSAW and before.get(path) not in _CHAINSAW:
                    found.append(BranchProgress(path, branch.name, branch.sha, after[path], stale))
        return sorted(found, key=lambda b: (b.path, b.stale, b.branch))

    def _statuses_at(self, commit: str, paths: list[str], seen: dict[str, dict[str, str]]) -> dict[str, str]:
        if commit not in seen:
            files = relevant_files(self.repo, commit, paths)
            self.prefetch(files)  # only blobs the walk has not read yet are fetched
            seen[commit] = self.statuses(files)
        return seen[commit]


def _statuses(modules: Sequence, before_modules: Sequence, before: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """{path: status} of ``modules``, and the paths whose status moved or that came (those
    gone show as fewer paths).

    ``before`` itself when no status moved, else made from it. Both lists are sorted by
    path, and a new result reuses the Module of each module it did not touch: the same
    objects at both ends are passed over at C speed, and only what lies between them is
    read (a module born, gone or changed), whatever the number of modules."""
    n, m = len(modules), len(before_modules)
    shorter = min(n, m)
    head = next(compress(count(), map(is_not, modules, before_modules)), shorter)
    if head == n == m:
        return before, []
    tail = next(compress(count(), map(is_not, reversed(modules), reversed(before_modules))), shorter)
    tail = min(tail, n - head, m - head)
    moved: dict[str, str] = {}
    came: set[str] = set()
    for module in modules[head : n - tail]:
        came.add(module.path)
        status = str(module.status)
        if before.get(module.path) != status:
            moved[module.path] = status
    gone = [module.path for module in before_modules[head : m - tail] if module.path not in came]
    if not moved and not gone:
        return before, []
    statuses = {**before, **moved}
    for path in gone:
        del statuses[path]
    return statuses, list(moved)


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
    """The commit ``ref`` names and the branch it stands for; None when the repository has no
    commit yet. ``HEAD`` naming a branch that does not exist in a repository that has commits
    is an unknown ref, as a scan says: the history of no branch is not an empty history."""
    if not Path(repo).is_dir():
        raise ScanError(f"{repo} does not exist")
    found = git_lines(repo, "log", "-1", "--format=%H%x00%ct", ref, "--")
    if not found:  # only now find out why: the usual path costs two processes
        if not git_lines(repo, "rev-parse", "--git-dir"):
            raise ScanError(f"{repo} is not a git repository")
        if ref == "HEAD" and not git_lines(repo, "rev-list", "-n1", "--all"):  # an empty repository
            return None
        raise unknown_ref(repo, ref)
    sha, stamp = found[0].split("\0")
    if ref == "HEAD":
        branch = git_lines(repo, "symbolic-ref", "--quiet", "--short", "HEAD")
    else:
        branch = git_lines(repo, "rev-parse", "--abbrev-ref", ref)
    return Tip(
        sha=sha,
        branch=branch[0] if branch and branch[0] != "HEAD" else ref,
        date=git_date(stamp),
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
    """The relevant files of one commit, as the walk would have built them.

    Asked as the commit's changes from the empty tree: ``git diff-tree`` reads the
    pathspecs as ``git log`` does, wildcards included, where ``git ls-tree`` takes them
    literally (``*.yaml`` would list only a file of that very name), and it lists only
    what they match, where a whole tree filtered here costs a large tree far more."""
    out = git_lines(
        repo, "diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", _empty_tree(repo, commit), commit,
        "--", *paths,
    )  # fmt: skip
    fields = "\n".join(out).split("\0")
    files: dict[str, BlobRef] = {}
    for meta, path in zip(fields[0::2], fields[1::2]):
        _old_mode, mode, _old_sha, sha, _status = meta.lstrip("\n:").split(" ")
        if mode != SUBMODULE:  # a submodule has no blob
            files[path] = BlobRef(mode, sha)
    return files


def _empty_tree(repo: Path | str, commit: str) -> str:
    """The empty tree's name in the repository's hash (known for a full sha, else asked)."""
    if len(commit) in _EMPTY_TREE and all(c in "0123456789abcdef" for c in commit):
        return _EMPTY_TREE[len(commit)]
    return (git_lines(repo, "hash-object", "-t", "tree", "/dev/null") or [_EMPTY_TREE[40]])[0]


_EMPTY_TREE = {
    40: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    64: "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321",
}


def read_branches(repo: Path | str, explicit: str | None = None) -> Branches:
    """The default branch (see ``default_branch``), the tip the walk follows (the local
    branch of that name, else ``origin/<name>``), its twins and the other branches."""
    if not Path(repo).is_dir():
        raise ScanError(f"{repo} does not exist")
    found, symrefs = _for_each_ref(repo)
    if not found:  # no branch at all: an empty repository, or a detached HEAD alone
        tip = resolve(repo, "HEAD")
        return Branches(explicit or "HEAD", tip)
    name = default_branch(repo, explicit, symrefs)
    twins = tuple(b for b in found if _is_twin(b.ref, name))
    by_ref = {b.ref: b for b in twins}
    follow = by_ref.get(f"refs/heads/{name}") or by_ref.get(f"refs/remotes/origin/{name}")
    if follow is not None:
        tip = Tip(follow.sha, name, follow.date)
    elif explicit:
        raise ScanError(f"no branch {explicit!r} in {repo}")
    else:  # HEAD names a branch not made yet, or origin/HEAD a branch not fetched
        tip = resolve(repo, "HEAD")
    others = tuple(b for b in found if b.ref not in by_ref)
    return Branches(name, tip, twins, others)


def default_branch(repo: Path | str, explicit: str | None = None, symrefs: Mapping[str, str] | None = None) -> str:
    """The remote's default branch: ``explicit`` (SAWMILL_BRANCH); in a bare repository
    (a mirror) the branch HEAD names; in a clone the branch ``origin/HEAD`` names; else
    the branch HEAD names; else ``HEAD``. ``symrefs``: what ``for-each-ref`` already read."""
    if explicit:
        return explicit
    lines = git_lines(repo, "rev-parse", "--is-bare-repository", "--symbolic-full-name", "HEAD")
    if len(lines) < 2:  # HEAD names a branch with no commit yet
        lines = [*git_lines(repo, "rev-parse", "--is-bare-repository"), *git_lines(repo, "symbolic-ref", "-q", "HEAD")]
    bare, head = lines[0] == "true" if lines else False, lines[1] if len(lines) > 1 else ""
    if not bare:
        origin = (symrefs if symrefs is not None else _for_each_ref(repo)[1]).get("refs/remotes/origin/HEAD", "")
        if origin.startswith("refs/remotes/origin/"):
            return origin[len("refs/remotes/origin/"):]
    return head[len("refs/heads/"):] if head.startswith("refs/heads/") else "HEAD"


def fork_point(repo: Path | str, branch: str, default: Collection[str], newest: str) -> str | None | bool:
    """Where ``branch`` left the default branch (whose refs are the shas ``default``):
    False when it has no commits of its own, None when it shares no history with it.

    One ``rev-list``: its boundary is the fork point when there is one; a branch
    that merged the default branch in has several, and then the merge base with
    ``newest`` (the default branch's newest ref) is where it stands.
    """
    lines = git_lines(repo, "rev-list", "--boundary", branch, "--not", *default)
    boundary = [line[1:] for line in lines if line.startswith("-")]
    if len(boundary) == len(lines):
        return False
    if len(boundary) == 1:
        return boundary[0]
    return merge_base(repo, branch, newest) if boundary else None


def is_ancestor(repo: Path | str, commit: str, of: str) -> bool:
    """Whether ``commit`` is ``of`` or one of its ancestors."""
    done = subprocess.run(
        ["git", "merge-base", "--is-ancestor", commit, of], cwd=repo, capture_output=True, stdin=subprocess.DEVNULL
    )
    return done.returncode == 0


def _for_each_ref(repo: Path | str) -> tuple[list[BranchTip], dict[str, str]]:
    """Local and remote-tracking branches (one process), and the symbolic ones (origin/HEAD)."""
    lines = git_lines(
        repo, "for-each-ref", "--format=%(refname)%00%(objectname)%00%(symref)%00%(committerdate:unix)",
        "refs/heads", "refs/remotes",
    )  # fmt: skip
    found, symrefs = [], {}
    for line in lines:
        ref, sha, symref, stamp = line.split("\0")
        if symref:
            symrefs[ref] = symref
            continue
        name = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else ref[len("refs/remotes/"):]
        found.append(BranchTip(name, ref, sha, git_date(stamp or "0")))
    return sorted(found, key=lambda b: b.name), symrefs


def _is_twin(ref: str, default: str) -> bool:
    """refs/heads/<default>, or a remote's <default> (origin/main, upstream/main)."""
    if ref.startswith("refs/heads/"):
        return ref == f"refs/heads/{default}"
    return ref[len("refs/remotes/"):].split("/", 1)[-1] == default


def load_config(repo: Path | str, commit: str, config_file: Path | None = None) -> ScanConfig:
    """The scanner's config for ``commit`` (``config_file`` if given, else its sawmill.yaml).

    The whole walk uses this one config: today's rules applied to every commit.
    """
    with GitSource(repo) as source:
        return scanner_config(source.tree(commit), ParseCache.over(source), config_file)
