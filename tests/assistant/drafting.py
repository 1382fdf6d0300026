"""Repositories to draft from, and the round trip every draft test makes: git apply, commit, scan."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from app.assistant.model import Draft
from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import INFRA, SHARED, GitOps, dump, manifest_name
from app.scanner import scan
from app.scanner.model import ScanResult
from tests.assistant.chainsaw_shapes import problems

CHAINSAW = "chainsaw.kyverno.io/v1alpha1"
NET_CORE, NET_EXTRA = f"{INFRA}/networking-core", f"{INFRA}/networking-extra"
DB_CORE = f"{INFRA}/database-core"
KUBE_CORE, KUBE_EXTRA = f"{INFRA}/kubernetes-core", f"{INFRA}/kubernetes-extra"
CNPG = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "main", "namespace": "database"}}


def workflow(repo: GitOps, name: str, items: list, conditions: list[dict]) -> None:
    """The legacy workflow of suite ``name``: YAML inside string inputs, as the real ones."""
    suite = repo.suites[name]
    inputs = {
        "test_path": suite.folder,
        "reconcile_items": yaml.safe_dump(items, sort_keys=False),
        "success_conditions": yaml.safe_dump(conditions, sort_keys=False),
    }
    job = {"uses": "./.github/workflows/reusable-flux-test.yaml", "with": inputs}
    repo.builder.write(suite.workflow, dump({"name": f"Test {name}", "on": {"pull_request": {}}, "jobs": {"test": job}}))


def networking_suite(repo: GitOps) -> None:
    """networking-core/extra in one legacy suite, with conditions of every form (staged)."""
    repo.add_module(NET_CORE, ("metallb", "traefik"))
    repo.add_module(NET_EXTRA, ("cilium",))
    repo.add_legacy_suite("infra-networking", [NET_CORE, NET_EXTRA], conditions=0)
    items = [
        {"name": "infra-networking-core", "namespace": "flux-system", "timeout": "10m"},
        {"name": "infra-networking-extra", "namespace": "flux-system", "timeout": "5m"},
    ]
    conditions = [
        {"resource": "deployment/traefik", "namespace": "traefik", "for": "condition=Available", "timeout": "300s"},
        {"resource": "helmrelease/metallb", "namespace": "metallb", "for": "condition=Ready=true", "timeout": "5m"},
        {"resource": "pod/speaker", "namespace": "metallb", "for": "jsonpath='{.status.phase}'=Running", "timeout": "2m"},
        {"resource": "daemonset/cilium", "namespace": "cilium", "for": "jsonpath={.status.numberReady}=3", "timeout": "3m"},
        {"resource": "helmrelease/cilium", "namespace": "cilium", "for": "jsonpath='{.status.conditions[0].type}'=Ready"},
        {"resource": "ciliumnetworkpolicy/default", "namespace": "cilium", "for": "condition=Valid", "timeout": "60s"},
    ]
    workflow(repo, "infra-networking", items, conditions)


def database_suite(repo: GitOps) -> None:
    """database-core alone, with a CloudNativePG Cluster in its manifests (staged)."""
    repo.add_module(DB_CORE, ("cnpg",))
    repo.builder.write(f"{DB_CORE}/cnpg/cluster.yaml", dump(CNPG))
    repo.add_legacy_suite("infra-database", [DB_CORE], conditions=0)
    conditions = [{"resource": "cluster.postgresql.cnpg.io/main", "namespace": "database", "for": "condition=Ready", "timeout": "600s"}]
    workflow(repo, "infra-database", [{"name": "infra-database-core", "namespace": "flux-system"}], conditions)


def migrated_kubernetes(repo: GitOps) -> None:
    """kubernetes-core/extra migrated the team's way: a bootstrap template, a reconcile script, an
    assertion file taking bindings, a validate template per module with a catch block, and a
    workflow running chainsaw for the suite (staged)."""
    repo.add_module(KUBE_CORE, ("coredns",))
    repo.add_module(KUBE_EXTRA, ("metrics",))
    repo.add_shared_chainsaw()
    ready = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "($deployment)", "namespace": "($deployment_namespace)"},
        "status": {"(conditions[?type == 'Available'])": [{"status": "True"}]},
    }
    repo.builder.write(f"{SHARED}/assertions/deployment-available.yaml", dump(ready))
    repo.builder.write(f"{SHARED}/scripts/reconcile.sh", "#!/bin/sh\nflux reconcile kustomization \"$1\" -n \"$2\" --with-source\n")
    folder = "ci/test/infra-kubernetes"
    steps = [{"name": "Bootstrap FluxCD", "use": {"template": "../chainsaw/steps/bootstrap-flux.yaml"}}]
    steps.append({"name": "Apply modules", "try": [{"apply": {"file": f"./{manifest_name(m)}.yaml"}} for m in (KUBE_CORE, KUBE_EXTRA)]})
    for module in (KUBE_CORE, KUBE_EXTRA):
        name = manifest_name(module)
        repo.builder.write(f"{folder}/{name}.yaml", _flux(name, module))
        reconcile = {"script": {"content": f"../chainsaw/scripts/reconcile.sh {name} flux-system", "timeout": "5m"}}
        steps.append({"name": f"Reconcile {name}", "try": [reconcile]})
        template = {
            "apiVersion": CHAINSAW,
            "kind": "StepTemplate",
            "metadata": {"name": f"validate-{name}"},
            "spec": {
                "try": [{"assert": {"file": "../chainsaw/assertions/deployment-available.yaml",
                                    "bindings": [{"name": "deployment", "value": "coredns"}, {"name": "deployment_namespace", "value": "kube-system"}]}}],
                "catch": [{"events": {"namespace": "kube-system"}}, {"script": {"content": "../chainsaw/scripts/dump-events.sh"}}],
            },
        }  # fmt: skip
        repo.builder.write(f"{folder}/check-{name}.yaml", dump(template))
        steps.append({"name": f"Check {posixpath_basename(module)}", "use": {"template": f"./check-{name}.yaml"}})
    test = {"apiVersion": CHAINSAW, "kind": "Test", "metadata": {"name": "infra-kubernetes"}, "spec": {"steps": steps}}
    repo.builder.write(f"{folder}/chainsaw-test.yaml", dump(test))
    runs = {
        "name": "Test infra-kubernetes",
        "on": {"pull_request": {"paths": [f"{KUBE_CORE}/**", f"{KUBE_EXTRA}/**", f"{folder}/**"]}},
        "jobs": {"chainsaw": {"uses": "./.github/workflows/reusable-chainsaw.yaml", "with": {"test_dir": folder}}},
    }
    repo.builder.write(".github/workflows/test-infrastructure-kubernetes.yaml", dump(runs))


def posixpath_basename(path: str) -> str:
    return path.rpartition("/")[2]


def _flux(name: str, path: str) -> str:
    from app.repobuilder.gitops import flux_kustomization

    return flux_kustomization(name, path)


def build(path: Path, *stages) -> Path:
    """A repository at ``path`` holding what ``stages`` stage, in one commit."""
    with RepoBuilder(path) as builder:
        repo = GitOps(builder)
        for stage in stages:
            stage(repo)
        repo.commit("platform")
    return path


def applied(repo: Path, draft: Draft, tmp: Path) -> ScanResult:
    """``git apply`` the draft's patch in a clone, commit it, and scan the clone."""
    clone = tmp / f"clone-{len(list(tmp.glob('clone-*')))}"
    git = lambda *args: subprocess.run(["git", "-C", str(clone), *args], check=True, capture_output=True, text=True)  # noqa: E731
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    patch = tmp / "draft.patch"
    patch.write_text(draft.patch())
    git("apply", "--index", str(patch))
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "test: draft chainsaw test")
    return scan(clone)


def documents(draft: Draft) -> dict[str, list]:
    return {f.path: list(yaml.safe_load_all(f.content)) for f in draft.files}


def shape_problems(draft: Draft) -> list[str]:
    out = []
    for path, docs in documents(draft).items():
        if path.endswith(".yaml") and "/.github/" not in f"/{path}":
            out += [f"{path}: {p}" for doc in docs for p in problems(doc)]
    return out


def operations(doc: dict) -> list[dict]:
    """Every operation of a Test's steps or a StepTemplate's spec."""
    spec = doc["spec"]
    steps = spec.get("steps") or [spec]
    return [op for step in steps for block in ("try", "catch") for op in step.get(block) or []]


MEDIA = "apps/subsystems/media"


def media_suite(repo: GitOps) -> None:
    """The media app alone in a legacy suite (staged)."""
    repo.add_module(MEDIA, ("jellyfin",))
    repo.add_legacy_suite("apps-media", [MEDIA], conditions=0)
    conditions = [{"resource": "deployment/jellyfin", "namespace": "jellyfin", "for": "condition=Available", "timeout": "300s"}]
    workflow(repo, "apps-media", [{"name": "apps-media", "namespace": "flux-system", "timeout": "15m"}], conditions)


def migrated_with_templates(repo: GitOps) -> None:
    """kubernetes-core/extra migrated another way: a bootstrap that reconciles its own source, a
    reconcile step template taking bindings, inline validate steps with a catch block, and one
    workflow running every chainsaw suite from a list (staged)."""
    repo.add_module(KUBE_CORE, ("coredns",))
    repo.add_module(KUBE_EXTRA, ("metrics",))
    bootstrap = {"apiVersion": CHAINSAW, "kind": "StepTemplate", "metadata": {"name": "bootstrap"},
                 "spec": {"try": [{"script": {"content": "flux install\nflux reconcile source git test-source"}}]}}  # fmt: skip
    reconcile = {"apiVersion": CHAINSAW, "kind": "StepTemplate", "metadata": {"name": "reconcile"},
                 "spec": {"bindings": [{"name": "reconcile_timeout", "value": "5m"}],
                          "try": [{"script": {"content": "flux reconcile kustomization ($kustomization) -n flux-system --with-source"}}]}}  # fmt: skip
    repo.builder.write(f"{SHARED}/steps/bootstrap.yaml", dump(bootstrap))
    repo.builder.write(f"{SHARED}/steps/reconcile.yaml", dump(reconcile))
    folder = "ci/test/infra-kubernetes"
    steps = [{"name": "Bootstrap", "use": {"template": "../chainsaw/steps/bootstrap.yaml"}}]
    steps.append({"name": "Deploy", "try": [{"apply": {"file": f"./{manifest_name(m)}.yaml"}} for m in (KUBE_CORE, KUBE_EXTRA)]})
    for module in (KUBE_CORE, KUBE_EXTRA):
        name = manifest_name(module)
        repo.builder.write(f"{folder}/{name}.yaml", _flux(name, module))
        bindings = [{"name": "kustomization", "value": name}, {"name": "reconcile_timeout", "value": "5m"}]
        steps.append({"name": f"Reconcile {name}", "use": {"template": "../chainsaw/steps/reconcile.yaml", "with": {"bindings": bindings}}})
        check = {"assert": {"resource": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "coredns", "namespace": "kube-system"}}}}
        steps.append({"name": f"Validate {posixpath_basename(module)}", "try": [check], "catch": [{"podLogs": {"namespace": "kube-system"}}]})
    test = {"apiVersion": CHAINSAW, "kind": "Test", "metadata": {"name": "infra-kubernetes"}, "spec": {"steps": steps}}
    repo.builder.write(f"{folder}/chainsaw-test.yaml", dump(test))
    runs = {"name": "chainsaw", "on": {"pull_request": {}},
            "jobs": {"chainsaw": {"strategy": {"matrix": {"suite": [folder]}}, "steps": [{"run": "chainsaw test --test-dir ${{ matrix.suite }}"}]}}}  # fmt: skip
    repo.builder.write(".github/workflows/chainsaw.yaml", dump(runs))
