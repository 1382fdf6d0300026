"""``sawmill.yaml``: where a repository keeps its modules and its tests.

Every key is optional; the defaults fit the layout of a Flux GitOps repository
(``infrastructure/subsystems/*``, ``apps/subsystems/*``, ``components/*``,
tests under ``ci/test``). See docs/scanner.md for the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from app.scanner.globs import GlobError, compile_glob, glob_match, is_glob  # noqa: F401  (glob_match, is_glob: used from here)
from app.scanner.model import ScanError
from app.scanner.yamlload import AliasBomb, load

CONFIG_FILE = "sawmill.yaml"
DEFAULT_MODULE_ROOTS = ("infrastructure/subsystems/*", "apps/subsystems/*")
DEFAULT_COMPONENT_ROOTS = ("components/*",)
DEFAULT_TEST_ROOTS = ("ci/test",)


@dataclass(frozen=True)
class ScanConfig:
    module_roots: tuple[str, ...] = DEFAULT_MODULE_ROOTS  # globs naming module directories
    marker: str | None = None  # a glob: every directory holding a matching file is a module (see is_marker)
    component_roots: tuple[str, ...] = DEFAULT_COMPONENT_ROOTS  # listed, outside the totals
    test_roots: tuple[str, ...] = DEFAULT_TEST_ROOTS  # where suite folders live
    exclude: tuple[str, ...] = ()  # globs of paths the scanner ignores entirely
    progress_document: str | None = None  # the team's progress document, relative to the root
    workflows: str = ".github/workflows"  # where legacy suites' GitHub workflows live

    def is_marker(self, path: str) -> bool:
        """Whether ``path`` is a marker file. A glob without a ``/`` matches the file's
        name in any folder, as ``.gitignore`` reads it: ``artifacthub-pkg.yml`` is what
        people write, and a repository-root-only match would find nothing."""
        return self.marker is not None and marker_test(self.marker)(path)

    def excluded(self, path: str) -> bool:
        """Whether ``path``, or a folder it sits in, matches an ``exclude`` glob."""
        while path:
            if any(glob_match(pattern, path) for pattern in self.exclude):
                return True
            path = path.rpartition("/")[0]
        return False


@lru_cache(maxsize=64)
def marker_test(marker: str) -> Callable[[str], bool]:
    """``ScanConfig.is_marker`` for one glob, made once: a layout asks it of every path."""
    match = compile_glob(marker)
    if "/" not in marker:
        return lambda path: bool(match(path.rpartition("/")[2]))
    head, _, name = marker.rpartition("/")
    if is_glob(name) or ("[" in head and "]" in name):  # (a class may span the slash: "[a/]x")
        return lambda path: bool(match(path))
    # a literal last part ends every path the glob matches: most paths fail that test at once
    return lambda path: path.endswith(name) and bool(match(path))


def parse_config(text: str | bytes, source: str = CONFIG_FILE) -> ScanConfig:
    """Read a sawmill.yaml; a bad file is a ScanError naming the key at fault."""
    try:
        data = load(text)
    except AliasBomb as exc:
        raise ScanError(f"{source}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ScanError(f"{source}: {_invalid_yaml(exc)}") from exc
    if data is None:
        return ScanConfig()
    if not isinstance(data, dict):
        raise ScanError(f"{source}: expected a mapping of keys at the top level")
    known = {"modules", "components", "tests", "exclude", "progress_document", "workflows"}
    unknown = sorted(set(map(str, data)) - known)
    if unknown:
        raise ScanError(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
    modules = _section(data, "modules", source)
    tests = _section(data, "tests", source)
    marker = _string(modules.get("marker"), "modules.marker", source)
    if marker is not None:
        _check_glob(marker, "modules.marker", source)
    roots_given = "roots" in modules
    roots = _globs(modules.get("roots"), "modules.roots", source) if roots_given else None
    return ScanConfig(
        # a marker rule replaces the default roots unless roots are given too
        module_roots=roots if roots is not None else (() if marker else DEFAULT_MODULE_ROOTS),
        marker=marker,
        component_roots=_globs(data.get("components", list(DEFAULT_COMPONENT_ROOTS)), "components", source),
        test_roots=tuple(
            r.strip("/") for r in _globs(tests.get("roots", list(DEFAULT_TEST_ROOTS)), "tests.roots", source)
        ),
        exclude=_globs(data.get("exclude", []), "exclude", source),
        progress_document=_string(data.get("progress_document"), "progress_document", source),
        workflows=(_string(data.get("workflows"), "workflows", source) or ".github/workflows").strip("/"),
    )


def _invalid_yaml(exc: yaml.YAMLError) -> str:
    """What is wrong and where, as the warnings about test files say it, with the column too:
    a config is short, and one wrong bracket is all there is to find."""
    mark, context = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["?"])[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    opened = f" at line {context.line + 1}, column {context.column + 1}" if context is not None else ""
    if opened and opened != where and getattr(exc, "context", None):  # where the unclosed bracket opened, say
        problem += f" ({exc.context}{opened})"
    return f"invalid YAML{where}: {problem}"


def _section(data: dict, key: str, source: str) -> dict:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise ScanError(f"{source}: {key} must be a mapping")
    allowed = {"modules": {"roots", "marker"}, "tests": {"roots"}}[key]
    unknown = sorted(set(map(str, value)) - allowed)
    if unknown:
        raise ScanError(f"{source}: unknown key {key}.{unknown[0]} (known: {', '.join(sorted(allowed))})")
    return value


def _globs(value: Any, key: str, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ScanError(f"{source}: {key} must be a list of path globs")
    for index, pattern in enumerate(value):
        if pattern.startswith("/") or ".." in pattern.split("/"):
            raise ScanError(f"{source}: {key} entry {pattern!r} must be relative to the repository root")
        _check_glob(pattern, f"{key}[{index}]", source)
    return tuple(v.strip().rstrip("/") for v in value)


def _check_glob(pattern: str, key: str, source: str) -> None:
    """A glob that cannot be read stops the scan here, named, not at its first use."""
    try:
        compile_glob(pattern.strip().rstrip("/"))
    except GlobError as exc:
        raise ScanError(f"{source}: {key}: bad glob {pattern!r}: {exc}") from None


def _string(value: Any, key: str, source: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ScanError(f"{source}: {key} must be a non-empty string")
    return value.strip()
