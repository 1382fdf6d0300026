"""What a chainsaw test file reaches: Flux manifests, assertions, scripts, files.

``analyse_chainsaw(reader, path)`` is pure: everything it reads goes through
the ``Reader``, so its result can be memoized by the shas of those files.
File references resolve as chainsaw resolves them: against the test's folder,
for the test's own steps and for the step templates it uses alike.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from app.scanner.globs import GlobError, compile_glob
from app.scanner.layout import CHAINSAW_FILES
from app.scanner.model import ScanWarning
from app.scanner.snapshot import Reader, is_expression, resolve

BLOCKS = ("try", "catch", "finally", "cleanup")
FILE_OPS = ("apply", "create", "update", "patch", "assert", "error", "delete")
DEPLOY_OPS = ("apply", "create", "update", "patch")
SCRIPT_OPS = ("script", "command")
# The bytes of a file that can hold a Flux Kustomization: it spells ``fluxcd``, or holds a backslash
# (a double-quoted YAML scalar can escape a letter, or join two lines, with one).
FLUX_BYTES = (b"fluxcd", b"\\")


@dataclass(frozen=True)
class FluxLink:
    """A Flux Kustomization a test deploys: the file holding it and its ``spec.path``."""

    manifest: str
    target: str


@dataclass
class ChainsawTest:
    file: str
    name: str
    links: list[FluxLink] = field(default_factory=list)
    asserts: int = 0
    errors: int = 0
    scripts: int = 0
    files: list[str] = field(default_factory=list)  # every file reached, test file first
    unfollowed: list[str] = field(default_factory=list)  # ($binding) expressions and URLs


@dataclass
class ChainsawFile:
    tests: list[ChainsawTest] = field(default_factory=list)
    warnings: list[ScanWarning] = field(default_factory=list)


def is_chainsaw_file(path: str) -> bool:
    return posixpath.basename(path) in CHAINSAW_FILES


def is_chainsaw(doc: object, kind: str) -> bool:
    return (
        isinstance(doc, dict)
        and str(doc.get("apiVersion", "")).startswith("chainsaw.kyverno.io/")
        and doc.get("kind") == kind
    )


def flux_target(doc: object) -> str | None:
    """The repository path a Flux Kustomization deploys, ``./`` and trailing ``/`` stripped.

    Flux joins ``spec.path`` to the source's root, so a leading ``/`` names the repository's
    root too: ``/infrastructure/x`` is ``./infrastructure/x``, never the machine's ``/``."""
    if not (
        isinstance(doc, dict)
        and str(doc.get("apiVersion", "")).startswith("kustomize.toolkit.fluxcd.io/")
        and doc.get("kind") == "Kustomization"
    ):
        return None
    spec = doc.get("spec")
    path = spec.get("path") if isinstance(spec, dict) else None
    if not isinstance(path, str) or not path.strip():
        return None
    return resolve("", path.strip().lstrip("/"))


def analyse_chainsaw(reader: Reader, path: str) -> ChainsawFile:
    out = ChainsawFile()
    parsed = reader.parse(path)
    if parsed is None:
        return out
    if parsed.problem:
        out.warnings.append(ScanWarning(path, parsed.problem))
        return out
    tests = [d for d in parsed.docs if is_chainsaw(d, "Test")]
    if not tests:
        out.warnings.append(ScanWarning(path, "no chainsaw Test in this file"))
    for index, doc in enumerate(tests):
        out.tests.append(_Walk(reader, path, out.warnings).test(doc, index))
    return out


class _Walk:
    def __init__(self, reader: Reader, path: str, warnings: list[ScanWarning]) -> None:
        self.reader = reader
        self.path = path
        self.folder = posixpath.dirname(path)
        self.warnings = warnings
        self.result: ChainsawTest | None = None

    def warn(self, path: str, reason: str) -> None:
        warning = ScanWarning(path, reason)
        if warning not in self.warnings:
            self.warnings.append(warning)

    def test(self, doc: dict, index: int) -> ChainsawTest:
        name = _name(doc) or f"test {index + 1}"
        self.result = ChainsawTest(file=self.path, name=name, files=[self.path])
        spec = doc.get("spec")
        steps = spec.get("steps") if isinstance(spec, dict) else None
        if not isinstance(steps, list) or not steps:
            self.warn(self.path, f"Test {name} has no steps")
            return self.result
        for step in steps:
            if isinstance(step, dict):
                self.step(step, (self.path,))
        return self.result

    def step(self, step: dict, stack: tuple[str, ...]) -> None:
        use = step.get("use")
        if isinstance(use, dict) and isinstance(use.get("template"), str):
            self.template(use["template"], stack)
        for block in BLOCKS:
            operations = step.get(block)
            if isinstance(operations, list):
                for operation in operations:
                    if isinstance(operation, dict):
                        self.operation(operation, stack[-1])

    def template(self, ref: str, stack: tuple[str, ...]) -> None:
        path = self.follow(ref, stack[-1])
        if path is None:
            return
        if path in stack:
            self.warn(path, f"template cycle: {' -> '.join([*stack[1:], path])}")
            return
        docs = self.docs(path, stack[-1])
        templates = [d for d in docs if is_chainsaw(d, "StepTemplate")]
        if docs and not templates:
            self.warn(path, "no chainsaw StepTemplate in this file")
        for doc in templates:
            if isinstance(doc.get("spec"), dict):
                self.step(doc["spec"], (*stack, path))

    def operation(self, operation: dict, source: str) -> None:
        result = self.result
        for key, body in operation.items():
            if key == "assert":
                result.asserts += 1
            elif key == "error":
                result.errors += 1
            elif key in SCRIPT_OPS:
                result.scripts += 1
            if key not in FILE_OPS or not isinstance(body, dict):
                continue
            if key in DEPLOY_OPS and isinstance(body.get("resource"), dict):
                self.link(body["resource"], source)
            ref = body.get("file")
            if isinstance(ref, str):
                self.file_op(key, ref, source)

    def file_op(self, key: str, ref: str, source: str) -> None:
        if any(c in ref for c in "*?[") and not is_expression(ref):
            pattern = resolve(self.folder, ref)
            if pattern is None:
                self.warn(source, f"reference leaves the repository: {ref}")
                return
            try:
                compile_glob(pattern)
            except GlobError as exc:
                self.warn(source, f"bad glob {ref!r}: {exc}")
                return
            matches = self.reader.glob(pattern)
            if not matches:
                self.warn(source, f"no file matches {ref}")
            paths = matches
        else:
            path = self.follow(ref, source)
            paths = [path] if path is not None else []
        for path in paths:
            if key in DEPLOY_OPS:
                for doc in self.docs(path, source, use="links"):
                    self.link(doc, path)
            else:
                self.docs(path, source, use="warnings")

    def follow(self, ref: str, source: str) -> str | None:
        """The repository path of a file reference, or None (recorded or warned) when it is not followed."""
        if is_expression(ref):
            self.result.unfollowed.append(ref.strip())
            return None
        path = resolve(self.folder, ref)
        if path is None:
            self.warn(source, f"reference leaves the repository: {ref}")
        return path

    def docs(self, path: str, source: str, use: str = "all") -> tuple:
        """The documents of a file the test names. ``use`` says what they are read for: "all"
        (a step template), "links" (a file the test deploys) or "warnings" (one it asserts).
        Where only statuses are wanted (``warns`` off: a walk over history), an asserted file
        is not read, and a deployed one is parsed only if its bytes can spell a Flux
        Kustomization: most deploy the resources under test, and parsing them is most of a walk."""
        if path not in self.result.files:
            self.result.files.append(path)
        if use != "all" and not self.reader.blobs.warns:
            found = self.reader.holds(path, FLUX_BYTES) if use == "links" else self.reader.get(path)
            if found is None:
                self.warn(source, f"missing file: {path}")
            if use == "warnings" or not found:
                return ()
        parsed = self.reader.parse(path)
        if parsed is None:
            self.warn(source, f"missing file: {path}")
            return ()
        if parsed.problem:
            self.warn(path, parsed.problem)
        return parsed.docs

    def link(self, doc: object, manifest: str) -> None:
        target = flux_target(doc)
        if target is not None:
            link = FluxLink(manifest=manifest, target=target)
            if link not in self.result.links:
                self.result.links.append(link)


def _name(doc: dict) -> str | None:
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return str(name) if name else None
