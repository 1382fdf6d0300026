"""Legacy tests: kustomize suites driven by GitHub workflows, and kuttl.

``analyse_kustomize`` and ``analyse_kuttl_case`` read several files through a
``Reader`` and are memoized like ``app.scanner.chainsaw.analyse_chainsaw``;
the one-file analyses (workflows, TestSuite files, kuttl objects) take the
blob itself and are memoized by ``memoized_file``.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

import yaml

from app.scanner.chainsaw import FluxLink, flux_target
from app.scanner.layout import STEP_FILE
from app.scanner.model import ScanWarning
from app.scanner.parse import TOO_LARGE, ParseCache
from app.scanner.snapshot import Reader, resolve
from app.scanner.source import BlobRef
from app.scanner.yamlload import AliasBomb, load, mappings


@dataclass
class KustomizeSuite:
    folder: str
    kustomization: str
    links: list[FluxLink] = field(default_factory=list)
    warnings: list[ScanWarning] = field(default_factory=list)


@dataclass(frozen=True)
class WorkflowRun:
    """One place a workflow passes a suite folder as ``test_path``."""

    workflow: str
    test_path: str
    success_conditions: int


@dataclass
class KuttlCase:
    folder: str
    steps: int = 0
    kuttl_objects: bool = False  # holds kuttl.dev TestStep/TestAssert objects
    links: list[FluxLink] = field(default_factory=list)
    warnings: list[ScanWarning] = field(default_factory=list)


def is_step_file(path: str) -> bool:
    return STEP_FILE.match(posixpath.basename(path)) is not None


# -- kustomize suites --------------------------------------------------------
def analyse_kustomize(reader: Reader, kustomization: str) -> KustomizeSuite:
    folder = posixpath.dirname(kustomization)
    suite = KustomizeSuite(folder=folder, kustomization=kustomization)
    parsed = reader.parse(kustomization)
    if parsed is None:
        return suite
    if parsed.problem:
        suite.warnings.append(ScanWarning(kustomization, parsed.problem))
        return suite
    for doc in parsed.docs:
        resources = doc.get("resources") if isinstance(doc, dict) else None
        for entry in resources if isinstance(resources, list) else []:
            if isinstance(entry, str):
                _resource(reader, suite, entry)
    return suite


def _resource(reader: Reader, suite: KustomizeSuite, entry: str) -> None:
    if "://" in entry:
        return  # a remote base: recorded by kustomize, nothing to follow here
    path = resolve(suite.folder, entry)
    if path is None:
        suite.warnings.append(ScanWarning(suite.kustomization, f"reference leaves the repository: {entry}"))
        return
    if reader.is_dir(path):
        return  # another kustomization (a base or a prerequisite), not a Flux manifest of this suite
    parsed = reader.parse(path)
    if parsed is None:
        suite.warnings.append(ScanWarning(suite.kustomization, f"missing file: {path}"))
        return
    if parsed.problem:
        suite.warnings.append(ScanWarning(path, parsed.problem))
    for doc in parsed.docs:
        target = flux_target(doc)
        if target is not None:
            suite.links.append(FluxLink(manifest=path, target=target))


# -- workflows ---------------------------------------------------------------
def analyse_workflow(blobs: ParseCache, path: str, ref: BlobRef) -> tuple[list[WorkflowRun], list[ScanWarning]]:
    parsed = blobs.parse(ref)
    if parsed.problem:
        return [], [ScanWarning(path, parsed.problem)]
    runs: list[WorkflowRun] = []
    warnings: list[ScanWarning] = []
    for node in mappings(list(parsed.docs)):
        test_path = node.get("test_path")
        if isinstance(test_path, str) and test_path.strip():
            folder = resolve("", test_path.strip())
            count = _count_conditions(node.get("success_conditions"), path, warnings)
            if folder is not None:
                runs.append(WorkflowRun(workflow=path, test_path=folder, success_conditions=count))
    return runs, warnings


def _count_conditions(value: object, path: str, warnings: list[ScanWarning]) -> int:
    if isinstance(value, str):  # YAML inside a string input, as workflow_call inputs carry it
        try:
            value = load(value)
        except AliasBomb as exc:
            warnings.append(ScanWarning(path, f"success_conditions: {exc}, not read"))
            return 0
        except yaml.YAMLError:
            warnings.append(ScanWarning(path, "success_conditions is not valid YAML"))
            return 0
    if isinstance(value, list):
        return len(value)
    return 1 if isinstance(value, dict) else 0


# -- kuttl -------------------------------------------------------------------
def is_kuttl(doc: object, *kinds: str) -> bool:
    return (
        isinstance(doc, dict)
        and str(doc.get("apiVersion", "")).startswith("kuttl.dev/")
        and doc.get("kind") in kinds
    )


def analyse_suite_file(blobs: ParseCache, path: str, ref: BlobRef) -> tuple[list[str], list[ScanWarning]]:
    """The ``testDirs`` of the kuttl TestSuites in a file, as repository paths ("" is the root)."""
    if not blobs.holds(ref, (b"TestSuite",)):  # a cheap byte test spares parsing every YAML file outside the modules
        if blobs.unreadable(ref) == TOO_LARGE:  # it could have been a TestSuite: say that it was not looked at
            return [], [ScanWarning(path, TOO_LARGE)]
        return [], []
    parsed = blobs.parse(ref)
    if parsed.problem:
        return [], [ScanWarning(path, parsed.problem)]
    dirs: list[str] = []
    warnings: list[ScanWarning] = []
    for doc in parsed.docs:
        if not is_kuttl(doc, "TestSuite"):
            continue
        entries = doc.get("testDirs") or []
        if not isinstance(entries, list):
            warnings.append(ScanWarning(path, "testDirs is not a list"))
            continue
        for entry in entries:
            folder = resolve("", str(entry))  # relative to where kuttl runs: the repository root
            if folder is None:
                warnings.append(ScanWarning(path, f"reference leaves the repository: {entry}"))
            elif folder not in dirs:
                dirs.append(folder)
    return dirs, warnings


def holds_kuttl_objects(blobs: ParseCache, path: str, ref: BlobRef) -> bool:
    if not blobs.holds(ref, (b"kuttl.dev",)):
        return False
    parsed = blobs.parse(ref)
    return any(is_kuttl(d, "TestStep", "TestAssert") for d in parsed.docs)


def analyse_kuttl_case(reader: Reader, folder: str) -> KuttlCase:
    case = KuttlCase(folder=folder)
    for path in sorted(reader.listdir(folder)):
        if not is_step_file(path):
            continue
        case.steps += 1
        parsed = reader.parse(path)
        if parsed.problem:
            case.warnings.append(ScanWarning(path, parsed.problem))
            continue
        for doc in parsed.docs:
            case.kuttl_objects = case.kuttl_objects or is_kuttl(doc, "TestStep", "TestAssert")
            target = flux_target(doc)
            if target is not None:
                case.links.append(FluxLink(manifest=path, target=target))
    return case
