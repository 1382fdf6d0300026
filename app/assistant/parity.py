"""Parity: what a migration to chainsaw dropped of a module's legacy checks.

For a migrated module, the checks its legacy suite made at the last commit
that had them (``legacy_commit``) are held against what its chainsaw tests
asserted at the commit that migrated it (``migrated_in``). A legacy check no
chainsaw check covers (``checks.covers``) was lost by the migration, unless
the resource it checked has left the module since (at ``ref_commit``): that
is the module's own evolution, listed apart as ``since``.

Pure over git: a ``GitSource`` to read commits, nothing written, no store.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from app.assistant.checks import Check, Files, chainsaw_checks, covers, kind_key, kuttl_checks, workflow_checks
from app.scanner.config import ScanConfig
from app.scanner.core import likely_reads, scan_files
from app.scanner.model import Module
from app.scanner.parse import ParseCache
from app.scanner.source import GitSource

# Flux objects that make resources of their own name: a HelmRelease "traefik" makes a Deployment "traefik"
MAKERS = {"helmrelease", "kustomization"}
LEGACY = ("legacy", "in_progress")  # statuses in which legacy tests cover a module


@dataclass(frozen=True)
class Migration:
    """Where a module moved to chainsaw, as the stored history tells it."""

    path: str  # the module's path now
    path_then: str  # its path at ``migrated_in``
    migrated_in: str  # the commit after which only chainsaw tests covered it
    legacy_commit: str  # the last commit whose legacy suite covered it
    pr: int | None = None


@dataclass
class ModuleParity:
    path: str
    migrated_in: str
    legacy_commit: str
    legacy_checks: list[Check] = field(default_factory=list)
    carried: list[Check] = field(default_factory=list)
    lost: list[Check] = field(default_factory=list)
    since: list[Check] = field(default_factory=list)  # not carried, but their resource has left the module since
    pr: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)  # the checks inside become dicts too


class Commits:
    """Scans of the few commits parity looks at, each done once, over one ParseCache."""

    def __init__(self, source: GitSource, config: ScanConfig) -> None:
        self.source = source
        self.config = config
        self.blobs = ParseCache.over(source)
        self._trees: dict[str, Files] = {}
        self._scans: dict[str, dict[str, Module]] = {}

    def files(self, commit: str) -> Files:
        if commit not in self._trees:
            self._trees[commit] = Files(self.source.tree(commit), self.blobs)
        return self._trees[commit]

    def at(self, commit: str) -> tuple[Files, dict[str, Module]]:
        """The commit's files, and its modules by path as a scan finds them."""
        files = self.files(commit)
        if commit not in self._scans:
            self.blobs.prefetch(likely_reads(files.files, self.config))
            modules, _components, _warnings = scan_files(files.files, self.blobs, self.config)
            self._scans[commit] = {m.path: m for m in modules}
        return files, self._scans[commit]


def module_parity(commits: Commits, migration: Migration, ref_commit: str) -> ModuleParity:
    """The module's legacy checks, each carried, lost, or gone ``since`` (as of ``ref_commit``)."""
    out = ModuleParity(migration.path, migration.migrated_in, migration.legacy_commit, pr=migration.pr)
    out.legacy_checks = legacy_checks(commits, migration.path_then, migration.legacy_commit)
    now = chainsaw_side(commits, migration.path_then, migration.migrated_in)
    before = Resources.of(commits.files(migration.legacy_commit), migration.path_then)
    after = Resources.of(commits.files(ref_commit), migration.path)
    for check in out.legacy_checks:
        if any(covers(c, check) for c in now):
            out.carried.append(check)
        elif before.has(check) and not after.has(check):
            out.since.append(check)
        else:
            out.lost.append(check)
    return out


def legacy_checks(commits: Commits, path: str, commit: str) -> list[Check]:
    """What the module's legacy suites checked at ``commit``. A kustomize suite shared by
    several modules (a core/extra pair) lists its conditions together; each goes to the
    module whose namespace or resource it names (or whose folder name is the namespace),
    or to all of them when none claims it."""
    files, modules = commits.at(commit)
    module = modules.get(path)
    if module is None:
        return []
    found: list[Check] = []
    for item in module.evidence.legacy:
        if item.kind == "kuttl":
            checks = kuttl_checks(files, item.suite)
        elif item.workflow:
            checks = workflow_checks(files, item.workflow, item.suite)
            sharing = [m.path for m in modules.values() if any(x.suite == item.suite for x in m.evidence.legacy)]
            checks = _claimed(files, checks, path, sharing)
        else:
            checks = []
        found += [c for c in checks if c not in found]
    return found


def chainsaw_side(commits: Commits, path: str, commit: str) -> list[Check]:
    """Everything the chainsaw tests covering the module assert at ``commit``."""
    files, modules = commits.at(commit)
    module = modules.get(path)
    found: list[Check] = []
    for test in module.evidence.chainsaw if module else []:
        found += [c for c in chainsaw_checks(files, test.test_file, test.name) if c not in found]
    return found


def _claimed(files: Files, checks: list[Check], path: str, sharing: list[str]) -> list[Check]:
    if len(sharing) < 2:
        return checks
    owned = {p: Resources.of(files, p) for p in sharing}
    mine = []
    for check in checks:
        owners = [p for p, r in owned.items() if r.claims(check) or named_after(p, check.namespace)]
        if not owners or path in owners:
            mine.append(check)
    return mine


def named_after(module: str, namespace: str | None) -> bool:
    """Whether ``namespace`` is the module's folder name: a module deploys into the namespace named
    after it (clusterops-extra's Deployments in ``clusterops-extra``), so of a core/extra pair's
    shared conditions, one in that namespace is that module's, whatever its manifests spell out.
    Parity and the draft both split a pair's conditions by this rule."""
    return namespace is not None and namespace == posixpath.basename(module)


@dataclass
class Resources:
    """What a module's own manifests define at one commit: (kind, name) pairs, the names
    Flux makers give what they render, and the namespaces it uses."""

    objects: set[tuple[str, str]] = field(default_factory=set)
    made: set[str] = field(default_factory=set)
    namespaces: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, files: Files, folder: str) -> Resources:
        out = cls()
        for path in files.under(folder):
            if path.endswith((".yaml", ".yml")):
                for doc in files.docs(path):
                    out.add(doc)
        return out

    def add(self, doc: object) -> None:
        if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
            return
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        name, kind = meta.get("name"), kind_key(doc["kind"])
        if isinstance(name, str):
            self.objects.add((kind, name))
            if kind == "namespace":
                self.namespaces.add(name)
            if kind in MAKERS:
                self.made.add(name)
                spec = doc.get("spec") if isinstance(doc.get("spec"), Mapping) else {}
                for key in ("releaseName", "targetNamespace"):
                    if isinstance(spec.get(key), str):
                        (self.made if key == "releaseName" else self.namespaces).add(spec[key])
        if isinstance(meta.get("namespace"), str):
            self.namespaces.add(meta["namespace"])

    def has(self, check: Check) -> bool:
        return check.name is not None and ((kind_key(check.kind), check.name) in self.objects or check.name in self.made)

    def claims(self, check: Check) -> bool:
        return self.has(check) or (check.namespace is not None and check.namespace in self.namespaces)


def migrations(events: list[dict], parent) -> list[Migration]:
    """Each module migrated at the end of ``events`` (the store's, oldest first, with
    current names), with the commit that migrated it and the last one with legacy tests.

    ``parent(commit)`` names a commit's first parent. A module whose legacy suite went
    before its chainsaw test came (legacy -> untested -> migrated) is read where the
    suite was last there.
    """
    timelines: dict[str, list[dict]] = {}
    for event in events:
        timelines.setdefault(event["module"], []).append(event)
    found = []
    for module, timeline in sorted(timelines.items()):
        if timeline[-1]["to"] != "migrated":
            continue  # not migrated now (or removed): nothing to hold it to
        moved = next((e for e in reversed(timeline) if e["to"] == "migrated" and e["from"] != "migrated"), None)
        if moved is None or moved["from"] is None:
            continue  # born with chainsaw tests: no legacy suite to compare
        had_legacy = moved if moved["from"] in LEGACY else _legacy_left(timeline, moved)
        if had_legacy is not None:
            found.append(Migration(module, moved["path"], moved["commit"], parent(had_legacy["commit"]), moved["pr"]))
    return found


def _legacy_left(timeline: list[dict], moved: dict) -> dict | None:
    """The event, before ``moved``, at which the module's legacy tests last went away."""
    earlier = timeline[: timeline.index(moved)]
    return next((e for e in reversed(earlier) if e["from"] in LEGACY and e["to"] not in LEGACY), None)
