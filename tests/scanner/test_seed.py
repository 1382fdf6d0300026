"""The repository as it was when the seed progress document was written."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.repobuilder.gitops import build_seed_repo
from app.scanner import scan
from app.scanner.model import ScanResult
from tests.scanner.conftest import by_name


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    return scan(build_seed_repo(tmp_path_factory.mktemp("seed") / "platform"))


def test_only_kubernetes_is_migrated_and_every_other_module_is_legacy(seed: ScanResult) -> None:
    status = {m.path: str(m.status) for m in seed.modules}
    assert status.pop("infrastructure/subsystems/kubernetes-core") == "migrated"
    assert status.pop("infrastructure/subsystems/kubernetes-extra") == "migrated"
    infra = ["networking", "security", "clusterops", "observability"]
    legacy = {f"infrastructure/subsystems/{m}-{half}" for m in infra for half in ("core", "extra")}
    legacy |= {"infrastructure/subsystems/storage-core", "infrastructure/subsystems/database-core"}
    apps = ["media", "home-automation", "downloaders", "coder", "harbor"]
    legacy |= {f"apps/subsystems/{app}" for app in apps}
    legacy.add("apps/subsystems/bitwarden")  # not in the document, but in the repository then
    assert status == dict.fromkeys(legacy, "legacy")
    assert all(m.evidence.legacy[0].workflow for m in seed.modules if m.path in legacy)  # each from its own suite's workflow
    assert len(status) == 16
    assert seed.summary.line() == "2 of 18 modules migrated (11%)"
    assert seed.warnings == []


def test_components_are_listed_outside_the_totals(seed: ScanResult) -> None:
    assert [(c.name, c.component, c.group) for c in seed.components] == [
        ("db-backups", True, "components"),
        ("sso", True, "components"),
    ]
    assert seed.summary.total == 18


def test_pairs_groups_and_evidence(seed: ScanResult) -> None:
    modules = by_name(seed)
    assert modules["networking-core"].pair == modules["networking-extra"].pair == "networking"
    assert modules["storage-core"].pair is None and modules["media"].pair is None
    assert (modules["media"].group, modules["storage-core"].group) == ("apps", "infrastructure")
    core = modules["kubernetes-core"].evidence.chainsaw[0]
    assert core.test_file == "ci/test/infra-kubernetes/chainsaw-test.yaml"
    assert core.link == "ci/test/infra-kubernetes/infra-kubernetes-core.yaml"
    assert (core.asserts, core.errors, core.scripts) == (5, 2, 5)
    assert "ci/test/chainsaw/steps/bootstrap-flux.yaml" in core.files
    legacy = modules["networking-core"].evidence.legacy[0]
    assert (legacy.kind, legacy.suite, legacy.workflow, legacy.success_conditions) == (
        "kustomize",
        "ci/test/infra-networking",
        ".github/workflows/test-infrastructure-networking.yaml",
        3,
    )


def test_prerequisites_and_borrowed_manifests_are_dependencies_not_coverage(seed: ScanResult) -> None:
    modules = by_name(seed)
    # infra-kubernetes deploys security-core/cert-manager first: security-core stays legacy
    assert str(modules["security-core"].status) == "legacy"
    assert modules["security-core"].evidence.dependencies == [
        "ci/test/chainsaw/pre-requisites/cert-manager/cert-manager.yaml"
    ]
    assert [e.kind for e in modules["security-core"].evidence.legacy] == ["kustomize"]
    # infra-database borrows infra-storage's manifest: a dependency of storage-core
    assert modules["storage-core"].evidence.dependencies == ["ci/test/infra-storage/infra-storage-core.yaml"]
    assert [e.suite for e in modules["storage-core"].evidence.legacy] == ["ci/test/infra-storage"]


def test_json_shape(seed: ScanResult) -> None:
    data = seed.to_dict()
    assert set(data) >= {"commit", "ref", "summary", "modules", "components", "warnings"}
    assert data["summary"]["counts"] == {"untested": 0, "legacy": 16, "in_progress": 0, "migrated": 2}
    assert (data["summary"]["total"], data["summary"]["percent"]) == (18, 11)
    first = data["modules"][0]
    assert set(first) >= {"path", "name", "group", "status", "evidence"}
    assert first["path"] == "apps/subsystems/bitwarden"


def test_seed_builder_leaves_a_checked_out_work_tree(tmp_path: Path) -> None:
    repo = build_seed_repo(tmp_path / "p")
    assert (repo / "ci/test/infra-kubernetes/chainsaw-test.yaml").is_file()
    assert not (repo / "ci/test/infra-kubernetes/kustomization.yaml").exists()
