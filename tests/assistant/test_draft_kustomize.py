"""Drafts of workflow-driven kustomize suites: plain, and following migrated suites' conventions."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from app.assistant.conventions import learn
from app.assistant.draft import draft
from app.assistant.model import DraftError
from app.assistant.snapshot import open_commit
from app.repobuilder.gitops import build_seed_repo, dump
from app.scanner import scan
from tests.assistant.chainsaw_shapes import problems
from tests.assistant.drafting import (
    CHAINSAW,
    DB_CORE,
    MEDIA,
    NET_CORE,
    NET_EXTRA,
    applied,
    build,
    database_suite,
    documents,
    media_suite,
    migrated_kubernetes,
    migrated_with_templates,
    networking_suite,
    operations,
    shape_problems,
    workflow,
)

TEST = "ci/test/infra-networking/chainsaw-test.yaml"


def by_name(result) -> dict:
    return {m.path: m for m in result.modules}


def test_a_pair_is_drafted_together_with_plain_operations_and_covered_once_applied(tmp_path: Path) -> None:
    repo = build(tmp_path / "repo", networking_suite)
    result = draft(repo, "networking-extra")
    assert result.modules == [NET_CORE, NET_EXTRA] and result.learned == []
    assert [f.path for f in result.files] == [TEST] and shape_problems(result) == []
    test = documents(result)[TEST][0]
    names = [s["name"] for s in test["spec"]["steps"]]
    assert names == ["Apply modules", "Reconcile infra-networking-core", "Reconcile infra-networking-extra",
                     "Validate networking-core", "Validate networking-extra"]  # fmt: skip
    assert "use" not in str(test)  # no migrated suite: no template to follow

    scanned = by_name(applied(repo, result, tmp_path))
    for path in (NET_CORE, NET_EXTRA):
        assert str(scanned[path].status) == "in_progress"  # the legacy kustomization is still there
        assert [e.test_file for e in scanned[path].evidence.chainsaw] == [TEST]
    assert scanned[NET_CORE].evidence.chainsaw[0].asserts >= 4


def test_reconcile_items_become_reconcile_steps_with_their_timeouts(tmp_path: Path) -> None:
    repo = build(tmp_path / "repo", networking_suite)
    steps = {s["name"]: s for s in documents(draft(repo, NET_CORE))[TEST][0]["spec"]["steps"]}
    script, ready = steps["Reconcile infra-networking-core"]["try"]
    assert script["script"]["content"] == "flux reconcile kustomization infra-networking-core -n flux-system --with-source --timeout=10m"
    assert script["script"]["timeout"] == "10m"
    assert ready["assert"]["resource"]["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1"  # the suite's own manifest's
    assert ready["assert"]["timeout"] == "10m"
    assert steps["Reconcile infra-networking-extra"]["try"][0]["script"]["timeout"] == "5m"


def test_success_conditions_are_carried_over_faithfully(tmp_path: Path) -> None:
    repo = build(tmp_path / "repo", networking_suite)
    result = draft(repo, NET_CORE)
    steps = {s["name"]: s for s in documents(result)[TEST][0]["spec"]["steps"]}
    core = steps["Validate networking-core"]["try"]
    extra = steps["Validate networking-extra"]["try"]
    traefik, metallb, speaker = (op["assert"] for op in core)
    assert traefik["resource"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "traefik", "namespace": "traefik"},
        "status": {"(conditions[?type == 'Available'])": [{"status": "True"}]},
    }  # fmt: skip
    assert traefik["timeout"] == "300s"
    assert metallb["resource"]["apiVersion"] == "helm.toolkit.fluxcd.io/v2"  # from the module's own HelmRelease
    assert metallb["resource"]["status"] == {"(conditions[?type == 'Ready'])": [{"status": "True"}]}
    assert speaker["resource"]["status"] == {"phase": "Running"} and speaker["resource"]["kind"] == "Pod"
    cilium_ds, cilium_hr, policy = extra
    assert cilium_ds["assert"]["resource"]["status"] == {"(to_string(numberReady))": "3"}  # kubectl compares text
    assert cilium_hr["wait"]["for"] == {"jsonPath": {"path": "{.status.conditions[0].type}", "value": "Ready"}}
    assert cilium_hr["wait"]["apiVersion"] == "helm.toolkit.fluxcd.io/v2" and cilium_hr["wait"]["namespace"] == "cilium"
    # a kind no manifest of the module spells out: the very kubectl wait, never a guessed apiVersion
    assert policy == {"script": {"content": "kubectl wait --for=condition=Valid ciliumnetworkpolicy/default -n cilium --timeout=60s", "timeout": "60s"}}
    assert any("ciliumnetworkpolicy/default" in note for note in result.notes)


def test_a_group_qualified_kind_takes_its_api_version_from_the_module(tmp_path: Path) -> None:
    repo = build(tmp_path / "repo", database_suite)
    result = draft(repo, DB_CORE)
    test = documents(result)["ci/test/infra-database/chainsaw-test.yaml"][0]
    asserted = [op["assert"]["resource"] for op in operations(test) if "resource" in op.get("assert", {})]
    cluster = next(r for r in asserted if r["kind"] == "Cluster")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1" and cluster["metadata"] == {"name": "main", "namespace": "database"}
    assert shape_problems(result) == []
    assert str(by_name(applied(repo, result, tmp_path))[DB_CORE].status) == "in_progress"


def test_the_draft_follows_the_migrated_suites_conventions(tmp_path: Path) -> None:
    repo = build(tmp_path / "repo", migrated_kubernetes, networking_suite)
    result = draft(repo, NET_CORE)
    files = documents(result)
    assert shape_problems(result) == []
    assert set(files) == {
        TEST,
        "ci/test/infra-networking/check-infra-networking-core.yaml",
        "ci/test/infra-networking/check-infra-networking-extra.yaml",
        ".github/workflows/test-infrastructure-networking.yaml",
    }
    steps = files[TEST][0]["spec"]["steps"]
    assert steps[0] == {"name": "Bootstrap FluxCD", "use": {"template": "../chainsaw/steps/bootstrap-flux.yaml"}}
    assert steps[-1] == {"name": "Check networking-extra", "use": {"template": "./check-infra-networking-extra.yaml"}}
    reconcile = next(s for s in steps if s["name"] == "Reconcile infra-networking-core")
    assert reconcile["try"][0]["script"] == {"content": "../chainsaw/scripts/reconcile.sh infra-networking-core flux-system", "timeout": "10m"}
    core = files["ci/test/infra-networking/check-infra-networking-core.yaml"][0]
    traefik = core["spec"]["try"][0]["assert"]
    assert traefik == {
        "file": "../chainsaw/assertions/deployment-available.yaml",
        "bindings": [{"name": "deployment", "value": "traefik"}, {"name": "deployment_namespace", "value": "traefik"}],
        "timeout": "300s",
    }
    assert core["spec"]["catch"] == [{"events": {"namespace": "kube-system"}}, {"script": {"content": "../chainsaw/scripts/dump-events.sh"}}]
    workflow = next(f for f in result.files if f.path.startswith(".github/"))
    assert workflow.change == "changed"  # the legacy suite's workflow now runs chainsaw, as the migrated ones'
    assert "test_dir: ci/test/infra-networking" in workflow.content and "kubernetes" not in workflow.content
    assert f"{NET_EXTRA}/**" in workflow.content

    scanned = by_name(applied(repo, result, tmp_path))
    assert {str(scanned[p].status) for p in (NET_CORE, NET_EXTRA)} == {"in_progress"}


def test_every_file_the_draft_references_exists_once_applied(tmp_path: Path) -> None:
    repo = build(tmp_path / "repo", migrated_kubernetes, networking_suite)
    result = applied(repo, draft(repo, NET_CORE), tmp_path)
    assert not [w for w in result.warnings if "missing file" in w.reason or "leaves" in w.reason]


@pytest.mark.parametrize(
    ("module", "message"),
    [
        ("nowhere", "no module nowhere at HEAD (sawmill scan lists them)"),
        ("kubernetes-core", "infrastructure/subsystems/kubernetes-core is already migrated (ci/test/infra-kubernetes/chainsaw-test.yaml)"),
    ],
)
def test_modules_that_cannot_be_drafted_say_why(tmp_path: Path, module: str, message: str) -> None:
    repo = build(tmp_path / "repo", migrated_kubernetes, networking_suite)
    with pytest.raises(DraftError, match=f"^{re.escape(message)}$"):
        draft(repo, module)


def test_an_untested_module_has_nothing_to_draft_from(tmp_path: Path) -> None:
    repo = build(tmp_path / "repo", lambda r: r.add_module(NET_CORE))
    with pytest.raises(DraftError, match="has no legacy test to draft from"):
        draft(repo, NET_CORE)


def test_the_shape_check_refuses_what_chainsaw_refuses() -> None:
    """The check the drafts pass is not a rubber stamp."""
    good = {"apiVersion": "chainsaw.kyverno.io/v1alpha1", "kind": "Test", "metadata": {"name": "t"},
            "spec": {"steps": [{"try": [{"assert": {"file": "a.yaml", "timeout": "5m"}}]}]}}  # fmt: skip
    assert problems(good) == []
    bad = [
        {"try": [{"assert": {"file": "a.yaml"}, "apply": {"file": "b.yaml"}}]},  # two operations in one
        {"try": [{"asert": {"file": "a.yaml"}}]},  # an unknown operation
        {"try": [{"assert": {"file": "a.yaml", "timeout": "five minutes"}}]},
        {"use": {"template": "x.yaml"}, "try": [{"assert": {"file": "a.yaml"}}]},
        {"try": [{"script": {"content": "x"}}], "catch": [{"assert": {"file": "a.yaml"}}]},  # no assert in catch
        {"use": {"template": "x.yaml", "with": {"bindings": [{"name": "a"}]}}},
        {"try": [{"wait": {"kind": "Pod", "for": {"condition": {"name": "Ready"}}}}]},  # no apiVersion
        {"try": []},
    ]
    for step in bad:
        assert problems({**good, "spec": {"steps": [step]}}), step


def test_every_legacy_module_of_the_seed_repository_drafts_and_is_covered_once_applied(tmp_path: Path) -> None:
    """The seed repository at the PoC: one suite per group, pairs drafted together, a borrowed manifest."""
    repo = build_seed_repo(tmp_path / "seed")
    legacy = [m.path for m in scan(repo).modules if str(m.status) == "legacy"]
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    drafted: set[str] = set()
    for path in legacy:
        if path in drafted:
            continue  # drafted with its pair
        result = draft(repo, path)
        assert shape_problems(result) == [], path
        drafted.update(result.modules)
        subprocess.run(["git", "-C", str(clone), "apply", "--index", "-"], input=result.patch(), text=True, check=True)
    assert drafted == set(legacy)
    git = ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "commit", "-qm", "drafts"], check=True)
    after = {m.path: str(m.status) for m in scan(clone).modules}
    assert {after[p] for p in legacy} == {"in_progress"}
    database = documents(draft(repo, DB_CORE))["ci/test/infra-database/chainsaw-test.yaml"][0]
    assert {"name": "Dependencies", "try": [{"apply": {"file": "../infra-storage/infra-storage-core.yaml"}}]} in database["spec"]["steps"]


def test_other_conventions_a_reconcile_template_inline_checks_and_one_workflow_for_every_suite(tmp_path: Path) -> None:
    repo = build(tmp_path / "repo", migrated_with_templates, media_suite)
    result = draft(repo, "media")
    assert shape_problems(result) == []
    path = "ci/test/apps-media/chainsaw-test.yaml"
    steps = documents(result)[path][0]["spec"]["steps"]
    # the bootstrap reconciles a source of its own: still the bootstrap, not the suite's reconcile
    assert steps[0] == {"name": "Bootstrap", "use": {"template": "../chainsaw/steps/bootstrap.yaml"}}
    assert steps[1]["name"] == "Deploy"
    assert steps[2] == {
        "name": "Reconcile apps-media",
        "use": {"template": "../chainsaw/steps/reconcile.yaml",
                "with": {"bindings": [{"name": "kustomization", "value": "apps-media"}, {"name": "reconcile_timeout", "value": "15m"}]}},
    }  # fmt: skip
    assert steps[3]["name"] == "Validate media" and steps[3]["catch"] == [{"podLogs": {"namespace": "kube-system"}}]
    workflow = next(f for f in result.files if f.path == ".github/workflows/chainsaw.yaml")
    assert workflow.change == "changed"
    assert documents(result)[workflow.path][0]["jobs"]["chainsaw"]["strategy"]["matrix"]["suite"] == [
        "ci/test/infra-kubernetes", "ci/test/apps-media"]  # fmt: skip
    assert str({m.path: m for m in applied(repo, result, tmp_path).modules}[MEDIA].status) == "in_progress"


def test_a_workflow_per_suite_is_written_again_in_place_of_the_legacy_one(tmp_path: Path) -> None:
    """An app drafted after an infrastructure pair: the workflow keeps the app's own file name."""
    repo = build(tmp_path / "repo", migrated_kubernetes, media_suite)
    result = draft(repo, MEDIA)
    workflow = next(f for f in result.files if f.path.startswith(".github/"))
    assert workflow.path == ".github/workflows/test-apps-media.yaml" and workflow.change == "changed"
    text = workflow.content
    assert "test_dir: ci/test/apps-media" in text and f"{MEDIA}/**" in text
    assert "kubernetes" not in text and "extra" not in text  # the pair's second module has no counterpart


def with_conditions(*conditions: dict):
    """networking_suite with ``conditions`` in place of its own (staged)."""

    def stage(repo) -> None:
        networking_suite(repo)
        items = [{"name": "infra-networking-core", "namespace": "flux-system"}]
        workflow(repo, "infra-networking", items, list(conditions))

    return stage


def validated(result) -> list[dict]:
    steps = {s["name"]: s for s in documents(result)[TEST][0]["spec"]["steps"]}
    return steps["Validate networking-core"]["try"]


def test_a_json6902_patch_file_in_a_module_does_not_stop_the_draft(tmp_path: Path) -> None:
    def patches(repo) -> None:  # a YAML list: no mapping, no metadata
        repo.builder.write(f"{NET_CORE}/traefik/patches.yaml", "- op: replace\n  path: /spec/replicas\n  value: 2\n")

    repo = build(tmp_path / "repo", networking_suite, patches)
    result = draft(repo, NET_CORE)
    assert TEST in documents(result) and shape_problems(result) == []


def test_a_lower_case_condition_type_is_asserted_as_kubernetes_spells_it(tmp_path: Path) -> None:
    traefik = {"resource": "deployment/traefik", "namespace": "traefik", "for": "condition=available", "timeout": "300s"}
    metallb = {"resource": "helmrelease/metallb", "namespace": "metallb", "for": "condition=ready"}
    repo = build(tmp_path / "repo", with_conditions(traefik, metallb))
    deployment, release = (op["assert"]["resource"]["status"] for op in validated(draft(repo, NET_CORE)))
    assert deployment == {"(conditions[?type == 'Available'])": [{"status": "True"}]}
    assert release == {"(conditions[?type == 'Ready'])": [{"status": "True"}]}


def test_a_lower_case_condition_type_uses_the_shared_assertion(tmp_path: Path) -> None:
    traefik = {"resource": "deployment/traefik", "namespace": "traefik", "for": "condition=available", "timeout": "300s"}
    repo = build(tmp_path / "repo", migrated_kubernetes, with_conditions(traefik))
    files = documents(draft(repo, NET_CORE))
    core = files["ci/test/infra-networking/check-infra-networking-core.yaml"][0]
    assert core["spec"]["try"][0]["assert"]["file"] == "../chainsaw/assertions/deployment-available.yaml"


def test_a_jsonpath_on_metadata_keeps_the_name_and_namespace(tmp_path: Path) -> None:
    label = {"resource": "deployment/traefik", "namespace": "traefik", "for": "jsonpath='{.metadata.labels.app}'=traefik"}
    repo = build(tmp_path / "repo", with_conditions(label))
    (check,) = validated(draft(repo, NET_CORE))
    assert check["assert"]["resource"]["metadata"] == {"name": "traefik", "namespace": "traefik", "labels": {"app": "traefik"}}


def test_a_timeout_in_bare_seconds_becomes_a_duration(tmp_path: Path) -> None:
    traefik = {"resource": "deployment/traefik", "namespace": "traefik", "for": "condition=Available", "timeout": 300}

    def stage(repo) -> None:
        with_conditions(traefik)(repo)
        items = [{"name": "infra-networking-core", "namespace": "flux-system", "timeout": 600}]
        workflow(repo, "infra-networking", items, [traefik])

    repo = build(tmp_path / "repo", stage)
    result = draft(repo, NET_CORE)
    steps = {s["name"]: s for s in documents(result)[TEST][0]["spec"]["steps"]}
    assert steps["Reconcile infra-networking-core"]["try"][0]["script"]["timeout"] == "600s"
    assert validated(result)[0]["assert"]["timeout"] == "300s" and shape_problems(result) == []


def extra_migrated(repo) -> None:
    """The extra half of the networking pair migrated by hand, beside the legacy suite (staged)."""
    test = {"apiVersion": CHAINSAW, "kind": "Test", "metadata": {"name": "infra-networking"},
            "spec": {"steps": [{"name": "Apply extra", "try": [{"apply": {"file": "./infra-networking-extra.yaml"}}]}]}}  # fmt: skip
    repo.builder.write(TEST, dump(test))


def test_a_suite_folder_holding_a_chainsaw_test_already_is_refused(tmp_path: Path) -> None:
    """The draft would overwrite the team's test."""
    repo = build(tmp_path / "repo", networking_suite, extra_migrated)
    message = f"{TEST} already exists: add the legacy suite's remaining checks to it by hand, or move it out of the folder and draft again"
    with pytest.raises(DraftError, match=f"^{re.escape(message)}$"):
        draft(repo, NET_CORE)


def test_the_folder_drafted_into_is_never_the_model(tmp_path: Path) -> None:
    repo = build(tmp_path / "repo", networking_suite, extra_migrated)
    with open_commit(repo) as commit:
        modules = [m for m in commit.modules if m.path in (NET_CORE, NET_EXTRA)]
        assert learn(commit, modules).model == TEST  # the half-migrated test is a migrated suite
        assert learn(commit, modules, "ci/test/infra-networking").model is None


def test_a_legacy_workflow_running_other_suites_too_is_left_alone(tmp_path: Path) -> None:
    """One workflow runs the networking and the database suites: the draft adds its own beside it."""

    def one_workflow(repo) -> None:
        net, db = repo.suites["infra-networking"], repo.suites["infra-database"]
        jobs = {}
        for suite, resource in ((net, "deployment/traefik"), (db, "cluster.postgresql.cnpg.io/main")):
            inputs = {"test_path": suite.folder, "reconcile_items": "- name: x\n", "success_conditions": f"- resource: {resource}\n"}
            jobs[suite.folder.rpartition("/")[2]] = {"uses": "./.github/workflows/reusable-flux-test.yaml", "with": inputs}
        repo.builder.delete(db.workflow)
        repo.builder.write(net.workflow, dump({"name": "Test infra", "on": {"pull_request": {}}, "jobs": jobs}))

    repo = build(tmp_path / "repo", migrated_kubernetes, networking_suite, database_suite, one_workflow)
    result = draft(repo, NET_CORE)
    workflows = [f for f in result.files if f.path.startswith(".github/")]
    assert [(f.path, f.change) for f in workflows] == [(".github/workflows/test-infrastructure-networking-chainsaw.yaml", "new")]
    assert "test_dir: ci/test/infra-networking" in workflows[0].content
    assert any("runs more than this suite" in note for note in result.notes)
    scanned = applied(repo, result, tmp_path)
    assert str(by_name(scanned)[DB_CORE].status) == "legacy"  # its job is still there


def test_a_quoted_jsonpath_kept_as_kubectl_wait_reaches_kubectl_without_its_quotes(tmp_path: Path) -> None:
    policy = {"resource": "ciliumnetworkpolicy/default", "namespace": "traefik", "for": "jsonpath='{.status.conditions[0].status}'=True"}
    repo = build(tmp_path / "repo", with_conditions(policy))
    (check,) = validated(draft(repo, NET_CORE))  # a kind no manifest spells out: kept as kubectl wait
    argv = shlex.split(check["script"]["content"])  # as the shell running the script hands it to kubectl
    assert argv == ["kubectl", "wait", "--for=jsonpath={.status.conditions[0].status}=True", "ciliumnetworkpolicy/default", "-n", "traefik"]


def test_a_condition_in_the_namespace_named_after_a_half_of_the_pair_goes_to_that_half(tmp_path: Path) -> None:
    core = {"resource": "deployment/networking-core-0", "namespace": "networking-core", "for": "condition=Available"}
    extra = {"resource": "deployment/networking-extra-1", "namespace": "networking-extra", "for": "condition=Available"}
    repo = build(tmp_path / "repo", with_conditions(core, extra))  # neither half's manifests name those namespaces
    result = draft(repo, NET_CORE)
    steps = {s["name"]: s for s in documents(result)[TEST][0]["spec"]["steps"]}
    named = lambda step: [op["assert"]["resource"]["metadata"]["name"] for op in steps[step]["try"]]  # noqa: E731
    assert named("Validate networking-core") == ["networking-core-0"]
    assert named("Validate networking-extra") == ["networking-extra-1"]  # as parity splits them
    assert not [note for note in result.notes if "no module's manifests name it" in note or "no success condition" in note]
