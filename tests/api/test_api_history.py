"""/api/status and /api/modules carry the history: standing regressions and the branch in flight."""

from __future__ import annotations

from app.config import Settings
from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import GitOps
from app.services import scan_and_store
from app.web.api import StatusOut
from app.web.main import create_app
from tests.history.conftest import A_CORE, A_EXTRA, B_CORE, MEDIA, Days, base

from .conftest import TestClient


def test_status_names_regressions_and_branches_in_flight(tmp_path, db_url) -> None:
    days = Days()
    with RepoBuilder(tmp_path / "repo") as builder:
        gitops = GitOps(builder)
        base(gitops, days())
        gitops.migrate_suite("infra-a", pr=7, date=days())
        builder.delete("ci/test/infra-a/chainsaw-test.yaml")
        broke = gitops.commit("chore: drop the a tests (#8)", date=days())
        builder.delete("ci/test/infra-b/kustomization.yaml")
        gitops.add_chainsaw_suite("infra-b", [B_CORE])
        gitops.commit("wip: migrate b to chainsaw", branch="feature/b", parent=broke)
        builder.flush()
        scan_and_store(db_url, builder.path)

    client = TestClient(create_app(Settings(database_url=db_url)))
    body = client.get("/api/status").json()
    StatusOut.model_validate(body)  # the pre-serialised answer keeps to its declared model
    assert [(r["module"], r["from"], r["to"], r["commit"], r["pr"]) for r in body["regressions"]] == [
        (path, "migrated", "untested", broke.sha, 8) for path in (A_CORE, A_EXTRA)
    ]
    branches = {m["path"]: m["branch"] for m in body["modules"]}
    assert branches[B_CORE] == "feature/b" and branches[MEDIA] is None
    assert {m["path"]: m["status"] for m in body["modules"]}[B_CORE] == "in_progress"
    assert client.get(f"/api/modules/{B_CORE}").json()["branch"] == "feature/b"
    listed = client.get("/api/modules", params={"status": "in_progress"}).json()
    assert [(m["path"], m["branch"]) for m in listed] == [(B_CORE, "feature/b")]
