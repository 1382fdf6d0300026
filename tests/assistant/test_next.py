"""What next: the Flux dependsOn graph of a real repository, the order, pairs, blockers, sizes."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

from typer.testing import CliRunner

from app.assistant.next import Candidate, names_module
from app.cli import cli
from app.cli_parity import next_command
from app.config import get_settings
from app.repobuilder.gitops import APPS, INFRA, GitOps, dump
from app.services import scan_and_store
from app.services.next import next_report
from app.store.blockers import add_blocker
from app.store.db import session_scope

K_CORE, K_EXTRA = f"{INFRA}/kubernetes-core", f"{INFRA}/kubernetes-extra"
N_CORE, N_EXTRA = f"{INFRA}/networking-core", f"{INFRA}/networking-extra"
STORAGE, DATABASE = f"{INFRA}/storage-core", f"{INFRA}/database-core"
MEDIA, HARBOR, CODER = f"{APPS}/media", f"{APPS}/harbor", f"{APPS}/coder"


def flux(name: str, path: str, *depends: str, namespace: str = "flux-system") -> dict:
    spec = {"interval": "10m", "path": f"./{path}", "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}
    if depends:
        spec["dependsOn"] = [{"name": d} for d in depends]
    return {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}  # fmt: skip


def platform(repo: GitOps) -> None:
    """kubernetes migrated; networking (a pair) on kubernetes; storage on networking;
    database on storage; media on nothing; harbor on kubernetes; coder on networking-extra's workload."""
    for module in (K_CORE, K_EXTRA, N_CORE, N_EXTRA, STORAGE, DATABASE, MEDIA, HARBOR, CODER):
        repo.add_module(module, ("app", "ingress") if module == N_EXTRA else ("app",))
    repo.add_chainsaw_suite("infra-kubernetes", [K_CORE, K_EXTRA])
    repo.add_legacy_suite("infra-networking", [N_CORE, N_EXTRA], conditions=4)
    repo.add_legacy_suite("infra-storage", [STORAGE], conditions=2)
    repo.add_legacy_suite("infra-database", [DATABASE], conditions=1)
    repo.add_legacy_suite("apps-media", [MEDIA], conditions=3)
    repo.add_legacy_suite("apps-harbor", [HARBOR], conditions=1)
    repo.add_legacy_suite("apps-coder", [CODER], conditions=1)
    infra = [
        flux("kubernetes-core", K_CORE), flux("kubernetes-extra", K_EXTRA, "kubernetes-core"),
        flux("networking-core", N_CORE, "kubernetes-core"), flux("networking-extra", N_EXTRA, "networking-core"),
        flux("networking-extra-ingress", f"{N_EXTRA}/ingress", "networking-extra"),  # a workload's own
        flux("storage-core", STORAGE, "networking-core"), flux("database-core", DATABASE, "storage-core"),
    ]  # fmt: skip
    repo.builder.write("clusters/production/infrastructure.yaml", dump(*infra))
    apps = [flux("media", MEDIA), flux("harbor", HARBOR, "kubernetes-core"), flux("coder", CODER, "networking-extra-ingress")]
    repo.builder.write("clusters/production/apps.yaml", dump(*apps))
    # a test manifest that depends on the database: deploys for a test, says nothing of the platform
    repo.builder.write("ci/test/apps-media/extra.yaml", dump(flux("apps-media-db", MEDIA, "database-core")))
    repo.commit("feat: the platform")


def plan_of(db_url: str, path: Path, blocker: tuple[str, list[str]] | None = None, repo: Path | None = None):
    scan_and_store(db_url, path)
    key = str(path.resolve())
    with session_scope(db_url, key) as session:
        if blocker:
            add_blocker(session, blocker[0], "test", blocker[1])
            session.flush()
        return next_report(session, repo or path)


def titles(items) -> list[str]:
    return [i.title for i in items]


def test_ready_modules_have_their_dependencies_migrated_smaller_suites_first(gitops, db_url) -> None:
    platform(gitops)
    gitops.builder.flush()

    plan = plan_of(db_url, gitops.builder.path)

    assert plan.graph_read
    assert titles(plan.ready) == ["harbor", "media", "networking-core/extra"]  # sizes 1, 3, 4
    networking = plan.ready[2]
    assert networking.modules == [N_CORE, N_EXTRA] and networking.size == 4  # one suite, counted once
    assert networking.depends_on == [K_CORE]
    assert networking.reason == "its dependencies are migrated: kubernetes-core; 4 legacy checks; the pair goes together"
    # the test manifest's dependsOn is not the platform's
    assert plan.ready[1].reason == "depends on no other module; 3 legacy checks"
    assert titles(plan.waiting) == ["coder", "storage-core", "database-core"]
    coder = plan.waiting[0]
    assert coder.waiting_on == [N_EXTRA]  # through the Kustomization of networking-extra's workload
    assert coder.reason.startswith("waits for networking-extra (legacy)")


def test_the_next_step_follows_the_migration(gitops, db_url) -> None:
    platform(gitops)
    gitops.migrate_suite("infra-networking", pr=1010)
    gitops.builder.flush()

    plan = plan_of(db_url, gitops.builder.path)

    assert titles(plan.ready) == ["coder", "harbor", "storage-core", "media"]
    assert titles(plan.waiting) == ["database-core"]


def test_a_module_named_by_an_open_blocker_is_marked_and_goes_last(gitops, db_url) -> None:
    platform(gitops)
    gitops.builder.flush()

    plan = plan_of(db_url, gitops.builder.path, ("Harbor needs object storage", ["harbor waits for the S3 decision"]))

    assert titles(plan.ready) == ["media", "networking-core/extra", "harbor"]
    assert plan.ready[2].blockers == ["Harbor needs object storage"]
    assert plan.ready[2].reason.endswith("named by an open blocker: Harbor needs object storage")
    assert plan.ready[0].blockers == []


def test_without_the_repository_dependencies_are_unknown_not_invented(gitops, db_url, tmp_path) -> None:
    platform(gitops)
    gitops.builder.flush()

    plan = plan_of(db_url, gitops.builder.path, repo=tmp_path / "gone")

    assert not plan.graph_read and plan.waiting == []
    assert titles(plan.ready)[:2] == ["coder", "database-core"]  # sizes 1, 1, by name


def test_a_blocker_names_a_module_by_its_folder_name_or_its_pair() -> None:
    core = Candidate(N_CORE, "networking-core", "legacy", "infrastructure", "networking")
    extra = Candidate(N_EXTRA, "networking-extra", "legacy", "infrastructure", "networking")
    media = Candidate(MEDIA, "media", "legacy", "apps")
    assert names_module("MetalLB blocks networking-core/extra modules", extra)
    assert names_module("networking-core needs a new IP pool", core)
    assert not names_module("networking-core needs a new IP pool", extra)
    assert names_module("the Media app waits for GPUs", media)
    assert not names_module("social-media bridge", media) and not names_module("multimedia", media)


def test_the_json_option_says_the_keys_it_prints(gitops, db_url, monkeypatch) -> None:
    platform(gitops)
    gitops.builder.flush()
    monkeypatch.setenv("SAWMILL_DATABASE_URL", db_url)
    monkeypatch.delenv("SAWMILL_REPO", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["next", str(gitops.builder.path), "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    keys = list(json.loads(result.stdout))
    help_text = inspect.signature(next_command).parameters["as_json"].default.help
    assert re.findall(r"[{,] ?(\w+)", help_text) == keys  # "Print {graph_read, next: [...], waiting: [...]}..."
