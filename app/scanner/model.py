"""What a scan finds: plain dataclasses, no database, no web.

These are the scanner's whole output. The store copies them into tables, the
CLI prints them, and ``to_dict`` gives the JSON shape of ``sawmill scan --json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum


class Status(StrEnum):
    MIGRATED = "migrated"  # chainsaw tests only
    IN_PROGRESS = "in_progress"  # chainsaw and legacy tests both
    LEGACY = "legacy"  # legacy tests only
    UNTESTED = "untested"  # neither

    @classmethod
    def of(cls, chainsaw: bool, legacy: bool) -> Status:
        if chainsaw:
            return cls.IN_PROGRESS if legacy else cls.MIGRATED
        return cls.LEGACY if legacy else cls.UNTESTED


STATUS_ORDER = (Status.UNTESTED, Status.LEGACY, Status.IN_PROGRESS, Status.MIGRATED)


@dataclass(frozen=True)
class ScanWarning:
    path: str
    reason: str


@dataclass
class ChainsawEvidence:
    """A chainsaw test that covers a module, and how it reaches it."""

    test_file: str  # path of the chainsaw-test.yaml, relative to the repository root
    link: str  # the Flux manifest, or the folder, that ties the test to the module
    asserts: int = 0  # assert operations reachable from the test
    errors: int = 0  # error operations reachable from the test
    scripts: int = 0  # script operations reachable from the test
    files: list[str] = field(default_factory=list)  # every file the test reaches
    name: str = ""  # the Test's metadata.name (a file may hold several Tests)
    unfollowed: list[str] = field(default_factory=list)  # ($binding) expressions and URLs, recorded only

    @property
    def assertions(self) -> int:
        return self.asserts + self.errors + self.scripts


@dataclass
class LegacyEvidence:
    """A legacy test (kustomize suite + workflow, or kuttl) that covers a module."""

    kind: str  # "kustomize" or "kuttl"
    suite: str  # the suite folder (kustomize) or test case folder (kuttl)
    link: str  # the Flux manifest, kuttl TestSuite file, or folder that ties it to the module
    workflow: str | None = None  # .github/workflows file passing the suite as test_path
    success_conditions: int = 0  # how many the workflow lists
    steps: int = 0  # kuttl step files


@dataclass
class Evidence:
    chainsaw: list[ChainsawEvidence] = field(default_factory=list)
    legacy: list[LegacyEvidence] = field(default_factory=list)
    # Manifests that deploy the module only as a dependency or prerequisite of
    # another module's test: recorded, but they are not coverage.
    dependencies: list[str] = field(default_factory=list)

    @property
    def assertions(self) -> int:
        return sum(c.assertions for c in self.chainsaw)


@dataclass
class Module:
    path: str  # the module's directory, relative to the repository root
    name: str  # its last path component, e.g. "networking-core"
    group: str  # the module root it sits under, e.g. "infrastructure" or "apps"
    status: Status = Status.UNTESTED
    evidence: Evidence = field(default_factory=Evidence)
    pair: str | None = None  # "networking" for networking-core / networking-extra
    component: bool = False  # components are listed, but outside the migration totals
    branch: str | None = None  # another branch whose chainsaw tests make a legacy module in_progress

    def to_dict(self) -> dict:
        data = asdict(self)
        data["status"] = str(self.status)
        return data


@dataclass
class Summary:
    counts: dict[str, int]
    total: int
    migrated: int
    percent: int

    @classmethod
    def of(cls, modules: list[Module]) -> Summary:
        counts = {str(s): 0 for s in STATUS_ORDER}
        for module in modules:
            counts[str(module.status)] += 1
        total = len(modules)
        migrated = counts[Status.MIGRATED]
        percent = round(100 * migrated / total) if total else 0
        return cls(counts=counts, total=total, migrated=migrated, percent=percent)

    def line(self) -> str:
        return f"{self.migrated} of {self.total} modules migrated ({self.percent}%)"


@dataclass
class ScanResult:
    commit: str
    ref: str
    commit_date: datetime
    modules: list[Module] = field(default_factory=list)
    components: list[Module] = field(default_factory=list)
    warnings: list[ScanWarning] = field(default_factory=list)

    @property
    def summary(self) -> Summary:
        return Summary.of(self.modules)

    def mark_in_flight(self, branches: dict[str, str]) -> None:
        """Chainsaw tests on another branch (module path -> branch) make a module
        that is legacy here ``in_progress``, with that branch named."""
        for module in self.modules:
            if module.status == Status.LEGACY and module.path in branches:
                module.status = Status.IN_PROGRESS
                module.branch = branches[module.path]

    def to_dict(self) -> dict:
        return {
            "commit": self.commit,
            "ref": self.ref,
            "commit_date": self.commit_date.isoformat(),
            "summary": asdict(self.summary),
            "modules": [m.to_dict() for m in self.modules],
            "components": [m.to_dict() for m in self.components],
            "warnings": [asdict(w) for w in self.warnings],
        }


class ScanError(Exception):
    """A scan that cannot start: not a repository, unknown ref, unreadable config.

    Its message is one line meant for the user.
    """


class MissingObject(ScanError):
    """A blob the scan must read is not in the repository (a damaged object store).

    ``path`` names the file when the reader knows it; whoever holds the tree may
    name it later (``named``): the user knows files, not shas.
    """

    def __init__(self, sha: str, path: str | None = None) -> None:
        self.sha, self.path = sha, path
        what = f"the object of {path}" if path else f"object {sha}"
        super().__init__(f"the repository is corrupt: {what} is missing")

    def named(self, files: Mapping[str, object]) -> MissingObject:
        """The same error naming the file of ``files`` (path -> BlobRef) that holds the blob."""
        if self.path is not None:
            return self
        path = next((path for path, ref in files.items() if getattr(ref, "sha", None) == self.sha), None)
        return MissingObject(self.sha, path) if path else self
