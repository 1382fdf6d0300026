"""Parity on real histories: what each migration kept, dropped, and what went away since."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.repobuilder.gitops import APPS, GitOps, dump
from app.services.parity import parity_report
from app.store.db import session_scope

from .conftest import (
    CHAINSAW,
    DB_CORE,
    NET_CORE,
    NET_EXTRA,
    asserting,
    condition,
    deployment,
    history,
    legacy_suite,
    migrate,
    shared,
    step_template,
)


def report(db_url: str, path: Path, ref: str = "HEAD") -> dict[str, dict]:
    key = history(db_url, path)
    with session_scope(db_url, key) as session:
        _commit, found = parity_report(session, path, key, ref)
    return {p.path: p.to_dict() for p in found}


def names(checks: list[dict]) -> list[str]:
    return sorted(f"{c['kind']}/{c['name']}" for c in checks)


def networking(repo: GitOps, conditions: list[dict]) -> None:
    repo.add_module(NET_CORE, ("metallb", "traefik"))
    legacy_suite(repo, "infra-networking", [NET_CORE], conditions)
    repo.commit("feat: networking")


def networking_test(*steps: dict) -> str:
    """infra-networking's chainsaw test, written by hand beside (or after) its legacy suite."""
    apply = {"try": [{"apply": {"file": "./infra-networking-core.yaml"}}]}
    return dump({"apiVersion": CHAINSAW, "kind": "Test", "metadata": {"name": "infra-networking"}, "spec": {"steps": [apply, *steps]}})


def test_a_migration_that_kept_every_check(gitops, db_url) -> None:
    networking(gitops, [condition("deployment/traefik", "traefik"), condition("deployments.apps/metallb", "metallb")])
    steps = [asserting(deployment("traefik", "traefik"), deployment("metallb", "metallb"))]
    moved = migrate(gitops, "infra-networking", steps, pr=1010)
    gitops.builder.flush()

    found = report(db_url, gitops.builder.path)[NET_CORE]

    assert found["migrated_in"] == moved.sha
    assert names(found["legacy_checks"]) == ["deployment/traefik", "deployments/metallb"]  # kubectl's plural, in apps
    assert names(found["carried"]) == names(found["legacy_checks"])
    assert found["lost"] == [] and found["since"] == []
    assert found["legacy_checks"][0]["source"] == ".github/workflows/test-infrastructure-networking.yaml"


def test_a_dropped_check_is_lost_with_its_namespace_and_source(gitops, db_url) -> None:
    networking(gitops, [condition("deployment/traefik", "traefik"), condition("deployment/metallb-controller", "metallb")])
    migrate(gitops, "infra-networking", [asserting(deployment("traefik", "traefik"))], pr=1010)
    gitops.builder.flush()

    found = report(db_url, gitops.builder.path)[NET_CORE]

    assert names(found["carried"]) == ["deployment/traefik"]
    assert found["lost"] == [
        {"kind": "deployment", "name": "metallb-controller", "namespace": "metallb", "group": None,
         "source": ".github/workflows/test-infrastructure-networking.yaml", "absent": False}
    ]  # fmt: skip


def test_a_group_qualified_kind_is_that_kind_in_that_group(gitops, db_url) -> None:
    gitops.add_module(DB_CORE, ("cnpg",))
    legacy_suite(gitops, "infra-database", [DB_CORE], [
        condition("cluster/main", "cnpg"),  # unqualified: any group's Cluster
        condition("cluster.postgresql.cnpg.io/replica", "cnpg"),
        condition("cluster.cluster.x-k8s.io/replica", "cnpg"),  # another group's Cluster of the same name
        condition("cluster.v1.postgresql.cnpg.io/backup", "cnpg"),  # kind.version.group, as kubectl takes it
    ])  # fmt: skip
    gitops.commit("feat: database")
    cnpg = [deployment(n, "cnpg", api="postgresql.cnpg.io/v1", kind="Cluster") for n in ("main", "replica", "backup")]
    migrate(gitops, "infra-database", [asserting(*cnpg)], pr=1020)
    gitops.builder.flush()

    found = report(db_url, gitops.builder.path)[DB_CORE]

    assert sorted((c["name"], c["group"]) for c in found["carried"]) == [
        ("backup", "postgresql.cnpg.io"), ("main", None), ("replica", "postgresql.cnpg.io")
    ]  # fmt: skip
    assert [(c["name"], c["group"]) for c in found["lost"]] == [("replica", "cluster.x-k8s.io")]


def test_an_assertion_moved_into_a_shared_template_with_bindings(gitops, db_url) -> None:
    networking(gitops, [condition("deployment/traefik", "traefik"), condition("deployment/metallb", "metallb")])
    ready = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "($name)", "namespace": "($namespace)"}}
    template = step_template("deployment-ready", {
        "bindings": [{"name": "namespace", "value": "default"}],  # a default the caller overrides
        "try": [{"assert": {"file": "../chainsaw/assertions/deployment-ready.yaml"}}],  # resolved from the test's folder
    })  # fmt: skip
    uses = [
        {"name": f"{n} ready", "use": {"template": "../chainsaw/steps/deployment-ready.yaml",
                                       "with": {"bindings": [{"name": "name", "value": n}, {"name": "namespace", "value": n}]}}}
        for n in ("traefik", "metallb")
    ]  # fmt: skip
    files = {shared("steps/deployment-ready.yaml"): template, shared("assertions/deployment-ready.yaml"): dump(ready)}
    migrate(gitops, "infra-networking", uses, pr=1010, files=files)
    gitops.builder.flush()

    found = report(db_url, gitops.builder.path)[NET_CORE]

    assert names(found["carried"]) == ["deployment/metallb", "deployment/traefik"]
    assert found["lost"] == []


def test_a_template_whose_binding_is_left_unset_carries_nothing(gitops, db_url) -> None:
    networking(gitops, [condition("deployment/traefik", "traefik")])
    ready = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "($name)", "namespace": "traefik"}}
    files = {
        shared("steps/ready.yaml"): step_template("ready", {"try": [{"assert": {"resource": ready}}]}),
    }
    uses = [{"name": "ready", "use": {"template": "../chainsaw/steps/ready.yaml"}}]  # no with.bindings
    migrate(gitops, "infra-networking", uses, pr=9, files=files)
    gitops.builder.flush()

    found = report(db_url, gitops.builder.path)[NET_CORE]

    assert names(found["lost"]) == ["deployment/traefik"]


def test_a_check_that_went_away_later_with_its_resource_is_since_not_lost(gitops, db_url) -> None:
    gitops.add_module(NET_CORE, ("metallb", "traefik", "old-api"))
    legacy_suite(gitops, "infra-networking", [NET_CORE], [
        condition("deployment/traefik", "traefik"), condition("deployment/old-api", "old-api"),
        condition("deployment/metallb", "metallb"),
    ])  # fmt: skip
    gitops.commit("feat: networking")
    migrate(gitops, "infra-networking", [asserting(deployment("traefik", "traefik"))], pr=1010)
    before = gitops.builder.head()
    gitops.builder.delete(f"{NET_CORE}/old-api")
    gitops.builder.write(f"{NET_CORE}/kustomization.yaml", "resources: [./metallb, ./traefik]\n")
    gitops.commit("chore: retire old-api")
    gitops.builder.flush()

    now = report(db_url, gitops.builder.path)[NET_CORE]
    then = report(db_url, gitops.builder.path, ref=before.sha)[NET_CORE]

    assert names(now["since"]) == ["deployment/old-api"]
    assert names(now["lost"]) == ["deployment/metallb"]  # its HelmRelease is still there: a real loss
    assert names(then["lost"]) == ["deployment/metallb", "deployment/old-api"] and then["since"] == []


def test_a_pair_shares_one_workflow_each_half_gets_its_own_conditions(gitops, db_url) -> None:
    gitops.add_module(NET_CORE, ("traefik",)).add_module(NET_EXTRA, ("external-dns",))
    legacy_suite(gitops, "infra-networking", [NET_CORE, NET_EXTRA], [
        condition("deployment/traefik", "traefik"), condition("deployment/external-dns", "external-dns"),
        condition("kustomization/infra-networking-core", "flux-system"),  # names no namespace of either: both
        condition("deployment/webhook", "networking-extra"),  # the namespace is the module's folder name
    ])  # fmt: skip
    gitops.commit("feat: networking")
    migrate(gitops, "infra-networking", [asserting(deployment("traefik", "traefik"))], pr=1010)
    gitops.builder.flush()

    found = report(db_url, gitops.builder.path)

    assert names(found[NET_CORE]["legacy_checks"]) == ["deployment/traefik", "kustomization/infra-networking-core"]
    assert names(found[NET_EXTRA]["legacy_checks"]) == [
        "deployment/external-dns", "deployment/webhook", "kustomization/infra-networking-core"
    ]  # fmt: skip
    assert names(found[NET_EXTRA]["lost"]) == names(found[NET_EXTRA]["legacy_checks"])


MEDIA = f"{APPS}/media"
CASE = f"{MEDIA}/tests/basic"


def media_kuttl_to_chainsaw(gitops: GitOps, steps: dict[str, list], operations: list[dict], pr: int) -> None:
    """A media module tested by a kuttl case of ``steps`` (file name -> objects), then moved to
    one chainsaw Test of ``operations`` beside it."""
    gitops.add_module(MEDIA, ("jellyfin",))
    gitops.builder.write("kuttl-test.yaml", dump({"apiVersion": "kuttl.dev/v1beta1", "kind": "TestSuite", "testDirs": [f"{MEDIA}/tests"]}))
    gitops.builder.write(f"{CASE}/00-install.yaml", dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}))
    for name, objects in steps.items():
        gitops.builder.write(f"{CASE}/{name}", dump(*objects))
    gitops.commit("feat: media with kuttl tests")
    test = {"apiVersion": "chainsaw.kyverno.io/v1alpha1", "kind": "Test", "metadata": {"name": "basic"},
            "spec": {"steps": [{"try": [{"apply": {"file": "00-install.yaml"}}, *operations]}]}}  # fmt: skip
    gitops.builder.delete("kuttl-test.yaml")
    gitops.builder.write(f"{CASE}/chainsaw-test.yaml", dump(test))
    gitops.commit(f"refactor: media to chainsaw (#{pr})")
    gitops.builder.flush()


CRASHED = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crashed"}}


def test_kuttl_asserts_and_errors_against_the_chainsaw_test_beside_them(gitops, db_url) -> None:
    media_kuttl_to_chainsaw(gitops, {"00-assert.yaml": [deployment("jellyfin", "jellyfin"), deployment("sonarr", "jellyfin")],
                                     "01-errors.yaml": [CRASHED]}, [{"assert": {"file": "00-assert.yaml"}}], pr=77)  # fmt: skip

    found = report(db_url, gitops.builder.path)[MEDIA]

    assert names(found["carried"]) == ["Deployment/jellyfin", "Deployment/sonarr"]
    assert found["lost"] == [{"kind": "Pod", "name": "crashed", "namespace": None, "group": "", "source": f"{CASE}/01-errors.yaml",
                              "absent": True}]  # fmt: skip
    assert found["pr"] == 77


@pytest.mark.parametrize(("operation", "carried"), [("error", True), ("assert", False)])
def test_a_must_not_exist_check_is_carried_only_by_one_that_says_the_same(gitops, db_url, operation, carried) -> None:
    media_kuttl_to_chainsaw(gitops, {"01-errors.yaml": [CRASHED]}, [{operation: {"file": "01-errors.yaml"}}], pr=78)

    found = report(db_url, gitops.builder.path)[MEDIA]

    assert [c["absent"] for c in found["legacy_checks"]] == [True]  # kuttl errors: it must not exist
    assert (names(found["carried"]), names(found["lost"])) == ((["Pod/crashed"], []) if carried else ([], ["Pod/crashed"]))


def test_a_module_born_with_chainsaw_tests_has_no_parity(gitops, db_url) -> None:
    networking(gitops, [condition("deployment/traefik", "traefik")])
    gitops.add_module(NET_EXTRA)
    gitops.add_chainsaw_suite("infra-networking-extra", [NET_EXTRA])
    gitops.commit("feat: networking-extra, with chainsaw tests")
    gitops.builder.flush()

    assert report(db_url, gitops.builder.path) == {}


def test_a_migration_in_two_commits_reads_the_legacy_suite_just_before_it_went(gitops, db_url) -> None:
    networking(gitops, [condition("deployment/traefik", "traefik"), condition("deployment/metallb", "metallb")])
    suite = gitops.suites["infra-networking"]
    gitops.builder.write(f"{suite.folder}/chainsaw-test.yaml", networking_test(asserting(deployment("traefik", "traefik"))))
    both = gitops.commit("test: chainsaw beside the legacy suite")  # in progress
    gitops.builder.delete(f"{suite.folder}/kustomization.yaml")
    gitops.builder.delete(suite.workflow)
    done = gitops.commit("chore: drop the legacy suite (#3)")
    gitops.builder.flush()

    found = report(db_url, gitops.builder.path)[NET_CORE]

    assert (found["migrated_in"], found["legacy_commit"], found["pr"]) == (done.sha, both.sha, 3)
    assert names(found["carried"]) == ["deployment/traefik"] and names(found["lost"]) == ["deployment/metallb"]


def test_a_legacy_suite_deleted_before_the_chainsaw_test_came_is_read_where_it_last_was(gitops, db_url) -> None:
    networking(gitops, [condition("deployment/traefik", "traefik"), condition("deployment/metallb", "metallb")])
    suite = gitops.suites["infra-networking"]
    last = gitops.builder.head()
    gitops.builder.delete(f"{suite.folder}/kustomization.yaml")
    gitops.builder.delete(suite.workflow)
    gitops.commit("chore: the legacy suite goes (flaky)")  # untested for a while
    gitops.builder.write(f"{suite.folder}/chainsaw-test.yaml", networking_test(asserting(deployment("metallb", "metallb"))))
    gitops.commit("test: networking on chainsaw (#5)")
    gitops.builder.flush()

    found = report(db_url, gitops.builder.path)[NET_CORE]

    assert found["legacy_commit"] == last.sha
    assert names(found["carried"]) == ["deployment/metallb"] and names(found["lost"]) == ["deployment/traefik"]


def test_a_check_carried_by_a_kubectl_wait_in_a_script_or_a_command(gitops, db_url) -> None:
    networking(gitops, [condition("helmrelease/traefik", "traefik"), condition("deployment/metallb-controller", "metallb"),
                        condition("deployment/speaker", "metallb")])  # fmt: skip
    script = {"script": {
        "env": [{"name": "NS", "value": "($namespace)"}],
        "content": "set -e\nkubectl wait --for=condition=Ready helmrelease/traefik -n $NS \\\n  --timeout=5m\n"
                   "kubectl get pods -n metallb  # looks, checks nothing\n",
    }}  # fmt: skip
    command = {"command": {"entrypoint": "kubectl", "args": ["-n", "metallb", "rollout", "status", "deployment/metallb-controller"]}}
    steps = [{"name": "ready", "bindings": [{"name": "namespace", "value": "traefik"}], "try": [script, command]}]
    migrate(gitops, "infra-networking", steps, pr=1010)
    gitops.builder.flush()

    found = report(db_url, gitops.builder.path)[NET_CORE]

    assert names(found["carried"]) == ["deployment/metallb-controller", "helmrelease/traefik"]
    assert names(found["lost"]) == ["deployment/speaker"]  # a kubectl get is no check


def test_a_check_in_a_catch_block_is_lost_finally_and_cleanup_carry(gitops, db_url) -> None:
    networking(gitops, [condition("deployment/traefik", "traefik"), condition("deployment/metallb", "metallb"),
                        condition("deployment/speaker", "metallb"), condition("deployment/controller", "metallb")])  # fmt: skip
    step = {"name": "Validate", "try": [{"assert": {"resource": deployment("traefik", "traefik")}}],
            "catch": [{"assert": {"resource": deployment("metallb", "metallb")}}],  # runs only once the step failed
            "finally": [{"assert": {"resource": deployment("speaker", "metallb")}}],
            "cleanup": [{"assert": {"resource": deployment("controller", "metallb")}}]}  # fmt: skip
    migrate(gitops, "infra-networking", [step], pr=1010)
    gitops.builder.flush()

    found = report(db_url, gitops.builder.path)[NET_CORE]

    assert names(found["carried"]) == ["deployment/controller", "deployment/speaker", "deployment/traefik"]
    assert names(found["lost"]) == ["deployment/metallb"]
