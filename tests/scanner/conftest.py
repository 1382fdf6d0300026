"""Real repositories for the scanner tests, built in tmp through the repo builder."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import INFRA, dump, flux_kustomization
from app.scanner import scan
from app.scanner.model import Module, ScanResult

MakeRepo = Callable[..., Path]


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    """``make_repo(files, symlinks={}, bare=False)``: one commit holding ``files``."""
    counter = itertools.count()

    def make(files: dict[str, str | bytes], *, symlinks: dict[str, str] | None = None, bare: bool = False) -> Path:
        path = tmp_path / f"repo{next(counter)}"
        with RepoBuilder(path, bare=bare) as builder:
            builder.write_many(files)
            for link, target in (symlinks or {}).items():
                builder.symlink(link, target)
            builder.commit("init")
        return path

    return make


def module(name: str, root: str = INFRA) -> dict[str, str]:
    """A module folder with its own kustomization (content, not a test)."""
    return {f"{root}/{name}/kustomization.yaml": dump({"resources": ["./app"]}), f"{root}/{name}/app/x.yaml": "a: 1\n"}


def flux(name: str, target: str) -> str:
    return flux_kustomization(name, target)


def chainsaw(*steps: dict, name: str = "t", api: str = "v1alpha1") -> str:
    return dump({"apiVersion": f"chainsaw.kyverno.io/{api}", "kind": "Test", "metadata": {"name": name}, "spec": {"steps": list(steps)}})


def template(*operations: dict, name: str = "tpl", **spec: object) -> str:
    return dump(
        {
            "apiVersion": "chainsaw.kyverno.io/v1alpha1",
            "kind": "StepTemplate",
            "metadata": {"name": name},
            "spec": {"try": list(operations), **spec},
        }
    )


def by_name(result: ScanResult) -> dict[str, Module]:
    return {m.name: m for m in [*result.modules, *result.components]}


def statuses(path: Path, **kwargs: object) -> dict[str, str]:
    return {name: str(m.status) for name, m in by_name(scan(path, **kwargs)).items()}


def reasons(result: ScanResult) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for warning in result.warnings:
        out.setdefault(warning.path, []).append(warning.reason)
    return out
