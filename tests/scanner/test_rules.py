"""Coverage rules: what a chainsaw, kustomize or kuttl test covers, and what it only depends on."""

from __future__ import annotations

from pathlib import Path

from app.repobuilder.gitops import APPS, INFRA, dump, kustomize
from app.scanner import scan
from tests.scanner.conftest import MakeRepo, by_name, chainsaw, flux, module, reasons, statuses, template

NET = f"{INFRA}/networking-core"
SUITE = "ci/test/infra-networking"


def legacy_suite(folder: str, manifests: dict[str, str], workflow: str | None = None, conditions: str = "") -> dict:
    files = {f"{folder}/{name}": body for name, body in manifests.items()}
    files[f"{folder}/kustomization.yaml"] = kustomize(list(manifests))
    if workflow:
        files[f".github/workflows/{workflow}"] = dump(
            {"jobs": {"t": {"uses": "./x.yaml", "with": {"test_path": f"./{folder}/", "success_conditions": conditions}}}}
        )
    return files


def test_manifest_in_the_tests_own_folder_covers_and_counts_operations(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            **module("networking-core"),
            f"{SUITE}/net.yaml": flux("net", NET),
            f"{SUITE}/chainsaw-test.yaml": chainsaw(
                {
                    "try": [{"apply": {"file": "net.yaml"}}, {"assert": {"file": "missing-ok.yaml"}}],
                    "catch": [{"script": {"content": "kubectl get pods"}}, {"podLogs": {}}],
                    "finally": [{"command": {"entrypoint": "true"}}],
                    "cleanup": [{"error": {"resource": {"kind": "Pod"}}}],
                }
            ),
        }
    )
    result = scan(repo)
    evidence = by_name(result)["networking-core"].evidence.chainsaw
    assert str(by_name(result)["networking-core"].status) == "migrated"
    assert [(e.test_file, e.link, e.asserts, e.errors, e.scripts) for e in evidence] == [
        (f"{SUITE}/chainsaw-test.yaml", f"{SUITE}/net.yaml", 1, 1, 2)
    ]
    assert reasons(result) == {f"{SUITE}/chainsaw-test.yaml": [f"missing file: {SUITE}/missing-ok.yaml"]}


def test_a_flux_path_with_a_leading_slash_is_from_the_repository_root(make_repo: MakeRepo) -> None:
    """Flux joins spec.path to the source's root: /infrastructure/... is ./infrastructure/...;
    the scan took it for a path outside the repository and left the module untested."""
    c_core, c_extra = f"{INFRA}/c-core", f"{INFRA}/c-extra"
    rooted = {
        name: flux(name, target).replace(f"path: ./{target}", f"path: /{target}")
        for name, target in [("c-core", c_core), ("c-extra", c_extra)]
    }
    assert all("path: /infrastructure/" in text for text in rooted.values())
    repo = make_repo(
        {
            **module("c-core"),
            **module("c-extra"),
            "ci/test/infra-c/c-core.yaml": rooted["c-core"],
            "ci/test/infra-c/chainsaw-test.yaml": chainsaw({"try": [{"apply": {"file": "c-core.yaml"}}]}),
            **legacy_suite("ci/test/infra-c-old", {"c-extra.yaml": rooted["c-extra"]}, "test-c.yaml"),
        }
    )
    result = scan(repo)
    assert statuses(repo) == {"c-core": "migrated", "c-extra": "legacy"}
    assert by_name(result)["c-core"].evidence.chainsaw[0].link == "ci/test/infra-c/c-core.yaml"
    assert result.warnings == []


def test_borrowed_manifest_is_a_dependency_not_coverage(make_repo: MakeRepo) -> None:
    db = f"{INFRA}/database-core"
    repo = make_repo(
        {
            **module("networking-core"),
            **module("database-core"),
            f"{SUITE}/net.yaml": flux("net", NET),
            "ci/test/infra-database/db.yaml": flux("db", db),
            "ci/test/infra-database/chainsaw-test.yaml": chainsaw(
                {"try": [{"apply": {"file": "../infra-networking/net.yaml"}}, {"apply": {"file": "./db.yaml"}}]}
            ),
        }
    )
    modules = by_name(scan(repo))
    assert str(modules["database-core"].status) == "migrated"
    assert str(modules["networking-core"].status) == "untested"
    assert modules["networking-core"].evidence.dependencies == [f"{SUITE}/net.yaml"]


def test_manifest_from_the_shared_folder_is_a_dependency_even_at_a_module_root(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            **module("networking-core"),
            **module("storage-core"),
            "ci/test/chainsaw/shared/net.yaml": flux("net", NET),
            "ci/test/infra-storage/st.yaml": flux("st", f"{INFRA}/storage-core"),
            "ci/test/infra-storage/chainsaw-test.yaml": chainsaw(
                {"try": [{"apply": {"file": "../chainsaw/shared/net.yaml"}}, {"apply": {"file": "st.yaml"}}]}
            ),
        }
    )
    modules = by_name(scan(repo))
    assert str(modules["networking-core"].status) == "untested"
    assert modules["networking-core"].evidence.dependencies == ["ci/test/chainsaw/shared/net.yaml"]
    assert str(modules["storage-core"].status) == "migrated"


def test_every_file_operation_is_followed_and_only_deploys_cover(make_repo: MakeRepo) -> None:
    names = ["apply", "create", "update", "patch", "assert", "error", "delete"]
    files = {f"{INFRA}/m-{op}/kustomization.yaml": dump({"resources": []}) for op in names}
    files |= {f"{SUITE}/{op}.yaml": flux(op, f"{INFRA}/m-{op}") for op in names}
    # chainsaw-test.yml counts as well as .yaml
    files[f"{SUITE}/chainsaw-test.yml"] = chainsaw({"try": [{op: {"file": f"{op}.yaml"}} for op in names]})
    result = scan(make_repo(files))
    modules = by_name(result)
    evidence = modules["m-apply"].evidence.chainsaw[0]
    assert evidence.test_file == f"{SUITE}/chainsaw-test.yml"
    assert evidence.files == [f"{SUITE}/chainsaw-test.yml", *(f"{SUITE}/{op}.yaml" for op in names)]
    assert (evidence.asserts, evidence.errors, evidence.scripts) == (1, 1, 0)
    # a Kustomization that is only asserted, expected absent or deleted is not deployed by the test
    assert {name: str(m.status) for name, m in modules.items()} == {
        "m-apply": "migrated",
        "m-create": "migrated",
        "m-update": "migrated",
        "m-patch": "migrated",
        "m-assert": "untested",
        "m-error": "untested",
        "m-delete": "untested",
    }
    assert result.warnings == []


def test_partial_deploy_inside_a_module_is_a_prerequisite(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            **module("security-core"),
            **module("networking-core"),
            "ci/test/chainsaw/pre-requisites/cm.yaml": flux("cm", f"{INFRA}/security-core/cert-manager"),
            f"{SUITE}/cm-here.yaml": flux("cm2", f"./{INFRA}/security-core/cert-manager/"),
            f"{SUITE}/net.yaml": flux("net", NET),
            f"{SUITE}/chainsaw-test.yaml": chainsaw(
                {"try": [{"apply": {"file": "../chainsaw/pre-requisites/cm.yaml"}}, {"apply": {"file": "cm-here.yaml"}}]},
                {"try": [{"apply": {"file": "net.yaml"}}]},
            ),
        }
    )
    modules = by_name(scan(repo))
    assert str(modules["security-core"].status) == "untested"
    assert modules["security-core"].evidence.dependencies == [
        "ci/test/chainsaw/pre-requisites/cm.yaml",
        f"{SUITE}/cm-here.yaml",
    ]
    assert str(modules["networking-core"].status) == "migrated"


def test_module_with_both_kinds_is_in_progress_and_legacy_records_the_workflow(make_repo: MakeRepo) -> None:
    conditions = "- resource: deploy/a\n  for: condition=Available\n- resource: deploy/b\n  for: condition=Available\n"
    repo = make_repo(
        {
            **module("networking-core"),
            **module("networking-extra"),
            **module("media", APPS),
            **legacy_suite(SUITE, {"net.yaml": flux("net", NET), "extra.yaml": flux("x", f"{INFRA}/networking-extra")}, "test-net.yaml", conditions),
            f"{SUITE}/chainsaw-test.yaml": chainsaw({"try": [{"apply": {"file": "./net.yaml"}}]}),
        }
    )
    result = scan(repo)
    modules = by_name(result)
    assert str(modules["networking-core"].status) == "in_progress"
    assert str(modules["networking-extra"].status) == "legacy"
    assert str(modules["media"].status) == "untested"
    legacy = modules["networking-extra"].evidence.legacy[0]
    assert (legacy.workflow, legacy.success_conditions, legacy.link) == (
        ".github/workflows/test-net.yaml",
        2,
        f"{SUITE}/extra.yaml",
    )
    assert modules["networking-core"].pair == "networking"
    assert result.summary.counts == {"untested": 1, "legacy": 1, "in_progress": 1, "migrated": 0}


def test_kustomizations_outside_suite_folders_are_not_legacy_suites(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            **module("security-core"),
            **module("networking-core"),
            # a prerequisite's kustomization sits in a subfolder, not directly in a suite folder
            "ci/test/chainsaw/pre-requisites/cm/kustomization.yaml": kustomize(["cm.yaml"]),
            "ci/test/chainsaw/pre-requisites/cm/cm.yaml": flux("cm", f"{INFRA}/security-core"),
            **legacy_suite(SUITE, {"net.yaml": flux("net", NET)}),
        }
    )
    assert statuses(repo) == {"security-core": "untested", "networking-core": "legacy"}


def test_suite_folders_live_under_the_configured_test_roots(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo(
        {
            **module("networking-core"),
            **module("storage-core"),
            **legacy_suite("e2e/infra-networking", {"net.yaml": flux("net", NET)}, "test-net.yaml", "- a: 1\n"),
            **legacy_suite("ci/test/infra-storage", {"st.yaml": flux("st", f"{INFRA}/storage-core")}),
        }
    )
    assert statuses(repo) == {"networking-core": "untested", "storage-core": "legacy"}
    config = tmp_path / "sawmill.yaml"
    config.write_text("tests:\n  roots: [e2e/]\n")
    assert statuses(repo, config_path=config) == {"networking-core": "legacy", "storage-core": "untested"}
    legacy = by_name(scan(repo, config_path=config))["networking-core"].evidence.legacy
    assert [(e.suite, e.workflow, e.success_conditions) for e in legacy] == [
        ("e2e/infra-networking", ".github/workflows/test-net.yaml", 1)
    ]


def test_v1alpha2_several_tests_per_file_templates_globs_and_expressions(make_repo: MakeRepo) -> None:
    files = {
        **module("networking-core"),
        **module("networking-extra"),
        **module("storage-core"),
        f"{SUITE}/net.yaml": flux("net", NET),
        f"{SUITE}/extras/one.yaml": flux("x", f"{INFRA}/networking-extra"),
        f"{SUITE}/extras/two.yaml": dump({"apiVersion": "v1", "kind": "ConfigMap"}),
        # a template's own file: fields resolve against the TEST's folder, as chainsaw does
        "ci/test/chainsaw/steps/apply-net.yaml": template({"apply": {"file": "./net.yaml"}}, {"assert": {"file": "./net.yaml"}}),
        f"{SUITE}/chainsaw-test.yaml": chainsaw(
            {"use": {"template": "../chainsaw/steps/apply-net.yaml"}},
            {"try": [{"apply": {"file": "($manifest)"}}, {"apply": {"file": "https://example.com/x.yaml"}}]},
            name="first",
            api="v1alpha2",
        )
        + "---\n"
        + chainsaw({"try": [{"apply": {"file": "extras/*.yaml"}}]}, name="second")
        + "---\n"
        + chainsaw(
            {
                "try": [
                    {
                        "create": {
                            "resource": {
                                "apiVersion": "kustomize.toolkit.fluxcd.io/v1beta2",
                                "kind": "Kustomization",
                                "spec": {"path": f"./{INFRA}/storage-core"},
                            }
                        }
                    }
                ]
            },
            name="inline",
        ),
    }
    result = scan(make_repo(files))
    modules = by_name(result)
    net = modules["networking-core"].evidence.chainsaw
    assert [(e.name, e.asserts, e.unfollowed) for e in net] == [("first", 1, ["($manifest)", "https://example.com/x.yaml"])]
    assert "ci/test/chainsaw/steps/apply-net.yaml" in net[0].files
    assert [e.name for e in modules["networking-extra"].evidence.chainsaw] == ["second"]
    assert [(e.name, e.link) for e in modules["storage-core"].evidence.chainsaw] == [("inline", f"{SUITE}/chainsaw-test.yaml")]
    assert result.warnings == []


def test_kuttl_suite_with_test_dirs_relative_to_the_root(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            **module("networking-core"),
            **module("storage-core"),
            # the TestSuite file sits under e2e/, its testDirs are relative to the repository root
            "e2e/kuttl-suite.yaml": dump({"apiVersion": "kuttl.dev/v1beta1", "kind": "TestSuite", "testDirs": ["./e2e/tests"]}),
            "e2e/tests/net/00-install.yaml": flux("net", NET),
            "e2e/tests/net/00-assert.yaml": dump({"apiVersion": "v1", "kind": "Pod"}),
            "e2e/tests/net/01-errors.yaml": dump({"apiVersion": "v1", "kind": "Pod"}),
            "e2e/tests/storage/00-install.yaml": flux("st", f"{INFRA}/storage-core"),
            "e2e/tests/storage/chainsaw-test.yaml": chainsaw({"try": [{"apply": {"file": "00-install.yaml"}}]}),
        }
    )
    modules = by_name(scan(repo))
    net = modules["networking-core"]
    assert str(net.status) == "legacy"
    assert [(e.kind, e.suite, e.link, e.steps) for e in net.evidence.legacy] == [
        ("kuttl", "e2e/tests/net", "e2e/tests/net/00-install.yaml", 3)
    ]
    # a folder with a chainsaw test is chainsaw, step files beside it or not
    assert str(modules["storage-core"].status) == "migrated"


def test_components_get_statuses_but_stay_outside_totals(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            **module("storage-core"),
            "components/sso/kustomization.yaml": kustomize([]),
            "ci/test/components-sso/sso.yaml": flux("sso", "components/sso"),
            "ci/test/components-sso/chainsaw-test.yaml": chainsaw({"try": [{"apply": {"file": "sso.yaml"}}]}),
        }
    )
    result = scan(repo)
    assert [(c.name, str(c.status)) for c in result.components] == [("sso", "migrated")]
    assert result.summary.line() == "0 of 1 modules migrated (0%)"
