"""Tests linked to modules, kept up to date test by test across the commits of a walk.

A scan ends by linking every test's analysis to the modules it covers. ``Links``
keeps what each test contributed to each module (its "ops"), so the next commit
of a walk over history re-analyses only the tests whose reads it changed,
re-links only those, and rebuilds only the modules they touch or touched: the
cost of a commit follows the size of its change, not the size of the tree.

A module or component that comes or goes re-links the tests that asked about
its folder. ``Links.advance`` gives up (returns None) when a change can move
everything: a workflow, a suite's kustomization, or a file that holds or held a
kuttl TestSuite changed. The caller then scans in full and builds new ``Links``.
"""

from __future__ import annotations

import re
from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Iterable, Mapping
from operator import attrgetter
from typing import Protocol

from app.scanner.chainsaw import ChainsawFile, FluxLink, analyse_chainsaw
from app.scanner.layout import CHAINSAW_FILES, KUSTOMIZATION_FILES, STEP_FILE, Layout, basename, parent
from app.scanner.legacy import (
    KustomizeSuite,
    WorkflowRun,
    analyse_kustomize,
    analyse_kuttl_case,
    analyse_suite_file,
    holds_kuttl_objects,
)
from app.scanner.model import ChainsawEvidence, LegacyEvidence, Module, ScanWarning, Status
from app.scanner.parse import ParseCache
from app.scanner.snapshot import Snapshot, memoized, memoized_file

PAIR = re.compile(r"^(?P<stem>.+)-(?:core|extra)$")
# the order a full link walks the tests in, which is the order of each module's evidence
_SECTION = {"chainsaw": 0, "kustomize": 1, "kuttl-case": 2}
_ANALYSE = {"chainsaw": analyse_chainsaw, "kustomize": analyse_kustomize, "kuttl-case": analyse_kuttl_case}

Key = tuple[str, str]  # (analysis kind, test path): the memo key of a test's analysis
Op = tuple[str, str, object]  # ("chainsaw" | "legacy" | "dep", module path, evidence or manifest)
Result = tuple[list[Module], list[Module], list[ScanWarning]]
_PATH = attrgetter("path")  # each of a result's lists is sorted by it


class Analyses(Protocol):
    """What a full scan's analyses hand over (see ``core._Analyses``)."""

    tests: dict[Key, object]  # each test's analysis, in scan order; a kuttl case as (case, its TestSuite, counts)
    runs: dict[str, WorkflowRun]  # suite folder -> the workflow running it
    suites: dict[str, str]  # kuttl test dir -> the TestSuite file naming it
    suite_files: set[str]  # the candidates holding a TestSuite or a problem
    fixed: list[ScanWarning]  # the warnings of workflows and TestSuite files


def order(key: Key) -> tuple[int, str]:
    return _SECTION[key[0]], key[1]


class Links:
    """What every test of one snapshot contributes to which module, and the scan's result."""

    def __init__(self, layout: Layout, analyses: Analyses, blobs: ParseCache) -> None:
        self.generation = layout.generation  # the layout update these links hold at
        tests, runs, fixed = analyses.tests, analyses.runs, analyses.fixed
        self.runs, self.suites, self.suite_files = runs, analyses.suites, analyses.suite_files
        self.found: dict[Key, object] = dict(tests)
        self.ops: dict[Key, list[Op]] = {key: _ops(layout, key, found, runs) for key, found in tests.items()}
        self.by_module: dict[str, set[Key]] = {}
        for key, ops in self.ops.items():
            for _what, module, _arg in ops:
                self.by_module.setdefault(module, set()).add(key)
        self.counts: Counter[ScanWarning] = Counter(fixed)
        for key, found in tests.items():
            self.counts.update(_warnings(key, found))
        # what a change must not touch for ``advance`` to keep up (see the module doc)
        self.watch = frozenset(layout.workflows | set(layout.suite_kustomizations()))
        self.candidates = set(layout.candidates)  # may hold a TestSuite: see Layout.candidates
        self.reads = _ReadIndex(blobs, self.found)
        self.probes = _Probes(self.found)
        self.warnings_moved = False  # a warning appeared or went since the result was built
        self.result = self._build(layout)

    def _build(self, layout: Layout) -> Result:
        units = {folder: _unit(folder, component) for folder, component in layout.units().items()}
        for key in self.ops:  # in scan order: each module's evidence in a full link's order
            for op in self.ops[key]:
                _apply(units[op[1]], op)
        found = sorted(units.values(), key=lambda m: m.path)
        for unit in found:
            unit.status = _status(unit)
        _pair(found)
        return [u for u in found if not u.component], [u for u in found if u.component], sorted(self.counts, key=_by_place)

    # -- one commit further --------------------------------------------------
    def advance(self, layout: Layout, snapshot: Snapshot, blobs: ParseCache) -> Result | None:
        """The result after the layout's last update, from the tests that update touched;
        None when that update cannot be followed test by test (see the module doc)."""
        delta, moved = layout.delta, layout.moved_units
        if delta is None or self.generation != layout.generation - 1:
            return None
        if not self.watch.isdisjoint(delta) or any(self._watched(layout, p) for p in layout.added):
            return None
        recast = {p for p in delta if p in self.candidates or p in layout.candidates} | self._recast(layout, moved)
        if recast and not self._no_suites(layout, snapshot, blobs, recast):
            return None
        for path in recast:
            (self.candidates.add if path in layout.candidates else self.candidates.discard)(path)
        self.generation = layout.generation
        if not delta:
            return self.result
        dirty, folders, gone = self.reads.affected(delta, layout), set(), set()
        for path in delta:
            name = basename(path)
            if name in CHAINSAW_FILES:
                folders.add(parent(path))
                if path in layout.chainsaw:
                    dirty.add(("chainsaw", path))
                else:
                    gone.add(("chainsaw", path))
            elif STEP_FILE.match(name):
                folders.add(parent(path))
        cases = {}
        for folder in folders:
            suite = self._case(layout, snapshot, blobs, folder)
            if suite is False:
                gone.add(("kuttl-case", folder))
            else:
                cases[folder] = suite
                dirty.add(("kuttl-case", folder))
        touched: set[str] = set(moved)
        for key in gone:
            touched.update(self._forget(key))
        for key in dirty - gone:
            if key[0] != "kuttl-case" or key[1] in cases or key in self.found:
                touched.update(self._redo(key, snapshot, blobs, cases))
        for key in set().union(*(self.probes.at.get(unit, ()) for unit in moved)):
            if key in self.found:  # a module came or went where this test looks for one
                touched.update(self._set_ops(key, _ops(layout, key, self.found[key], self.runs)))
        if not touched and not self.warnings_moved:
            return self.result
        return self._rebuild(layout, touched | _pair_siblings(layout, moved))

    def _watched(self, layout: Layout, path: str) -> bool:
        """Whether an added path is one ``watch`` would hold: a workflow or a suite's kustomization."""
        if path in layout.workflows:
            return True
        return basename(path) in KUSTOMIZATION_FILES and parent(parent(path)) in layout.config.test_roots

    def _recast(self, layout: Layout, moved: set[str]) -> set[str]:
        """The YAML files beneath the modules that came or went that stopped or started being candidates."""
        return {
            path for path in layout.beneath(moved)
            if path in layout.yaml and (path in layout.candidates) != (path in self.candidates)
        }  # fmt: skip

    def _no_suites(self, layout: Layout, snapshot: Snapshot, blobs: ParseCache, paths: set[str]) -> bool:
        """Whether none of ``paths`` (candidates that changed, or stopped or started being one)
        holds or held a TestSuite (or a problem): else every kuttl case may have another
        TestSuite, and the scan is made in full."""
        if not self.suite_files.isdisjoint(paths):
            return False
        for path in paths:
            ref = snapshot.get(path) if path in layout.candidates else None
            if ref is not None and any(analyse_suite_file(blobs, path, ref)):
                return False
        return True

    def _case(self, layout: Layout, snapshot: Snapshot, blobs: ParseCache, folder: str) -> str | None | bool:
        """The TestSuite file of the kuttl case in ``folder`` (None: it has none), or False when
        ``folder`` holds no kuttl case: see ``core._analyse_kuttl``."""
        if any(f"{folder}/{name}".lstrip("/") in layout.chainsaw for name in CHAINSAW_FILES):
            return False
        steps = sorted(p for p in layout.children.get(folder, ()) if p in layout.steps)
        if not steps:
            return False
        suite = suite_of(folder, self.suites)
        if suite is None and not any(memoized_file(snapshot, blobs, "kuttl-objects", p, holds_kuttl_objects) for p in steps):
            return False
        return suite

    def _forget(self, key: Key) -> set[str]:
        found = self.found.pop(key, None)
        if found is None:
            return set()
        self.reads.drop(key)
        self.probes.drop(key)
        self._count(_warnings(key, found), -1)
        return self._set_ops(key, [])

    def _redo(self, key: Key, snapshot: Snapshot, blobs: ParseCache, cases: dict[str, str | None]) -> set[str]:
        kind, path = key
        result = memoized(snapshot, blobs, key, lambda reader: _ANALYSE[kind](reader, path))
        if kind == "kuttl-case":
            suite = cases[path] if path in cases else self.found[key][1]
            result = (result, suite, suite is not None or result.kuttl_objects)
        self.reads.drop(key)  # what it read may differ though its result does not
        self.reads.add(key)
        old = self.found.get(key)
        if old is not None and (old is result or old == result):
            return set()
        self.found[key] = result
        self.probes.drop(key)
        self.probes.add(key, result)
        if old is not None:
            self._count(_warnings(key, old), -1)
        self._count(_warnings(key, result), +1)
        return self._set_ops(key, _ops(snapshot.layout, key, result, self.runs))

    def _unit(self, layout: Layout, path: str) -> Module | None:
        """The module or component at ``path`` as a full link would make it; None if there is none."""
        if not _is_unit(layout, path):
            return None
        unit = _unit(path, layout.root_units.get(path, False))
        unit.pair = _pair_of(layout, unit)
        for key in sorted(self.by_module.get(path, ()), key=order):
            for op in self.ops[key]:
                if op[1] == path:
                    _apply(unit, op)
        unit.status = _status(unit)
        return unit

    def _count(self, warnings: Iterable[ScanWarning], sign: int) -> None:
        for warning in warnings:
            self.counts[warning] += sign
            if self.counts[warning] <= 0:
                del self.counts[warning]
                self.warnings_moved = True
            elif sign > 0 and self.counts[warning] == 1:
                self.warnings_moved = True

    def _set_ops(self, key: Key, ops: list[Op]) -> set[str]:
        old = self.ops.get(key, [])
        if old == ops:
            return set()
        modules = {op[1] for op in old} | {op[1] for op in ops}
        for module in {op[1] for op in old} - {op[1] for op in ops}:
            self.by_module[module].discard(key)
        for module in {op[1] for op in ops}:
            self.by_module.setdefault(module, set()).add(key)
        if ops:
            self.ops[key] = ops
        else:
            self.ops.pop(key, None)
        return modules

    def _rebuild(self, layout: Layout, touched: set[str]) -> Result:
        """The result with each touched unit made again, dropped or added, the others kept as
        they are. Each list stays sorted by path, so a unit is found and placed by bisection:
        a module born costs what it touched, not a sort of them all."""
        modules, components, warnings = self.result
        modules, components = list(modules), list(components)
        for path in touched:
            for units in (modules, components):  # where it was, if it was
                at = bisect_left(units, path, key=_PATH)
                if at < len(units) and units[at].path == path:
                    del units[at]
                    break
            unit = self._unit(layout, path)
            if unit is not None:
                insort(components if unit.component else modules, unit, key=_PATH)
        if self.warnings_moved:
            warnings = sorted(self.counts, key=_by_place)
            self.warnings_moved = False
        self.result = (modules, components, warnings)
        return self.result


class _Probes:
    """Which tests asked, about a path, which module holds it: every folder above the
    paths their links target and the folders they sit in. A module made or unmade
    at one of those folders can change what they cover."""

    def __init__(self, found: Mapping[Key, object]) -> None:
        self.at: dict[str, set[Key]] = {}
        self.of: dict[Key, set[str]] = {}
        for key, result in found.items():
            self.add(key, result)

    def add(self, key: Key, found: object) -> None:
        folders: set[str] = set()
        for path in _asked(key, found):
            while path and path not in folders:
                folders.add(path)
                path = parent(path)
        self.of[key] = folders
        for folder in folders:
            self.at.setdefault(folder, set()).add(key)

    def drop(self, key: Key) -> None:
        for folder in self.of.pop(key, ()):
            keys = self.at[folder]
            keys.discard(key)
            if not keys:
                del self.at[folder]


def _asked(key: Key, found: object) -> list[str]:
    """The paths ``_ops`` asks the layout about for this test."""
    if key[0] == "chainsaw":
        return [path for test in found.tests for path in (parent(test.file), *(link.target for link in test.links))]
    if key[0] == "kustomize":
        return [found.folder, *(link.target for link in found.links)]
    case, _suite, counts = found
    return [case.folder, *(link.target for link in case.links)] if counts else []


class _ReadIndex:
    """Which tests read each path, listed each folder, asked whether a path is a folder."""

    def __init__(self, blobs: ParseCache, keys: Iterable[Key]) -> None:
        self.blobs = blobs
        self.paths: dict[str, set[Key]] = {}
        self.listed: dict[str, set[Key]] = {}
        self.probed: dict[str, set[Key]] = {}
        self.globbed: set[Key] = set()
        self.of: dict[Key, tuple] = {}
        for key in keys:
            self.add(key)

    def add(self, key: Key) -> None:
        files, deps, _ = self.blobs.memo[key]
        paths = [path for path, _ref in files]
        listed = [arg for (kind, arg), _seen in deps if kind == "dir"]
        probed = [arg for (kind, arg), _seen in deps if kind == "isdir"]
        globbed = any(kind == "glob" for (kind, _arg), _seen in deps)
        self.of[key] = (paths, listed, probed, globbed)
        for index, found in ((self.paths, paths), (self.listed, listed), (self.probed, probed)):
            for item in found:
                index.setdefault(item, set()).add(key)
        if globbed:
            self.globbed.add(key)

    def drop(self, key: Key) -> None:
        paths, listed, probed, _globbed = self.of.pop(key, ((), (), (), False))
        for index, found in ((self.paths, paths), (self.listed, listed), (self.probed, probed)):
            for item in found:
                readers = index.get(item)
                if readers is not None:
                    readers.discard(key)
                    if not readers:
                        del index[item]
        self.globbed.discard(key)

    def affected(self, delta: frozenset[str], layout: Layout) -> set[Key]:
        """The tests a change of ``delta`` can change (``layout`` knows its folders)."""
        out = set(self.globbed)
        for path in delta:
            out.update(self.paths.get(path, ()))
        for folder in layout.delta_folders:
            out.update(self.listed.get(folder, ()))
        if self.probed:
            for path in layout.delta_reach:
                out.update(self.probed.get(path, ()))
        return out


# -- what one test contributes ------------------------------------------------
def _ops(layout: Layout, key: Key, found: object, runs: dict[str, WorkflowRun]) -> list[Op]:
    kind, path = key
    ops: list[Op] = []
    if kind == "chainsaw":
        assert isinstance(found, ChainsawFile)
        for test in found.tests:
            seen: set[str] = set()
            for module, link in _linked(layout, parent(test.file), test.links, ops):
                if module not in seen:
                    seen.add(module)
                    ops.append(("chainsaw", module, _chainsaw_evidence(test, link)))
    elif kind == "kustomize":
        assert isinstance(found, KustomizeSuite)
        run = runs.get(found.folder)
        for module, manifest in _linked(layout, found.folder, found.links, ops):
            evidence = LegacyEvidence(
                kind="kustomize", suite=found.folder, link=manifest, workflow=run.workflow if run else None,
                success_conditions=run.success_conditions if run else 0,
            )  # fmt: skip
            ops.append(("legacy", module, evidence))
    else:
        case, suite, counts = found
        if counts:
            for module, link in _linked(layout, case.folder, case.links, ops):
                if link == case.folder and suite is not None:
                    link = suite  # a folder inside the module: the TestSuite file is what makes it a test
                ops.append(("legacy", module, LegacyEvidence(kind="kuttl", suite=case.folder, link=link, steps=case.steps)))
    return ops


def _by_place(warning: ScanWarning) -> tuple[str, str]:
    return warning.path, warning.reason


def _warnings(key: Key, found: object) -> list[ScanWarning]:
    return found[0].warnings if key[0] == "kuttl-case" else found.warnings


def _linked(layout: Layout, folder: str, links: list[FluxLink], ops: list[Op]) -> list[tuple[str, str]]:
    """The modules ``links`` cover from a test in ``folder``; the rest become dependencies (ops).

    A Flux manifest covers the module at its ``spec.path`` only when it lives
    in the test's own folder (or a subfolder of it); one borrowed from elsewhere, or one deploying a
    path inside a module (a prerequisite), is recorded as a dependency.
    """
    covered: list[tuple[str, str]] = []
    for link in links:
        exact = link.target in layout.root_units or link.target in layout.marker_units
        if exact and _within(parent(link.manifest), folder):
            covered.append((link.target, link.manifest))
            continue
        holder = link.target if exact else layout.holding(link.target)
        if holder is not None:
            ops.append(("dep", holder, link.manifest))
    holder = layout.holding(folder)
    if holder is not None:  # a test folder inside a module's folder covers that module
        covered.append((holder, folder))
    return covered


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(f"{folder}/") or folder == ""


def _chainsaw_evidence(test, link: str) -> ChainsawEvidence:
    return ChainsawEvidence(
        test_file=test.file, link=link, asserts=test.asserts, errors=test.errors, scripts=test.scripts,
        files=list(test.files), name=test.name, unfollowed=list(test.unfollowed),
    )  # fmt: skip


def suite_of(folder: str, suites: dict[str, str]) -> str | None:
    for test_dir, suite in suites.items():
        if (test_dir == "" and folder != "") or folder.startswith(f"{test_dir}/"):
            return suite
    return None


# -- modules -------------------------------------------------------------------
def _unit(folder: str, component: bool) -> Module:
    name = folder.rpartition("/")[2]
    group = "components" if component else folder.split("/", 1)[0]
    return Module(path=folder, name=name, group=group, component=component)


def _is_unit(layout: Layout, path: str) -> bool:
    return path in layout.root_units or path in layout.marker_units


def _pair_of(layout: Layout, unit: Module) -> str | None:
    match = PAIR.match(unit.name)
    if match is None:
        return None
    folder, stem = parent(unit.path), match["stem"]
    both = (f"{folder}/{stem}-core".lstrip("/"), f"{folder}/{stem}-extra".lstrip("/"))
    return stem if all(_is_unit(layout, path) for path in both) else None


def _pair_siblings(layout: Layout, moved: set[str]) -> set[str]:
    """The units whose pair a module made or unmade in ``moved`` can change."""
    out = set()
    for folder in moved:
        match = PAIR.match(basename(folder))
        if match:
            for end in ("core", "extra"):
                sibling = f"{parent(folder)}/{match['stem']}-{end}".lstrip("/")
                if _is_unit(layout, sibling):
                    out.add(sibling)
    return out


def _apply(unit: Module, op: Op) -> None:
    what, _module, arg = op
    evidence = unit.evidence
    if what == "chainsaw":
        evidence.chainsaw.append(arg)
    elif what == "legacy":
        evidence.legacy.append(arg)
    elif arg not in evidence.dependencies:
        evidence.dependencies.append(arg)


def _status(unit: Module) -> Status:
    return Status.of(bool(unit.evidence.chainsaw), bool(unit.evidence.legacy))


def _pair(units: list[Module]) -> None:
    """``X-core`` and ``X-extra`` side by side share ``pair = "X"``."""
    paths = {u.path for u in units}
    for unit in units:
        match = PAIR.match(unit.name)
        if match:
            folder = parent(unit.path)
            stem = match["stem"]
            both = {f"{folder}/{stem}-core".lstrip("/"), f"{folder}/{stem}-extra".lstrip("/")}
            if both <= paths:
                unit.pair = stem
