"""Lay out GitOps repositories as /work/shared/LAYOUT.md describes, through RepoBuilder.

Used by the tests, the demo history and the benchmarks. ``GitOps`` wraps a
``RepoBuilder`` and remembers which suites exist, so history operations
(``migrate_suite``, ``rename_module``, ``remove_module``) can rewrite the
files they touch.

Two kinds of methods:
- ``add_*`` STAGE files (nothing is committed); call ``commit`` afterwards.
- ``migrate_suite``, ``remove_module``, ``rename_module`` stage AND commit,
  returning the ``Commit``, because each is one commit in a real history.

Paths: modules are given by their repository path
(``infrastructure/subsystems/networking-core``); suites by their folder name
under ``ci/test`` (``infra-networking``).

    with RepoBuilder(path) as builder:
        repo = GitOps(builder)
        repo.add_module(f"{INFRA}/networking-core")
        repo.add_legacy_suite("infra-networking", [f"{INFRA}/networking-core"])
        repo.commit("feat: networking")
        repo.migrate_suite("infra-networking", pr=1010)

``build_seed_repo(path)`` is the repository at the moment the seed progress
document was written; ``build_synthetic_repo(path)`` the benchmark's.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from app.repobuilder.git import Commit, RepoBuilder

INFRA = "infrastructure/subsystems"
APPS = "apps/subsystems"
COMPONENTS = "components"
TEST_ROOT = "ci/test"
SHARED = f"{TEST_ROOT}/chainsaw"
WORKFLOWS = ".github/workflows"
CERT_MANAGER_PREREQ = f"{SHARED}/pre-requisites/cert-manager/cert-manager.yaml"
DEFAULT_WORKLOADS = ("app",)


@dataclass
class Suite:
    """A test folder ``ci/test/<name>`` and the modules it tests."""

    name: str
    modules: list[str]
    kind: str  # "legacy" or "chainsaw"
    borrowed: list[str] = field(default_factory=list)  # manifests of other suites it deploys first

    @property
    def folder(self) -> str:
        return f"{TEST_ROOT}/{self.name}"

    def manifest(self, module: str) -> str:
        return f"{self.folder}/{manifest_name(module)}.yaml"

    @property
    def workflow(self) -> str:
        group, _, rest = self.name.partition("-")
        return f"{WORKFLOWS}/test-{'infrastructure' if group == 'infra' else group}-{rest}.yaml"


def manifest_name(module: str) -> str:
    """``infra-networking-core`` for an infrastructure module, ``apps-media`` for an app."""
    prefix = "apps" if module.startswith("apps/") else "infra"
    return f"{prefix}-{posixpath.basename(module)}"


def dump(*docs: object) -> str:
    return "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in docs)


def flux_kustomization(name: str, path: str) -> str:
    """A Flux ``Kustomization`` deploying ``path`` (repository-relative)."""
    return dump(
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": "flux-system"},
            "spec": {
                "interval": "10m",
                "path": f"./{path}",
                "prune": True,
                "sourceRef": {"kind": "GitRepository", "name": "test-source"},
            },
        }
    )


def kustomize(resources: list[str], kind: str = "Kustomization") -> str:
    api = "kustomize.config.k8s.io/v1alpha1" if kind == "Component" else "kustomize.config.k8s.io/v1beta1"
    return dump({"apiVersion": api, "kind": kind, "resources": resources})


def module_files(module: str, workloads: tuple[str, ...] = DEFAULT_WORKLOADS) -> dict[str, str]:
    """A module's own content: kustomization, README, CHANGELOG, one subfolder per workload."""
    name = posixpath.basename(module)
    files = {
        f"{module}/kustomization.yaml": kustomize([f"./{w}" for w in workloads]),
        f"{module}/README.md": f"# {name}\n\nWorkloads: {', '.join(workloads)}.\n",
        f"{module}/CHANGELOG.md": f"# Changelog\n\n## 0.1.0\n\n- {name} created\n",
    }
    for workload in workloads:
        folder = f"{module}/{workload}"
        files[f"{folder}/kustomization.yaml"] = kustomize(["namespace.yaml", "helmrelease.yaml"])
        files[f"{folder}/namespace.yaml"] = dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": workload}})
        files[f"{folder}/helmrelease.yaml"] = dump(
            {
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "metadata": {"name": workload, "namespace": workload},
                "spec": {"interval": "30m", "chart": {"spec": {"chart": workload, "version": "1.0.0"}}},
            }
        )
    return files


def workflow_file(suite: Suite, conditions: int) -> str:
    """A GitHub workflow calling the reusable test with YAML inside string inputs, as the real ones do."""
    items = [{"name": manifest_name(m), "namespace": "flux-system"} for m in suite.modules]
    success = [
        {
            "resource": f"deployment/{posixpath.basename(suite.modules[i % len(suite.modules)])}-{i}",
            "namespace": posixpath.basename(suite.modules[i % len(suite.modules)]),
            "for": "condition=Available",
            "timeout": "300s",
        }
        for i in range(conditions)
    ]
    return dump(
        {
            "name": f"Test {suite.name}",
            "on": {"pull_request": {"paths": [f"{m}/**" for m in suite.modules] + [f"{suite.folder}/**"]}},
            "jobs": {
                "test": {
                    "uses": "./.github/workflows/reusable-flux-test.yaml",
                    "with": {
                        "test_path": suite.folder,
                        "reconcile_items": yaml.safe_dump(items, sort_keys=False),
                        "success_conditions": yaml.safe_dump(success, sort_keys=False),
                    },
                }
            },
        }
    )


def shared_chainsaw_files() -> dict[str, str]:
    """``ci/test/chainsaw/``: configuration, step templates, assertions, scripts, prerequisites."""
    ready = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "status": {"(conditions[?type == 'Available'])": [{"status": "True"}]},
    }
    return {
        f"{SHARED}/.chainsaw.yaml": dump(
            {
                "apiVersion": "chainsaw.kyverno.io/v1alpha2",
                "kind": "Configuration",
                "metadata": {"name": "sawmill"},
                "spec": {"timeouts": {"assert": "5m"}},
            }
        ),
        f"{SHARED}/steps/bootstrap-flux.yaml": dump(
            {
                "apiVersion": "chainsaw.kyverno.io/v1alpha1",
                "kind": "StepTemplate",
                "metadata": {"name": "bootstrap-flux"},
                "spec": {
                    "try": [
                        {"script": {"content": "flux install --components-extra=image-reflector-controller"}},
                        {"apply": {"file": "../chainsaw/steps/git-source.yaml"}},
                        {"assert": {"file": "../chainsaw/assertions/flux-ready.yaml"}},
                    ]
                },
            }
        ),
        f"{SHARED}/steps/git-source.yaml": dump(
            {
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "GitRepository",
                "metadata": {"name": "test-source", "namespace": "flux-system"},
                "spec": {"url": "https://example.com/platform.git", "ref": {"branch": "main"}},
            }
        ),
        f"{SHARED}/assertions/deployment-ready.yaml": dump(ready),
        f"{SHARED}/assertions/flux-ready.yaml": dump(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "kustomize-controller", "namespace": "flux-system"},
                "status": {"readyReplicas": 1},
            }
        ),
        f"{SHARED}/scripts/dump-events.sh": "#!/bin/sh\nkubectl get events -A --sort-by=.lastTimestamp\n",
        f"{SHARED}/pre-requisites/cert-manager/kustomization.yaml": kustomize(["cert-manager.yaml"]),
        CERT_MANAGER_PREREQ: flux_kustomization("prereq-cert-manager", f"{INFRA}/security-core/cert-manager"),
    }


def validate_template(module: str, asserts: int) -> str:
    """A StepTemplate that checks one module: assertions, an error check and a script."""
    name = manifest_name(module)
    steps: list[dict] = [{"assert": {"file": "../chainsaw/assertions/deployment-ready.yaml"}}]
    steps += [
        {
            "assert": {
                "resource": {
                    "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                    "kind": "Kustomization",
                    "metadata": {"name": f"{name}-{i}" if i else name, "namespace": "flux-system"},
                    "status": {"conditions": [{"type": "Ready", "status": "True"}]},
                }
            }
        }
        for i in range(max(asserts - 1, 0))
    ]
    failed_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": posixpath.basename(module)},
        "status": {"phase": "Failed"},
    }
    steps.append({"error": {"resource": failed_pod}})
    steps.append({"script": {"content": f"kubectl -n {posixpath.basename(module)} get all"}})
    return dump(
        {
            "apiVersion": "chainsaw.kyverno.io/v1alpha1",
            "kind": "StepTemplate",
            "metadata": {"name": f"validate-{name}"},
            "spec": {"try": steps, "catch": [{"script": {"content": "../chainsaw/scripts/dump-events.sh"}}]},
        }
    )


def chainsaw_test(suite: Suite, prerequisites: list[str]) -> str:
    steps: list[dict] = [{"name": "Bootstrap FluxCD", "use": {"template": "../chainsaw/steps/bootstrap-flux.yaml"}}]
    deps = [posixpath.relpath(p, suite.folder) for p in [*prerequisites, *suite.borrowed]]
    if deps:
        steps.append({"name": "Dependencies", "try": [{"apply": {"file": d}} for d in deps]})
    steps.append(
        {"name": "Apply modules", "try": [{"apply": {"file": f"./{manifest_name(m)}.yaml"}} for m in suite.modules]}
    )
    steps += [
        {"name": f"Validate {posixpath.basename(m)}", "use": {"template": f"./validate-{manifest_name(m)}.yaml"}}
        for m in suite.modules
    ]
    return dump(
        {
            "apiVersion": "chainsaw.kyverno.io/v1alpha1",
            "kind": "Test",
            "metadata": {"name": suite.name},
            "spec": {"steps": steps},
        }
    )


def migration_subject(suite: Suite, pr: int) -> str:
    names = "/".join(manifest_name(m) for m in suite.modules)
    return f"refactor: migrate tests for {names} to chainsaw (#{pr})"


class GitOps:
    """A GitOps repository under construction; see the module docstring."""

    def __init__(self, builder: RepoBuilder) -> None:
        self.builder = builder
        self.suites: dict[str, Suite] = {}
        self.modules: dict[str, tuple[str, ...]] = {}  # path -> workloads
        self._shared = False

    # -- staging -------------------------------------------------------------
    def add_module(self, path: str, workloads: tuple[str, ...] = DEFAULT_WORKLOADS) -> GitOps:
        self.modules[path] = workloads
        self.builder.write_many(module_files(path, workloads))
        return self

    def add_component(self, name: str) -> GitOps:
        folder = f"{COMPONENTS}/{name}"
        self.builder.write(f"{folder}/kustomization.yaml", kustomize(["patch.yaml"], kind="Component"))
        self.builder.write(f"{folder}/patch.yaml", dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}))
        self.builder.write(f"{folder}/README.md", f"# {name}\n\nA component mixed into modules.\n")
        return self

    def add_legacy_suite(
        self, name: str, modules: list[str], *, conditions: int = 3, borrowed: list[str] = ()
    ) -> Suite:
        """A kustomize suite folder listing one Flux manifest per module, and its workflow."""
        suite = Suite(name=name, modules=list(modules), kind="legacy", borrowed=list(borrowed))
        self.suites[name] = suite
        self._write_manifests(suite)
        resources = [posixpath.relpath(p, suite.folder) for p in suite.borrowed]
        resources += [f"{manifest_name(m)}.yaml" for m in suite.modules]
        self.builder.write(f"{suite.folder}/kustomization.yaml", kustomize(resources))
        self.builder.write(suite.workflow, workflow_file(suite, conditions))
        return suite

    def add_chainsaw_suite(
        self, name: str, modules: list[str], *, asserts: int = 2, borrowed: list[str] = (), prerequisites: bool = True
    ) -> Suite:
        """A chainsaw suite folder: chainsaw-test.yaml, Flux manifests, one validate template per module."""
        suite = Suite(name=name, modules=list(modules), kind="chainsaw", borrowed=list(borrowed))
        self.suites[name] = suite
        self.add_shared_chainsaw()
        self._write_manifests(suite)
        needs_cert_manager = prerequisites and not any(m.endswith("/security-core") for m in suite.modules)
        prereqs = [CERT_MANAGER_PREREQ] if needs_cert_manager else []
        self.builder.write(f"{suite.folder}/chainsaw-test.yaml", chainsaw_test(suite, prereqs))
        for module in suite.modules:
            self.builder.write(f"{suite.folder}/validate-{manifest_name(module)}.yaml", validate_template(module, asserts))
        return suite

    def add_shared_chainsaw(self) -> GitOps:
        if not self._shared:
            self.builder.write_many(shared_chainsaw_files())
            self._shared = True
        return self

    def _write_manifests(self, suite: Suite) -> None:
        for module in suite.modules:
            self.builder.write(suite.manifest(module), flux_kustomization(manifest_name(module), module))

    # -- history -------------------------------------------------------------
    def commit(self, message: str, *, date: datetime | None = None, **kwargs) -> Commit:
        return self.builder.commit(message, date=date, **kwargs)

    def migrate_suite(self, name: str, *, pr: int, date: datetime | None = None, asserts: int = 2) -> Commit:
        """Legacy -> chainsaw in one commit: the kustomization and workflow go, the chainsaw test comes."""
        old = self.suites[name]
        self.builder.delete(f"{old.folder}/kustomization.yaml")
        self.builder.delete(old.workflow)
        suite = self.add_chainsaw_suite(name, old.modules, asserts=asserts, borrowed=old.borrowed)
        return self.commit(migration_subject(suite, pr), date=date)

    def remove_module(self, path: str, *, date: datetime | None = None, pr: int | None = None) -> Commit:
        """Delete a module and its Flux manifests in the suites that test it (a suite left empty goes)."""
        self.builder.delete(path)
        self.modules.pop(path, None)
        for suite in list(self.suites.values()):
            if path in suite.modules:
                suite.modules.remove(path)
                self.builder.delete(suite.manifest(path))
                self._rewrite_suite(suite)
        suffix = f" (#{pr})" if pr else ""
        return self.commit(f"chore: remove {posixpath.basename(path)}{suffix}", date=date)

    def rename_module(self, old: str, new: str, *, date: datetime | None = None, pr: int | None = None) -> Commit:
        """Move a module's folder; the suites that test it point their manifests at the new path."""
        self.builder.rename(old, new)
        self.modules[new] = self.modules.pop(old, DEFAULT_WORKLOADS)
        for suite in self.suites.values():
            if old in suite.modules:
                self.builder.delete(suite.manifest(old))
                if suite.kind == "chainsaw":
                    self.builder.delete(f"{suite.folder}/validate-{manifest_name(old)}.yaml")
                suite.modules[suite.modules.index(old)] = new
                self._rewrite_suite(suite)
        suffix = f" (#{pr})" if pr else ""
        return self.commit(f"refactor: rename {posixpath.basename(old)} to {posixpath.basename(new)}{suffix}", date=date)

    def _rewrite_suite(self, suite: Suite) -> None:
        if not suite.modules:
            self.builder.delete(suite.folder)
            if suite.kind == "legacy":
                self.builder.delete(suite.workflow)
            del self.suites[suite.name]
        elif suite.kind == "legacy":
            self.add_legacy_suite(suite.name, suite.modules, borrowed=suite.borrowed)
        else:
            self.add_chainsaw_suite(suite.name, suite.modules, borrowed=suite.borrowed)


# -- the seed repository -----------------------------------------------------
SEED_SUITES: dict[str, list[str]] = {
    "infra-kubernetes": [f"{INFRA}/kubernetes-core", f"{INFRA}/kubernetes-extra"],
    "infra-networking": [f"{INFRA}/networking-core", f"{INFRA}/networking-extra"],
    "infra-security": [f"{INFRA}/security-core", f"{INFRA}/security-extra"],
    "infra-storage": [f"{INFRA}/storage-core"],
    "infra-clusterops": [f"{INFRA}/clusterops-core", f"{INFRA}/clusterops-extra"],
    "infra-observability": [f"{INFRA}/observability-core", f"{INFRA}/observability-extra"],
    "infra-database": [f"{INFRA}/database-core"],
    "apps-media": [f"{APPS}/media"],
    "apps-home-automation": [f"{APPS}/home-automation"],
    "apps-downloaders": [f"{APPS}/downloaders"],
    "apps-coder": [f"{APPS}/coder"],
    "apps-harbor": [f"{APPS}/harbor"],
    "apps-bitwarden": [f"{APPS}/bitwarden"],
}
SEED_WORKLOADS = {
    "kubernetes-core": ("coredns", "metrics-server"),
    "networking-core": ("metallb", "traefik"),
    "security-core": ("cert-manager", "external-secrets"),
    "storage-core": ("longhorn", "minio", "nfs"),
    "observability-core": ("prometheus", "grafana"),
}
SEED_TAG_BEFORE_POC = "before-chainsaw-poc"


def seed_history(repo: GitOps, *, start: datetime | None = None) -> Commit:
    """Commit the seed repository's history into ``repo``; returns the last commit.

    Legacy suites for every group, components, then the chainsaw PoC that
    migrated ``infra-kubernetes`` (tagged before as ``before-chainsaw-poc``),
    then the bitwarden app the progress document does not list.
    """
    clock = start or datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    tick = iter(clock + timedelta(days=3 * i) for i in range(1000))
    for name, modules in SEED_SUITES.items():
        if name == "apps-bitwarden":
            continue
        for module in modules:
            repo.add_module(module, SEED_WORKLOADS.get(posixpath.basename(module), DEFAULT_WORKLOADS))
        borrowed = [f"{TEST_ROOT}/infra-storage/infra-storage-core.yaml"] if name == "infra-database" else []
        repo.add_legacy_suite(name, modules, borrowed=borrowed)
        repo.commit(f"feat: add {name.partition('-')[2]} modules with tests", date=next(tick))
    repo.add_component("db-backups").add_component("sso")
    repo.builder.write("README.md", "# platform\n\nFlux GitOps repository.\n")
    before = repo.commit("feat: components for backups and single sign-on", date=next(tick))
    repo.builder.tag(SEED_TAG_BEFORE_POC, before)
    repo.migrate_suite("infra-kubernetes", pr=812, date=next(tick))
    repo.builder.write(".analysis/chainsaw-poc.md", "# Chainsaw PoC\n\nLearnings and design decisions.\n")
    repo.commit("docs: chainsaw PoC learnings", date=next(tick))
    repo.add_module(f"{APPS}/bitwarden")
    repo.add_legacy_suite("apps-bitwarden", SEED_SUITES["apps-bitwarden"])
    return repo.commit("feat: add bitwarden app (#840)", date=next(tick))


def build_seed_repo(path: Path | str, *, bare: bool = False) -> Path:
    """The repository at the moment /work/shared/seed/progress.md was written.

    13 suites (``infra-kubernetes`` chainsaw, the twelve others legacy), 18
    modules, components ``db-backups`` and ``sso``. Work trees are checked out.
    """
    with RepoBuilder(path, bare=bare) as builder:
        seed_history(GitOps(builder))
        builder.checkout()
    return Path(path)


# -- the benchmark's synthetic repository -----------------------------------
def build_synthetic_repo(path: Path | str, *, suites: int = 20, modules: int = 40, workloads: int = 6) -> Path:
    """About 1,000 files: ``modules`` modules in ``suites`` suites, half migrated to chainsaw.

    Each module holds ``workloads`` workload folders (3 files each) besides its
    kustomization, README and CHANGELOG, so the defaults give about 1,000 files.
    """
    with RepoBuilder(path, bare=True) as builder:
        repo = GitOps(builder)
        names = tuple(f"w{i}" for i in range(workloads))
        per_suite = max(modules // suites, 1)
        for s in range(suites):
            group, root = ("infra", INFRA) if s % 2 == 0 else ("apps", APPS)
            members = [f"{root}/s{s}-m{j}" for j in range(per_suite)]
            for module in members:
                repo.add_module(module, names)
            if s % 2:
                repo.add_chainsaw_suite(f"{group}-s{s}", members)
            else:
                repo.add_legacy_suite(f"{group}-s{s}", members)
        repo.add_component("db-backups").add_component("sso")
        for i in range(10):
            builder.write(f"clusters/production/flux-{i}.yaml", flux_kustomization(f"cluster-{i}", f"{INFRA}/s{2 * i}-m0"))
        repo.commit("synthetic GitOps repository")
    return Path(path)
