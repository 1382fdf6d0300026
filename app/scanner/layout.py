"""The shape of a snapshot: its folders, modules and test files, kept up to date by path changes.

A walk over history calls ``scan_files`` at thousands of commits whose trees
differ by a few paths. ``Layout.update(files)`` finds the paths added and
removed since the previous call with set operations (in C), and updates its
indexes for those paths only, so the per-commit cost does not grow with the
size of the tree. ``shape`` changes only when something a scan depends on
appears or goes (a module, a test file, a YAML file outside the modules);
new content inside a module leaves it alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache

from app.scanner.config import ScanConfig, compile_glob, glob_match, marker_test

CHAINSAW_FILES = ("chainsaw-test.yaml", "chainsaw-test.yml")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# \Z, not $: a name may end in a line break (git allows it), and $ would match before it
STEP_FILE = re.compile(r"^\d+-[^/]*\.ya?ml\Z")
YAML_SUFFIXES = (".yaml", ".yml")  # a YAML file's name ends in one (str.endswith)


def parent(path: str) -> str:
    return path.rpartition("/")[0]


def basename(path: str) -> str:
    return path.rpartition("/")[2]


def _ancestors(path: str):
    while path:
        path = parent(path)
        yield path


class Layout:
    """Indexes of one snapshot's paths, updated in place by the next snapshot's (see the module doc)."""

    def __init__(self, config: ScanConfig) -> None:
        self.config = config
        # matchers made once: every path of a tree is asked
        self._matches_exclude = _any_of([compile_glob(pattern) for pattern in config.exclude])
        self._is_marker = marker_test(config.marker) if config.marker else None
        self._workflows = f"{config.workflows}/"
        self.paths: set[str] = set()  # every path a scan may see (excluded ones left out)
        self.excluded: set[str] = set()
        self.folders: set[str] = set()  # every folder holding a path, the root aside
        self.children: dict[str, set[str]] = {}  # folder -> paths and folders directly in it
        self._excluded_folders: dict[str, bool] = {}  # folder -> it, or a folder above it, matches an exclude glob
        self.root_units: dict[str, bool] = {}  # folder -> is a component (module roots, components)
        self.marker_units: dict[str, int] = {}  # folder -> marker files in it
        self.chainsaw: set[str] = set()
        self.steps: set[str] = set()
        self.workflows: set[str] = set()
        self.yaml: set[str] = set()
        self.candidates: set[str] = set()  # YAML outside modules, or kuttl-test*: may hold a TestSuite
        self.shape = 0  # bumped whenever modules or test files change
        self.last: tuple | None = None  # (shape, analyses used, result) of the last scan, reused while nothing changed
        self._units_moved = False
        self._moved_units: set[str] = set()  # folders that became or stopped being modules in this update
        self._fresh: set[str] = set()  # YAML paths this update added outside the workflows
        self._sorted: tuple[int, list[str]] = (-1, [])
        self._files: Mapping[str, object] | None = None
        self.reads: set[str] = set()  # paths the last scan looked inside
        self.listed: set[str] = set()  # folders whose listing the last scan used
        self.dir_tests: set[str] = set()  # paths the last scan asked "is this a folder?"
        self.globbed = False  # the last scan expanded a glob: any new path may matter
        self.followed_changes = False  # the last update trusted the caller's changed paths
        self.generation = 0  # one per update: what ``checked`` stamps are counted in
        self.delta: frozenset[str] | None = None  # the paths the last update followed, when it did
        self.delta_folders: frozenset[str] = frozenset()  # the folders directly holding them
        self.delta_reach: frozenset[str] = frozenset()  # them and every folder above them
        self.checked: dict[tuple, tuple] = {}  # memo key -> (generation, entry, its reads): see snapshot.memoized
        self.added: set[str] = set()  # the paths the last update added...
        self.removed: set[str] = set()  # ...and removed (excluded ones left out)
        self.moved_units: set[str] = set()  # the folders the last update made or unmade modules or components
        self.links = None  # the last scan's tests linked to modules: see app.scanner.links

    # -- queries -------------------------------------------------------------
    def holding(self, path: str) -> str | None:
        """The innermost module or component folder holding ``path`` (or equal to it)."""
        while path:
            if path in self.root_units or path in self.marker_units:
                return path
            path = parent(path)
        return None

    def units(self) -> dict[str, bool]:
        return {**{f: False for f in self.marker_units}, **self.root_units}

    def touched(self, changed: Iterable[str]) -> bool:
        """Whether any of ``changed`` can alter the last scan's result (its shape aside)."""
        if self.globbed:
            return True
        for path in changed:
            if path in self.reads or parent(path) in self.listed:
                return True
            if self.dir_tests and any(folder in self.dir_tests for folder in _ancestors(path)):
                return True
        return False

    def beneath(self, folders: Iterable[str]) -> Iterator[str]:
        """The paths at any depth beneath ``folders``: the size of those folders, not of the tree."""
        stack = [folder for folder in folders if folder in self.folders]
        while stack:
            for path in self.children.get(stack.pop(), ()):
                if path in self.folders:
                    stack.append(path)
                else:
                    yield path

    def sorted_candidates(self) -> list[str]:
        if self._sorted[0] != self.shape:
            self._sorted = (self.shape, sorted(self.candidates))
        return self._sorted[1]

    def suite_kustomizations(self) -> list[str]:
        """Kustomizations directly in a suite folder (a direct subfolder of a test root)."""
        out = []
        for root in self.config.test_roots:
            for path in self.children.get(root, ()):
                if path in self.folders:  # a folder: a suite
                    for name in KUSTOMIZATION_FILES:
                        if f"{path}/{name}" in self.paths:
                            out.append(f"{path}/{name}")
                            break
        return sorted(out)

    # -- updates -------------------------------------------------------------
    def update(self, files: Mapping[str, object], changed: Iterable[str] | None = None) -> None:
        """Follow ``files``; ``changed`` (paths added, edited or removed since the last
        call with this same mapping; see ``core.scan_files`` for the edits it may leave
        out) spares comparing every path."""
        self.followed_changes = changed is not None and files is self._files
        self.generation += 1
        self.delta = frozenset(changed) if self.followed_changes else None
        if self.delta:
            self.delta_folders = frozenset(parent(p) for p in self.delta)
            above: set[str] = set()
            for folder in self.delta_folders:  # up to a folder reached already: a commit's paths share most
                while folder not in above:
                    above.add(folder)
                    if not folder:
                        break
                    folder = parent(folder)
            self.delta_reach = self.delta.union(above)
        if self.followed_changes:
            added = {p for p in changed if p in files and p not in self.paths and p not in self.excluded}
            removed = {p for p in changed if p not in files and p in self.paths}
            self.excluded -= {p for p in changed if p not in files}
        else:
            keys = files.keys()
            added = keys - self.paths - self.excluded
            removed = self.paths - keys
            self.excluded &= keys
        self._files = files  # held, so a later mapping cannot pass for it by a reused id
        self.added, self.removed, self.moved_units = added, removed, set()
        if not added and not removed:
            return
        for path in removed:
            self._remove(path)
        self._add(added)
        fresh, self._fresh = self._fresh, set()
        outside: dict[str, bool] = {}  # folder -> in no module or component, asked once per folder
        if self._units_moved:
            # YAML files beneath a module that came or went may have changed sides; only fresh ones
            # (judged below) when every YAML file is new, as in a first update
            if len(fresh) < len(self.yaml):
                for path in self.beneath(self._moved_units):
                    if path in self.yaml and path not in fresh:
                        (self.candidates.add if self._candidate(path, outside) else self.candidates.discard)(path)
            self.shape += 1
            self.moved_units = self._moved_units
        for path in fresh:  # judged once every module of this update is known
            if self._candidate(path, outside):
                self._grow(self.candidates, path)
        self._units_moved = False
        self._moved_units = set()

    def _add(self, added: Iterable[str]) -> None:
        """Add paths a folder at a time: its exclusion judged, and it linked in, once."""
        by_folder: dict[str, list[str]] = {}
        for path in added:
            folder = path.rpartition("/")[0]
            if (group := by_folder.get(folder)) is None:
                by_folder[folder] = [path]
            else:
                group.append(path)
        for folder, paths in by_folder.items():
            if self._matches_exclude is not None:
                if self._folder_excluded(folder):
                    self.excluded.update(paths)
                    continue
                if gone := [path for path in paths if self._matches_exclude(path)]:
                    self.excluded.update(gone)
                    if not (paths := [path for path in paths if path not in self.excluded]):
                        continue
            self.paths.update(paths)
            self._link(folder, paths)
            self._classify_added(folder, paths)

    def _link(self, folder: str, members: Iterable[str]) -> None:
        """Put ``members`` (paths or folders) in ``folder``, and a new folder in its own folder:
        up only while folders are new, so a tree of n paths costs n steps, not n times its depth."""
        while (siblings := self.children.get(folder)) is None:
            self.children[folder] = set(members)
            if not folder:
                return
            self.folders.add(folder)
            kind = folder_kind(self.config.module_roots, self.config.component_roots, folder)
            if kind is not None:
                self.root_units[folder] = kind
                self._units_moved = True
                self._moved_units.add(folder)
            members, folder = (folder,), parent(folder)
        siblings.update(members)

    def _remove(self, path: str) -> None:
        self.paths.discard(path)
        child, folder = path, parent(path)
        # up while a folder is left empty: it is gone with its last path
        while (siblings := self.children.get(folder)) is not None:
            siblings.discard(child)
            if siblings:
                break
            del self.children[folder]
            if not folder:
                break
            self.folders.discard(folder)
            if self.root_units.pop(folder, None) is not None:
                self._units_moved = True
                self._moved_units.add(folder)
            child, folder = folder, parent(folder)
        self._unclassify(path)

    def _folder_excluded(self, folder: str) -> bool:
        """``ScanConfig.excluded`` for a folder, each folder's answer kept (its paths are matched
        alone). Up to the nearest folder already judged, then down again: no recursion, however deep."""
        unjudged: list[str] = []
        above = False
        while folder:
            known = self._excluded_folders.get(folder)
            if known is not None:
                above = known
                break
            unjudged.append(folder)
            folder = parent(folder)
        for folder in reversed(unjudged):
            above = above or bool(self._matches_exclude(folder))  # a bool: None would read as "not judged"
            self._excluded_folders[folder] = above
        return above

    def _classify_added(self, folder: str, paths: list[str]) -> None:
        """Index new ``paths``, all directly in ``folder``, by what their names make them."""
        is_marker = self._is_marker if folder else None  # a marker file at the root marks nothing
        in_workflows = paths[0].startswith(self._workflows)  # it ends in "/": one answer for a folder's paths
        cut = len(folder) + 1 if folder else 0
        for path in paths:
            if is_marker is not None and is_marker(path):
                self._mark(folder, +1)
            name = path[cut:]
            if name in CHAINSAW_FILES:
                self._grow(self.chainsaw, path)
            elif name.endswith(YAML_SUFFIXES):
                self.yaml.add(path)
                if name[0].isdigit() and STEP_FILE.match(name):
                    self._grow(self.steps, path)
                if in_workflows:
                    self._grow(self.workflows, path)
                else:
                    self._fresh.add(path)  # a candidate or not: see update

    def _unclassify(self, path: str) -> None:
        if self._is_marker is not None and self._is_marker(path) and parent(path):
            self._mark(parent(path), -1)
        for found in (self.chainsaw, self.steps, self.workflows, self.candidates):
            if path in found:
                found.discard(path)
                self.shape += 1
        self.yaml.discard(path)

    def _grow(self, found: set[str], path: str) -> None:
        found.add(path)
        self.shape += 1

    def _mark(self, folder: str, sign: int) -> None:
        count = self.marker_units.get(folder, 0) + sign
        if count > 0:
            self.marker_units[folder] = count
        else:
            self.marker_units.pop(folder, None)
        self._units_moved = True
        self._moved_units.add(folder)

    def _candidate(self, path: str, outside: dict[str, bool]) -> bool:
        if path.startswith(self._workflows):
            return False
        folder, _, name = path.rpartition("/")
        if name.startswith("kuttl-test"):
            return True
        found = outside.get(folder)  # in no module or component: asked once per folder and update
        if found is None:
            found = outside[folder] = self.holding(folder) is None
        return found


@lru_cache(maxsize=65536)
def folder_kind(module_roots: tuple[str, ...], component_roots: tuple[str, ...], folder: str) -> bool | None:
    """None for an ordinary folder; False for a module folder, True for a component folder."""
    if any(glob_match(root, folder) for root in module_roots):
        return False
    if any(glob_match(root, folder) for root in component_roots):
        return True
    return None


def _any_of(matchers: list[Callable[[str], object]]) -> Callable[[str], object] | None:
    """One matcher for many globs (None for none): a layout asks it of every path."""
    if len(matchers) <= 1:
        return matchers[0] if matchers else None
    return lambda path: any(match(path) for match in matchers)
