"""``sawmill.yaml``: where a repository keeps its modules and its tests.

Every key is optional; the defaults fit the layout of a Flux GitOps repository
(``infrastructure/subsystems/*``, ``apps/subsystems/*``, ``components/*``,
tests under ``ci/test``). See docs/scanner.md for the reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from app.scanner.model import ScanError

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
        if self.marker is None:
            return False
        return glob_match(self.marker, path if "/" in self.marker else path.rpartition("/")[2])

    def excluded(self, path: str) -> bool:
        """Whether ``path``, or a folder it sits in, matches an ``exclude`` glob."""
        while path:
            if any(glob_match(pattern, path) for pattern in self.exclude):
                return True
            path = path.rpartition("/")[0]
        return False


def parse_config(text: str | bytes, source: str = CONFIG_FILE) -> ScanConfig:
    """Read a sawmill.yaml; a bad file is a ScanError naming the key at fault."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScanError(f"{source}: invalid YAML: {str(exc).splitlines()[0]}") from exc
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
    for pattern in value:
        if pattern.startswith("/") or ".." in pattern.split("/"):
            raise ScanError(f"{source}: {key} entry {pattern!r} must be relative to the repository root")
    return tuple(v.strip().rstrip("/") for v in value)


def _string(value: Any, key: str, source: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ScanError(f"{source}: {key} must be a non-empty string")
    return value.strip()


def glob_match(pattern: str, path: str) -> bool:
    """Match a repository path against a glob: ``*`` stays within one folder, ``**`` crosses folders."""
    return _compile(pattern).fullmatch(path) is not None


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                out.append(f"[{'^' + body[1:] if body.startswith('!') else body}]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")
