"""Draft a chainsaw test for a legacy module: the one entry point the CLI and the web call.

``draft(repo, module, ref)`` scans ``ref`` as ``sawmill scan`` does, finds
the module (by path or by name), and drafts from its legacy evidence: a
workflow-driven kustomize suite (app.assistant.kustomize) or kuttl test
folders (app.assistant.kuttl). It reads through the scanner's git source and
writes nothing: the result is files and a patch for the team to apply.
"""

from __future__ import annotations

from pathlib import Path

from app.assistant.kustomize import draft_kustomize
from app.assistant.kuttl import draft_kuttl
from app.assistant.model import Draft, DraftError
from app.assistant.snapshot import Commit, open_commit
from app.scanner.model import Module, Status


def draft(repo: Path | str, module: str, ref: str = "HEAD", config_path: Path | str | None = None) -> Draft:
    """The draft for ``module`` at ``ref``; raises DraftError (or ScanError) with one line for the user."""
    with open_commit(repo, ref, config_path) as commit:
        return draft_at(commit, find_module(commit, module, ref))


def draft_at(commit: Commit, module: Module) -> Draft:
    if module.evidence.chainsaw:
        tests = ", ".join(sorted({e.test_file for e in module.evidence.chainsaw}))
        state = "is already migrated" if module.status == Status.MIGRATED else "already has a chainsaw test"
        raise DraftError(f"{module.path} {state} ({tests})")
    kustomize = [e for e in module.evidence.legacy if e.kind == "kustomize"]
    kuttl = [e for e in module.evidence.legacy if e.kind == "kuttl"]
    if kustomize:
        return draft_kustomize(commit, module, kustomize[0])
    if kuttl:
        return draft_kuttl(commit, module, kuttl)
    raise DraftError(f"{module.path} has no legacy test to draft from (it is {module.status.value.replace('_', ' ')})")


def find_module(commit: Commit, wanted: str, ref: str = "HEAD") -> Module:
    """A module by its path, or by its name when only one module has it."""
    wanted = wanted.strip().strip("/")
    modules = commit.modules
    exact = [m for m in modules if m.path == wanted]
    named = exact or [m for m in modules if m.name == wanted]
    if len(named) == 1:
        return named[0]
    if named:
        raise DraftError(f"{len(named)} modules are named {wanted}: give its path ({', '.join(m.path for m in named)})")
    raise DraftError(f"no module {wanted} at {ref} (sawmill scan lists them)")
