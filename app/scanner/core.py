"""The scan of one snapshot: files in, modules, components and warnings out.

``scan_files(files, blobs, config)`` is pure over its arguments: ``files``
maps every path of a commit's tree to its ``BlobRef`` and ``blobs`` (a
``ParseCache``) is the only way it looks inside them. ``app.scanner.scan``
calls it once for a ref; a walk over history calls it once per commit with
its own incrementally maintained ``files`` dict and ONE shared ``ParseCache``.

What makes the walk cheap: each test is analysed by a separate pure function
(``analyse_chainsaw`` per chainsaw test file, ``analyse_kustomize`` per legacy
suite folder, ``analyse_kuttl_case`` per kuttl test folder), and
``memoized`` stores each result on the shared ParseCache with the BlobRef of
every file, and the listing of every folder or glob, that the analysis read;
at the next commit the result is reused when those are unchanged, which they
are for nearly every test at nearly every commit. One-file analyses
(workflows, kuttl TestSuite files, kuttl step objects) go through the cheaper
``memoized_file``: one identity or sha test per call.
``Layout`` (app.scanner.layout), also kept on the ParseCache, follows the
tree's folders, modules and test files from call to call through the paths
added and removed, so no call walks the whole tree again. Told the changed
paths, a call goes further (``Links``, app.scanner.links): it asks again only
the analyses whose reads the change touched, re-links only those tests and
rebuilds only the modules they cover, and hands back the previous result
itself when nothing moved. Treat results as read-only when a ParseCache is shared.
A caller may keep ``files`` down to the paths ``relevant(path, config)``
accepts when it uses no marker rule.

Reading blobs one at a time costs a round trip to git each; give the
ParseCache a bulk reader (``ParseCache.over(source)``, which also asks git for sizes) and
``prefetch`` what is about to be read (``likely_reads(files, config, blobs)`` for a
first scan, a commit's changed blobs in a walk) to pipeline them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from app.scanner.chainsaw import analyse_chainsaw
from app.scanner.config import ScanConfig, marker_test
from app.scanner.layout import CHAINSAW_FILES, YAML_SUFFIXES, Layout, folder_kind, parent
from app.scanner.legacy import (
    WorkflowRun,
    analyse_kustomize,
    analyse_kuttl_case,
    analyse_suite_file,
    analyse_workflow,
    holds_kuttl_objects,
)
from app.scanner.links import Links, suite_of
from app.scanner.model import MissingObject, Module, ScanWarning
from app.scanner.parse import ParseCache
from app.scanner.snapshot import Reader, Snapshot, memoized, memoized_file, same_blob
from app.scanner.source import BlobRef

T = TypeVar("T")


def scan_files(
    files: Mapping[str, BlobRef],
    blobs: ParseCache,
    config: ScanConfig,
    changed: Collection[str] | None = None,
) -> tuple[list[Module], list[Module], list[ScanWarning]]:
    """Modules (sorted by path), components, and warnings of one snapshot.

    ``changed``, optional: the paths added, edited or removed in ``files``
    since the previous call with this same mapping and ParseCache (a history
    walk knows them from ``git log --raw``); an edit of a blob no analysis
    looked inside, whose byte tests all answer as before, may be left out (a
    walk leaves them out: see ``TrackingCache.may_change``). With it, the call
    re-analyses and re-links only the tests those paths touch
    (``app.scanner.links``); it is ignored when ``files`` is another mapping
    than last time.
    """
    try:
        return _scan_files(files, blobs, config, changed)
    except MissingObject as exc:  # the reader knew the sha only: name the file
        raise exc.named(files) from exc


def _scan_files(
    files: Mapping[str, BlobRef], blobs: ParseCache, config: ScanConfig, changed: Collection[str] | None
) -> tuple[list[Module], list[Module], list[ScanWarning]]:
    previous = _last(blobs, config)
    layout = _layout(files, blobs, config, changed)
    if layout.links is not None:  # the last call left its links: follow this change test by test
        result = layout.links.advance(layout, Snapshot(files, layout), blobs)
        if result is not None:
            layout.last = None  # the shortcuts below trust reads only a full scan notes
            return result
    if layout.followed_changes and previous is not None and previous[0] == layout.shape and not layout.touched(changed):
        return _same(layout, previous[2])  # nothing this call changed was read by the last scan
    analyses = _analyse(Snapshot(files, layout), blobs, layout)
    if analyses.recomputed or previous is None or previous[0] != layout.shape or not _same_keys(previous[1], analyses.used):
        _note_reads(layout, blobs, analyses.used)  # else the same memo entries as last time: the same reads
    same = previous is not None and previous[0] == layout.shape and _same_results(previous[1], analyses.used)
    if same and not analyses.recomputed:  # a test analysed again may read other files: the links are made anew
        return _same(layout, previous[2])  # nothing a scan depends on changed since the last call
    layout.links = Links(layout, analyses, blobs)
    result = layout.links.result
    layout.last = (layout.shape, analyses.used, result)
    return result


def _same(layout: Layout, result: tuple) -> tuple:
    """``result``, the last full scan's, holds at this update too: so do the links it left."""
    if layout.links is not None and layout.links.result is result:
        layout.links.generation = layout.generation
    return result


def _last(blobs: ParseCache, config: ScanConfig) -> tuple | None:
    layout = blobs.memo.get(("layout", config))
    return layout.last if layout is not None else None


def _note_reads(layout: Layout, blobs: ParseCache, used: list[tuple[tuple, object]]) -> None:
    """What the analyses just used looked at, so a later call can tell whether its changes matter."""
    reads: set[str] = set(layout.candidates) | layout.steps | layout.chainsaw | layout.workflows
    listed: set[str] = set()
    dir_tests: set[str] = set()
    globbed = False
    for key, _result in used:
        entry = blobs.memo.get(key)
        if len(key) != 2 or not isinstance(entry, tuple) or len(entry) != 3:
            continue  # one-file analyses: their path is among the sets above
        files, deps, _ = entry
        reads.update(path for path, _ref in files)
        for (kind, arg), _seen in deps:
            if kind == "dir":
                listed.add(arg)
            elif kind == "isdir":
                reads.add(arg)
                dir_tests.add(arg)
            elif kind == "glob":
                globbed = True
    reads.update(layout.suite_kustomizations())
    layout.reads, layout.listed, layout.dir_tests, layout.globbed = reads, listed, dir_tests, globbed


def _same_keys(before: list[tuple[tuple, object]], now: list[tuple[tuple, object]]) -> bool:
    return len(before) == len(now) and all(b[0] == n[0] for b, n in zip(before, now))


def _same_results(before: list[tuple[tuple, object]], now: list[tuple[tuple, object]]) -> bool:
    # a memoized analysis hands back the very object while its inputs hold, so identity decides fast
    return len(before) == len(now) and all(b[0] == n[0] and (b[1] is n[1] or b[1] == n[1]) for b, n in zip(before, now))


def relevant(path: str, config: ScanConfig) -> bool:
    """Whether a path can matter to a scan under a config without a marker rule.

    Test roots, workflows, YAML outside modules and module and component
    folders; a history walk may keep its ``files`` to these.
    """
    if path == "sawmill.yaml" or path.startswith(f"{config.workflows}/"):
        return True
    if any(path.startswith(f"{root}/") for root in config.test_roots):
        return True
    return _in_unit(path, config) or path.endswith(YAML_SUFFIXES)


def likely_reads(files: Mapping[str, BlobRef], config: ScanConfig, blobs: ParseCache | None = None) -> list[BlobRef]:
    """The blobs a scan of ``files`` will most likely read, for ``ParseCache.prefetch``.

    Chainsaw test files, workflows, numbered step files and YAML outside
    module folders. Given the ParseCache, it finds them through the layout
    ``scan_files`` then reuses.
    """
    if blobs is not None:
        layout = _layout(files, blobs, config)
        return [files[p] for p in layout.chainsaw | layout.workflows | layout.steps | layout.candidates]
    return [files[path] for path in likely_paths(files, config)]


def likely_paths(paths: Iterable[str], config: ScanConfig) -> list[str]:
    """``likely_reads`` judged by name and place alone: chainsaw test files, and YAML
    files in no module or component folder (marker files aside)."""
    out = []
    inside: dict[str, bool] = {}  # folder -> in a module or component: asked once per folder
    # a marker file makes its folder a module and is never read there (only one at the root is a candidate)
    is_marker = marker_test(config.marker) if config.marker else None
    for path in paths:
        folder, _, name = path.rpartition("/")
        if name in CHAINSAW_FILES:
            out.append(path)
        elif name.endswith(YAML_SUFFIXES) and not (is_marker is not None and folder and is_marker(path)):
            held = inside.get(folder)
            if held is None:
                held = inside[folder] = _in_unit(path, config)
            if not held:
                out.append(path)
    return out


def _layout(
    files: Mapping[str, BlobRef], blobs: ParseCache, config: ScanConfig, changed: Collection[str] | None = None
) -> Layout:
    layout = blobs.memo.get(("layout", config))
    if layout is None:
        layout = blobs.memo[("layout", config)] = Layout(config)
    layout.update(files, changed)
    return layout


def _in_unit(path: str, config: ScanConfig) -> bool:
    folder = parent(path)
    while folder:
        if folder_kind(config.module_roots, config.component_roots, folder) is not None:
            return True
        folder = parent(folder)
    return False


# -- analyses (memoized) -----------------------------------------------------
@dataclass
class _Analyses:
    runs: dict[str, WorkflowRun] = field(default_factory=dict)
    used: list[tuple[tuple, object]] = field(default_factory=list)  # (analysis key, result), in order
    tests: dict[tuple, object] = field(default_factory=dict)  # each test's analysis, for Links
    suites: dict[str, str] = field(default_factory=dict)  # kuttl test dir -> the TestSuite file naming it
    suite_files: set[str] = field(default_factory=set)  # the candidates holding a TestSuite or a problem
    fixed: list[ScanWarning] = field(default_factory=list)  # warnings of workflows and TestSuite files
    recomputed: bool = False  # a memoized analysis ran again: what the scan read may differ


class _Run:
    """The analyses of one call, each through its memo, noting which results were used."""

    def __init__(self, snapshot: Snapshot, blobs: ParseCache) -> None:
        self.snapshot = snapshot
        self.blobs = blobs
        self.out = _Analyses()

    def many(self, kind: str, path: str, analyse: Callable[[Reader, str], T]) -> T:
        key = (kind, path)
        before = self.blobs.memo.get(key)
        result = memoized(self.snapshot, self.blobs, key, lambda reader: analyse(reader, path))
        if self.blobs.memo.get(key) is not before:
            self.out.recomputed = True
        self.out.used.append((key, result))
        return result

    def one(self, kind: str, path: str, analyse: Callable[[ParseCache, str, BlobRef], T]) -> T | None:
        result = memoized_file(self.snapshot, self.blobs, kind, path, analyse)
        self.out.used.append(((kind, path), result))
        return result


def _analyse(snapshot: Snapshot, blobs: ParseCache, layout: Layout) -> _Analyses:
    run = _Run(snapshot, blobs)
    out = run.out
    for path in sorted(layout.chainsaw):
        out.tests[("chainsaw", path)] = run.many("chainsaw", path, analyse_chainsaw)
    for path in sorted(layout.workflows):
        runs, problems = run.one("workflow", path, analyse_workflow) or ([], [])
        out.fixed += problems
        for found in runs:
            out.runs.setdefault(found.test_path, found)
    for path in layout.suite_kustomizations():
        out.tests[("kustomize", path)] = run.many("kustomize", path, analyse_kustomize)
    _analyse_kuttl(run, layout)
    return out


def _analyse_kuttl(run: _Run, layout: Layout) -> None:
    out = run.out
    suites = out.suites  # test dir -> the TestSuite file naming it
    for path, (dirs, problems) in _suite_files(run, layout):
        out.suite_files.add(path)
        out.fixed += problems
        for folder in dirs:
            suites.setdefault(folder, path)
    chainsaw_folders = {parent(p) for p in layout.chainsaw}
    cases: dict[str, str | None] = {}
    for path in sorted(layout.steps):
        folder = parent(path)
        if folder in cases or folder in chainsaw_folders:
            continue  # a folder with a chainsaw test is chainsaw, step files beside it or not
        suite = suite_of(folder, suites)
        if suite is not None or run.one("kuttl-objects", path, holds_kuttl_objects):
            cases[folder] = suite
    for folder, suite in sorted(cases.items()):
        case = run.many("kuttl-case", folder, analyse_kuttl_case)
        out.tests[("kuttl-case", folder)] = (case, suite, suite is not None or case.kuttl_objects)


def _suite_files(run: _Run, layout: Layout) -> tuple:
    """The candidates that hold a kuttl TestSuite (or a problem), with their testDirs.

    Every YAML file outside the modules is a candidate, so this loop runs over
    many files at every call: it keeps to one lookup and one identity test for
    a file whose blob has not changed.
    """
    memo = run.blobs.memo.setdefault(("kuttl-suites",), {})
    get = run.snapshot.get
    found = []
    for path in layout.sorted_candidates():
        ref = get(path)
        entry = memo.get(path)
        if entry is None or not same_blob(entry[0], ref):
            entry = memo[path] = (ref, analyse_suite_file(run.blobs, path, ref) if ref is not None else ([], []))
        if entry[1][0] or entry[1][1]:
            found.append((path, entry[1]))
    found = tuple(found)
    run.out.used.append((("kuttl-suites",), found))
    return found
