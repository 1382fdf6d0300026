"""The scan of one snapshot: files in, modules, components and warnings out.

``scan_files(files, blobs, config)`` is pure over its arguments: ``files``
maps every path of a commit's tree to its ``BlobRef`` and ``blobs`` (a
``ParseCache``) is the only way it looks inside them. ``app.scanner.scan``
calls it once for a ref; a walk over history calls it once per commit with
its own incrementally maintained ``files`` dict and ONE shared ``ParseCache``.

What makes the walk cheap: each test is analysed by a separate pure function
(``analyse_chainsaw`` per chainsaw test file, ``analyse_kustomize`` per legacy
suite, ``analyse_workflow`` per workflow, ``analyse_kuttl_case`` per kuttl
test folder). ``memoized`` stores each result on the shared ParseCache with
the (mode, sha) of every file, and the listing of every folder or glob, that
the analysis read; at the next commit the result is reused when those are
unchanged, which they are for nearly every test at nearly every commit. What
remains per call is one pass over ``files`` (finding modules and test files)
and the linking of tests to modules, both linear and cheap. A caller may keep
``files`` down to the paths ``relevant(path, config)`` accepts when it uses
no marker rule.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from functools import lru_cache

from app.scanner.chainsaw import CHAINSAW_FILES, ChainsawTest, FluxLink, analyse_chainsaw
from app.scanner.config import ScanConfig, glob_match
from app.scanner.legacy import (
    STEP_FILE,
    YAML_FILE,
    WorkflowRun,
    analyse_kustomize,
    analyse_kuttl_case,
    analyse_suite_file,
    analyse_workflow,
    holds_kuttl_objects,
    kustomization_in,
)
from app.scanner.model import ChainsawEvidence, LegacyEvidence, Module, ScanWarning, Status
from app.scanner.parse import ParseCache
from app.scanner.snapshot import Reader, Snapshot, memoized
from app.scanner.source import BlobRef

PAIR = re.compile(r"^(?P<stem>.+)-(?:core|extra)$")


def scan_files(
    files: Mapping[str, BlobRef], blobs: ParseCache, config: ScanConfig
) -> tuple[list[Module], list[Module], list[ScanWarning]]:
    """Modules (sorted by path), components, and warnings of one snapshot."""
    snapshot = Snapshot(files, config)
    catalog = Catalog(snapshot, config)
    found = _find_test_files(snapshot, catalog, config)
    warnings: list[ScanWarning] = []
    chainsaw_folders = set()
    for path in found.chainsaw:
        result = memoized(snapshot, blobs, ("chainsaw", path), lambda r, p=path: analyse_chainsaw(r, p))
        warnings += result.warnings
        chainsaw_folders.add(posixpath.dirname(path))
        for test in result.tests:
            _cover_chainsaw(catalog, test)
    runs = _workflow_runs(snapshot, blobs, found.workflows, warnings)
    for kustomization in _suite_kustomizations(snapshot, config):
        suite = memoized(snapshot, blobs, ("kustomize", kustomization), lambda r, k=kustomization: analyse_kustomize(r, k))
        warnings += suite.warnings
        run = runs.get(suite.folder)
        for module, manifest in _linked(catalog, suite.folder, suite.links):
            module.evidence.legacy.append(
                LegacyEvidence(
                    kind="kustomize",
                    suite=suite.folder,
                    link=manifest,
                    workflow=run.workflow if run else None,
                    success_conditions=run.success_conditions if run else 0,
                )
            )
    _cover_kuttl(snapshot, blobs, catalog, found, chainsaw_folders, warnings)
    modules, components = catalog.finish()
    return modules, components, _unique(warnings)


def relevant(path: str, config: ScanConfig) -> bool:
    """Whether a path can matter to a scan under a config without a marker rule.

    Test roots, workflows, YAML outside modules and module and component
    folders; a history walk may keep its ``files`` to these.
    """
    if path == "sawmill.yaml" or path.startswith(f"{config.workflows}/"):
        return True
    if any(path.startswith(f"{root}/") for root in config.test_roots):
        return True
    folder = posixpath.dirname(path)
    while folder:
        if _folder_kind(config.module_roots, config.component_roots, folder):
            return True
        folder = posixpath.dirname(folder)
    return YAML_FILE.search(path) is not None


# -- modules -----------------------------------------------------------------
class Catalog:
    """The modules and components of a snapshot, with their evidence as it is found."""

    def __init__(self, snapshot: Snapshot, config: ScanConfig) -> None:
        self.units: dict[str, Module] = {}
        for folder in snapshot.dirs:
            kind = _folder_kind(config.module_roots, config.component_roots, folder)
            if kind:
                self._add(folder, component=kind == "component")
        if config.marker:
            for path in snapshot.files:
                folder = posixpath.dirname(path)
                if folder and folder not in self.units and glob_match(config.marker, path):
                    self._add(folder, component=False)

    def _add(self, folder: str, component: bool) -> None:
        name = posixpath.basename(folder)
        group = "components" if component else folder.split("/", 1)[0]
        self.units[folder] = Module(path=folder, name=name, group=group, component=component)

    def exact(self, path: str) -> Module | None:
        return self.units.get(path)

    def holding(self, path: str) -> Module | None:
        """The innermost module or component whose folder holds ``path`` (or is it)."""
        while path:
            unit = self.units.get(path)
            if unit is not None:
                return unit
            path = posixpath.dirname(path)
        return None

    def finish(self) -> tuple[list[Module], list[Module]]:
        units = sorted(self.units.values(), key=lambda m: m.path)
        for unit in units:
            unit.status = Status.of(bool(unit.evidence.chainsaw), bool(unit.evidence.legacy))
        _pair(units)
        return [u for u in units if not u.component], [u for u in units if u.component]


@lru_cache(maxsize=65536)
def _folder_kind(module_roots: tuple[str, ...], component_roots: tuple[str, ...], folder: str) -> str | None:
    if any(glob_match(root, folder) for root in module_roots):
        return "module"
    if any(glob_match(root, folder) for root in component_roots):
        return "component"
    return None


def _pair(units: list[Module]) -> None:
    """``X-core`` and ``X-extra`` side by side share ``pair = "X"``."""
    paths = {u.path for u in units}
    for unit in units:
        match = PAIR.match(unit.name)
        if match:
            parent = posixpath.dirname(unit.path)
            stem = match["stem"]
            both = {posixpath.join(parent, f"{stem}-core"), posixpath.join(parent, f"{stem}-extra")}
            if both <= paths:
                unit.pair = stem


# -- finding tests -----------------------------------------------------------
class _Found:
    def __init__(self) -> None:
        self.chainsaw: list[str] = []
        self.workflows: list[str] = []
        self.suite_candidates: list[str] = []  # files that may hold a kuttl TestSuite
        self.step_files: list[str] = []


def _find_test_files(snapshot: Snapshot, catalog: Catalog, config: ScanConfig) -> _Found:
    found = _Found()
    workflows = f"{config.workflows}/"
    for path in sorted(snapshot.files):
        base = path.rpartition("/")[2]
        if base in CHAINSAW_FILES:
            found.chainsaw.append(path)
            continue
        if not YAML_FILE.search(base):
            continue
        if STEP_FILE.match(base):
            found.step_files.append(path)
        if path.startswith(workflows):
            found.workflows.append(path)
        elif base.startswith("kuttl-test") or catalog.holding(posixpath.dirname(path)) is None:
            found.suite_candidates.append(path)
    return found


def _suite_kustomizations(snapshot: Snapshot, config: ScanConfig) -> list[str]:
    """Kustomizations directly in a suite folder: a direct subfolder of a test root."""
    roots = set(config.test_roots)
    out = []
    for folder in sorted(snapshot.dirs):
        if posixpath.dirname(folder) in roots:
            kustomization = kustomization_in(snapshot.listdir(folder))
            if kustomization is not None:
                out.append(kustomization)
    return out


def _workflow_runs(
    snapshot: Snapshot, blobs: ParseCache, workflows: list[str], warnings: list[ScanWarning]
) -> dict[str, WorkflowRun]:
    runs: dict[str, WorkflowRun] = {}
    for path in workflows:
        found, problems = memoized(snapshot, blobs, ("workflow", path), lambda r, p=path: analyse_workflow(r, p))
        warnings += problems
        for run in found:
            runs.setdefault(run.test_path, run)
    return runs


# -- linking tests to modules ------------------------------------------------
def _linked(catalog: Catalog, folder: str, links: list[FluxLink]) -> list[tuple[Module, str]]:
    """The modules ``links`` cover from a test in ``folder``; the rest become dependencies.

    A Flux manifest covers the module at its ``spec.path`` only when it lives
    in the test's own folder (or a subfolder of it); one borrowed from elsewhere, or one deploying a
    path inside a module (a prerequisite), is recorded as a dependency.
    """
    covered: list[tuple[Module, str]] = []
    for link in links:
        module = catalog.exact(link.target)
        if module is not None and _within(posixpath.dirname(link.manifest), folder):
            covered.append((module, link.manifest))
            continue
        holder = module or catalog.holding(link.target)
        if holder is not None and link.manifest not in holder.evidence.dependencies:
            holder.evidence.dependencies.append(link.manifest)
    holder = catalog.holding(folder)
    if holder is not None:  # a test folder inside a module's folder covers that module
        covered.append((holder, folder))
    return covered


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(f"{folder}/") or folder == ""


def _cover_chainsaw(catalog: Catalog, test: ChainsawTest) -> None:
    seen: set[str] = set()
    for module, link in _linked(catalog, posixpath.dirname(test.file), test.links):
        if module.path in seen:
            continue
        seen.add(module.path)
        module.evidence.chainsaw.append(
            ChainsawEvidence(
                test_file=test.file,
                link=link,
                asserts=test.asserts,
                errors=test.errors,
                scripts=test.scripts,
                files=list(test.files),
                name=test.name,
                unfollowed=list(test.unfollowed),
            )
        )


def _cover_kuttl(
    snapshot: Snapshot,
    blobs: ParseCache,
    catalog: Catalog,
    found: _Found,
    chainsaw_folders: set[str],
    warnings: list[ScanWarning],
) -> None:
    suites: dict[str, str] = {}  # test dir -> the TestSuite file naming it
    for path in found.suite_candidates:
        dirs, problems = memoized(snapshot, blobs, ("kuttl-suite", path), lambda r, p=path: analyse_suite_file(r, p))
        warnings += problems
        for folder in dirs:
            suites.setdefault(folder, path)
    cases: dict[str, str | None] = {}  # case folder -> its TestSuite file, if any
    reader = Reader(snapshot, blobs)
    for path in found.step_files:
        folder = posixpath.dirname(path)
        if folder in cases or folder in chainsaw_folders:
            continue  # a folder with a chainsaw test is chainsaw, step files beside it or not
        suite = _suite_of(folder, suites)
        if suite is not None or holds_kuttl_objects(reader, path):
            cases[folder] = suite
    for folder, suite in sorted(cases.items()):
        case = memoized(snapshot, blobs, ("kuttl-case", folder), lambda r, f=folder: analyse_kuttl_case(r, f))
        warnings += case.warnings
        if suite is None and not case.kuttl_objects:
            continue
        for module, link in _linked(catalog, folder, case.links):
            if link == folder and suite is not None:
                link = suite  # a folder inside the module: the TestSuite file is what makes it a test
            module.evidence.legacy.append(LegacyEvidence(kind="kuttl", suite=folder, link=link, steps=case.steps))


def _suite_of(folder: str, suites: dict[str, str]) -> str | None:
    for test_dir, suite in suites.items():
        if (test_dir == "" and folder != "") or folder.startswith(f"{test_dir}/"):
            return suite
    return None


def _unique(warnings: list[ScanWarning]) -> list[ScanWarning]:
    return sorted(set(warnings), key=lambda w: (w.path, w.reason))
