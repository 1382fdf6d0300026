"""Histories for the assistant's tests: legacy suites with the checks a test names, migrated to
chainsaw tests that assert what the test names, built with the repository builder in tmp."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import INFRA, SHARED, GitOps, dump, manifest_name
from app.services.history import record_history
from app.store.db import session_scope

CHAINSAW = "chainsaw.kyverno.io/v1alpha1"
NET_CORE, NET_EXTRA, DB_CORE = f"{INFRA}/networking-core", f"{INFRA}/networking-extra", f"{INFRA}/database-core"


@pytest.fixture
def gitops(tmp_path: Path) -> Iterator[GitOps]:
    """A GitOps repository at tmp/repo; flush before reading it."""
    with RepoBuilder(tmp_path / "repo") as builder:
        yield GitOps(builder)


def condition(resource: str, namespace: str | None = None) -> dict:
    entry = {"resource": resource, "for": "condition=Available", "timeout": "300s"}
    return {**entry, "namespace": namespace} if namespace else entry


def legacy_suite(repo: GitOps, name: str, modules: list[str], conditions: list[dict]) -> None:
    """A kustomize suite whose workflow lists exactly ``conditions`` (staged)."""
    suite = repo.add_legacy_suite(name, modules, conditions=0)
    items = [{"name": manifest_name(m), "namespace": "flux-system"} for m in modules]
    inputs = {
        "test_path": suite.folder,
        "reconcile_items": yaml.safe_dump(items),
        "success_conditions": yaml.safe_dump(conditions, sort_keys=False),  # YAML in a string, as the real ones
    }
    job = {"uses": "./.github/workflows/reusable-flux-test.yaml", "with": inputs}
    repo.builder.write(suite.workflow, dump({"name": f"Test {name}", "on": {"pull_request": {}}, "jobs": {"test": job}}))


def deployment(name: str | None, namespace: str | None = None, api: str = "apps/v1", kind: str = "Deployment") -> dict:
    meta = {k: v for k, v in (("name", name), ("namespace", namespace)) if v is not None}
    return {"apiVersion": api, "kind": kind, "metadata": meta, "status": {"readyReplicas": 1}}


def migrate(repo: GitOps, name: str, steps: list[dict], *, pr: int, files: dict[str, str] | None = None):
    """Replace suite ``name``'s kustomization and workflow by a chainsaw test: its Flux manifests
    applied, then ``steps``; ``files`` (repository path -> text) written alongside. One commit."""
    suite = repo.suites[name]
    repo.builder.delete(f"{suite.folder}/kustomization.yaml")
    repo.builder.delete(suite.workflow)
    repo.add_shared_chainsaw()
    apply = {"name": "Apply modules", "try": [{"apply": {"file": f"./{manifest_name(m)}.yaml"}} for m in suite.modules]}
    test = {"apiVersion": CHAINSAW, "kind": "Test", "metadata": {"name": name}, "spec": {"steps": [apply, *steps]}}
    repo.builder.write(f"{suite.folder}/chainsaw-test.yaml", dump(test))
    repo.builder.write_many(files or {})
    suite.kind = "chainsaw"
    names = "/".join(manifest_name(m) for m in suite.modules)
    return repo.commit(f"refactor: migrate tests for {names} to chainsaw (#{pr})")


def asserting(*resources: dict) -> dict:
    return {"name": "Validate", "try": [{"assert": {"resource": r}} for r in resources]}


def step_template(name: str, spec: dict) -> str:
    return dump({"apiVersion": CHAINSAW, "kind": "StepTemplate", "metadata": {"name": name}, "spec": spec})


def shared(path: str) -> str:
    return posixpath.join(SHARED, path)


def history(db_url: str, path: Path) -> str:
    """Record the stored history of ``path`` as a scan would; returns its store key."""
    key = str(path.resolve())
    with session_scope(db_url, key) as session:
        record_history(session, path, key)
    return key


STORAGE, MEDIA = f"{INFRA}/storage-core", "apps/subsystems/media"


def flux(name: str, path: str, *depends: str) -> dict:
    spec = {"interval": "10m", "path": f"./{path}", "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}
    if depends:
        spec["dependsOn"] = [{"name": d} for d in depends]
    return {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": "flux-system"}, "spec": spec}  # fmt: skip


def showcase(repo: GitOps) -> None:
    """networking-core migrated, dropping one of its three checks (and one gone since with
    its workload); storage-core (on networking-core) and media (on storage-core) legacy."""
    repo.add_module(NET_CORE, ("metallb", "traefik", "old-api"))
    repo.add_module(STORAGE, ("longhorn",)).add_module(MEDIA, ("jellyfin",))
    legacy_suite(repo, "infra-networking", [NET_CORE], [
        condition("deployment/traefik", "traefik"), condition("deployment/metallb", "metallb"),
        condition("deployment/old-api", "old-api"),
    ])  # fmt: skip
    legacy_suite(repo, "infra-storage", [STORAGE], [condition("deployment/longhorn", "longhorn")])
    legacy_suite(repo, "apps-media", [MEDIA], [condition("deployment/jellyfin", "jellyfin")] * 2)
    graph = [flux("networking-core", NET_CORE), flux("storage-core", STORAGE, "networking-core"), flux("media", MEDIA, "storage-core")]
    repo.builder.write("clusters/production/platform.yaml", dump(*graph))
    repo.commit("feat: the platform")
    migrate(repo, "infra-networking", [asserting(deployment("traefik", "traefik"))], pr=1010)
    repo.builder.delete(f"{NET_CORE}/old-api")
    repo.commit("chore: retire old-api")
