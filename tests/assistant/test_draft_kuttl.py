"""Drafts of kuttl test folders: one chainsaw Test with the numbered files' meaning."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.assistant.draft import draft
from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import dump
from tests.assistant.drafting import CHAINSAW, applied, documents, shape_problems

POLICY = "policies/require-labels"
MIGRATED = "policies/disallow-latest"
CLUSTER_POLICY = {"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "require-labels"}}


def kuttl_files(folder: str) -> dict[str, str]:
    pod = lambda name, labels: {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels}}  # noqa: E731
    return {
        f"{folder}/artifacthub-pkg.yml": "name: require-labels\n",
        f"{folder}/require-labels.yaml": dump(CLUSTER_POLICY),
        f"{folder}/00-install.yaml": dump(CLUSTER_POLICY),
        f"{folder}/00-assert.yaml": dump(
            {"apiVersion": "kuttl.dev/v1beta1", "kind": "TestAssert", "timeout": 90,
             "collectors": [{"type": "events", "namespace": "kyverno"}, {"cmd": "kubectl get cpol -o yaml"}]},
            {**CLUSTER_POLICY, "status": {"ready": True}},
        ),  # fmt: skip
        f"{folder}/01-resources.yaml": dump(pod("good", {"app": "x"})),
        f"{folder}/01-errors.yaml": dump(pod("bad", {})),
        f"{folder}/02-cleanup.yaml": dump(
            {"apiVersion": "kuttl.dev/v1beta1", "kind": "TestStep",
             "delete": [{"apiVersion": "v1", "kind": "Pod", "name": "good"}],
             "commands": [{"command": "kubectl get pods -A", "timeout": 20}, {"script": "echo done", "ignoreFailure": True}]}
        ),  # fmt: skip
        f"{folder}/02-assert.yaml": dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "good"}}),
    }


def kuttl_repo(path: Path, *, migrated_elsewhere: bool = False) -> Path:
    files = {
        "sawmill.yaml": "modules:\n  marker: artifacthub-pkg.yml\n",
        "kuttl-test.yaml": dump({"apiVersion": "kuttl.dev/v1beta1", "kind": "TestSuite", "testDirs": ["policies"], "timeout": 120}),
        **kuttl_files(POLICY),
    }
    if migrated_elsewhere:  # a policy moved already, its chainsaw test in a hidden folder of its own
        test = {"apiVersion": CHAINSAW, "kind": "Test", "metadata": {"name": "disallow-latest"},
                "spec": {"steps": [{"try": [{"apply": {"file": "../policy.yaml"}}]}]}}  # fmt: skip
        files[f"{MIGRATED}/artifacthub-pkg.yml"] = "name: disallow-latest\n"
        files[f"{MIGRATED}/policy.yaml"] = dump(CLUSTER_POLICY)
        files[f"{MIGRATED}/.chainsaw-test/chainsaw-test.yaml"] = dump(test)
    with RepoBuilder(path) as builder:
        builder.write_many(files)
        builder.commit("policies")
    return path


def test_the_numbered_files_become_one_test_with_the_same_meaning(tmp_path: Path) -> None:
    repo = kuttl_repo(tmp_path / "repo")
    result = draft(repo, "require-labels")
    assert result.style == "kuttl" and result.modules == [POLICY]
    assert [f.path for f in result.files] == [f"{POLICY}/chainsaw-test.yaml"] and shape_problems(result) == []
    test = documents(result)[f"{POLICY}/chainsaw-test.yaml"][0]
    assert test["metadata"]["name"] == "require-labels"
    assert test["spec"]["timeouts"] == {"assert": "120s", "error": "120s"}  # the TestSuite's timeout
    install, resources, cleanup = test["spec"]["steps"]
    assert install["name"] == "step-00" and install["timeouts"] == {"assert": "90s", "error": "90s"}
    assert install["try"] == [
        {"apply": {"file": "00-install.yaml"}},
        {"assert": {"resource": {**CLUSTER_POLICY, "status": {"ready": True}}}},  # kuttl's TestAssert left out, the rest inline
    ]
    assert install["catch"] == [{"events": {"namespace": "kyverno"}}, {"script": {"content": "kubectl get cpol -o yaml"}}]
    assert resources["try"] == [{"apply": {"file": "01-resources.yaml"}}, {"error": {"file": "01-errors.yaml"}}]
    assert cleanup["try"] == [
        {"delete": {"ref": {"apiVersion": "v1", "kind": "Pod", "name": "good"}}},  # kuttl deletes first
        {"command": {"entrypoint": "kubectl", "args": ["get", "pods", "-A"], "timeout": "20s"}},
        {"script": {"content": "sh -c 'echo done' || true"}},  # ignoreFailure: the shell goes on, as kuttl did
        {"assert": {"file": "02-assert.yaml"}},
    ]

    scanned = {m.path: m for m in applied(repo, result, tmp_path).modules}
    # the step files now belong to the chainsaw test, as chainsaw's converter leaves them
    assert str(scanned[POLICY].status) == "migrated"
    assert [e.test_file for e in scanned[POLICY].evidence.chainsaw] == [f"{POLICY}/chainsaw-test.yaml"]


def test_a_hidden_test_folder_is_used_when_the_migrated_policies_have_one(tmp_path: Path) -> None:
    repo = kuttl_repo(tmp_path / "repo", migrated_elsewhere=True)
    result = draft(repo, POLICY)
    path = f"{POLICY}/.chainsaw-test/chainsaw-test.yaml"
    assert [f.path for f in result.files] == [path] and shape_problems(result) == []
    assert result.learned and ".chainsaw-test" in result.learned[0]
    steps = documents(result)[path][0]["spec"]["steps"]
    assert steps[0]["try"][0] == {"apply": {"file": "../00-install.yaml"}}
    assert steps[1]["try"][1] == {"error": {"file": "../01-errors.yaml"}}

    scanned = {m.path: m for m in applied(repo, result, tmp_path).modules}
    assert str(scanned[POLICY].status) == "in_progress"  # the kuttl folder is still there beside it
    assert not [w for w in applied(repo, result, tmp_path).warnings if "missing file" in w.reason]


def one_policy(path: Path, steps: dict[str, str]) -> Path:
    """A repository with one kuttl policy test whose numbered files are ``steps`` (name -> text)."""
    files = {
        "sawmill.yaml": "modules:\n  marker: artifacthub-pkg.yml\n",
        "kuttl-test.yaml": dump({"apiVersion": "kuttl.dev/v1beta1", "kind": "TestSuite", "testDirs": ["policies"]}),
        f"{POLICY}/artifacthub-pkg.yml": "name: require-labels\n",
        **{f"{POLICY}/{name}": text for name, text in steps.items()},
    }
    with RepoBuilder(path) as builder:
        builder.write_many(files)
        builder.commit("policies")
    return path


def test_ignore_failure_covers_every_line_of_a_script(tmp_path: Path) -> None:
    step = {"apiVersion": "kuttl.dev/v1beta1", "kind": "TestStep",
            "commands": [{"script": "set -e\nfalse\necho after\n", "ignoreFailure": True}]}  # fmt: skip
    repo = one_policy(tmp_path / "repo", {"00-step.yaml": dump(step), "00-assert.yaml": dump(CLUSTER_POLICY)})
    result = draft(repo, POLICY)
    (test_step,) = documents(result)[f"{POLICY}/chainsaw-test.yaml"][0]["spec"]["steps"]
    content = test_step["try"][0]["script"]["content"]
    ran = subprocess.run(["sh", "-c", content], capture_output=True, text=True)  # as chainsaw runs a script
    assert ran.returncode == 0 and "after" not in ran.stdout  # the failure stops the script, as in kuttl, and is ignored


@pytest.mark.parametrize("script", ["false  # may not exist", "false;", "false\n# the namespace may not exist\n"])
def test_ignore_failure_survives_a_trailing_comment_or_semicolon(tmp_path: Path, script: str) -> None:
    step = {"apiVersion": "kuttl.dev/v1beta1", "kind": "TestStep", "commands": [{"script": script, "ignoreFailure": True}]}
    repo = one_policy(tmp_path / "repo", {"00-step.yaml": dump(step), "00-assert.yaml": dump(CLUSTER_POLICY)})
    (test_step,) = documents(draft(repo, POLICY))[f"{POLICY}/chainsaw-test.yaml"][0]["spec"]["steps"]
    ran = subprocess.run(["sh", "-c", test_step["try"][0]["script"]["content"]], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr  # kuttl carried on after the failure: so does the step


def test_a_step_file_with_only_comments_is_left_out_with_a_note(tmp_path: Path) -> None:
    repo = one_policy(tmp_path / "repo", {"00-install.yaml": "# nothing to install yet\n", "01-install.yaml": dump(CLUSTER_POLICY)})
    result = draft(repo, POLICY)
    empty, install = documents(result)[f"{POLICY}/chainsaw-test.yaml"][0]["spec"]["steps"]
    assert empty["try"] == [{"sleep": {"duration": "0s"}}] and install["try"] == [{"apply": {"file": "01-install.yaml"}}]
    assert any(note.startswith(f"{POLICY}/00-install.yaml: no resource in it") for note in result.notes)
    assert shape_problems(result) == []
