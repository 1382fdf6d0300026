"""Parity and "Next up" in the app, in process: the module page, the overview, the backlog, the API."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings, get_settings
from app.repobuilder.gitops import APPS, dump
from app.services import scan_and_store
from app.web.main import create_app

from .conftest import MEDIA, NET_CORE, STORAGE, flux, showcase

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def platform(gitops, db_url) -> Path:
    showcase(gitops)
    gitops.builder.flush()
    scan_and_store(db_url, gitops.builder.path)
    return gitops.builder.path


def client(db_url: str, **settings) -> TestClient:
    app = create_app(Settings(database_url=db_url, worker=False, **settings))
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


@pytest.mark.parametrize("tracked", [True, False], ids=["served-repo", "scanned-folder"])
def test_the_module_api_carries_its_parity(platform, db_url, tracked) -> None:
    api = client(db_url, **({"repo": str(platform)} if tracked else {}))

    migrated = api.get(f"/api/modules/{NET_CORE}").json()
    legacy = api.get(f"/api/modules/{STORAGE}").json()

    assert [(c["kind"], c["name"], c["namespace"]) for c in migrated["parity"]["lost"]] == [("deployment", "metallb", "metallb")]
    assert [c["name"] for c in migrated["parity"]["since"]] == ["old-api"]
    assert [c["name"] for c in migrated["parity"]["carried"]] == ["traefik"]
    assert len(migrated["parity"]["legacy_checks"]) == 3 and migrated["parity"]["pr"] == 1010
    assert legacy["parity"] is None


def test_the_module_page_says_what_was_not_carried_over(platform, db_url) -> None:
    page = client(db_url, repo=str(platform)).get(f"/modules/{NET_CORE}").text

    assert "1 legacy check not carried over" in page
    assert "<code>deployment/metallb</code>" in page and ".github/workflows/test-infrastructure-networking.yaml" in page
    assert "Gone since, with their resource" in page and "<code>deployment/old-api</code>" in page
    assert 'data-testid="parity"' not in client(db_url, repo=str(platform)).get(f"/modules/{STORAGE}").text


def test_next_up_on_the_overview_the_backlog_and_the_api(platform, db_url) -> None:
    app = client(db_url, repo=str(platform))

    answer = app.get("/api/next").json()
    overview = app.get("/").text
    backlog = app.get("/backlog").text

    assert answer["graph_read"] is True
    assert [i["title"] for i in answer["next"]] == ["storage-core"]
    assert answer["next"][0]["reason"] == "its dependencies are migrated: networking-core; 1 legacy check"
    assert [(i["title"], i["waiting_on"]) for i in answer["waiting"]] == [("media", [STORAGE])]
    assert 'data-testid="next-up"' in overview and answer["next"][0]["reason"] in overview
    assert f'data-modules="{STORAGE}"' in backlog and 'data-testid="next-waiting"' in backlog
    assert "waits for storage-core (legacy)" in backlog


@pytest.fixture
def run(db_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SAWMILL_DATABASE_URL", db_url)
    monkeypatch.delenv("SAWMILL_REPO", raising=False)
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(cli, [*map(str, args)])
    get_settings.cache_clear()


def test_sawmill_parity_json_and_lines(gitops, run) -> None:
    showcase(gitops)
    gitops.builder.flush()
    path = gitops.builder.path

    as_json = run("parity", path, "--json")
    lines = run("parity", path)

    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    (module,) = data["modules"]
    assert module["path"] == NET_CORE and module["migrated_in"] and set(module) >= {"legacy_checks", "carried", "lost", "since"}
    assert module["lost"][0] == {"kind": "deployment", "name": "metallb", "namespace": "metallb", "group": None,
                                 "source": ".github/workflows/test-infrastructure-networking.yaml", "absent": False}  # fmt: skip
    assert lines.stdout.splitlines()[0].endswith("(#1010): 3 legacy checks, 1 carried, 1 lost, 1 since")
    assert "  lost   deployment/metallb -n metallb  (.github/workflows/test-infrastructure-networking.yaml)" in lines.stdout
    assert lines.stdout.splitlines()[-1] == "1 legacy check not carried over"


def test_sawmill_next_and_errors_in_one_line(gitops, run, tmp_path) -> None:
    showcase(gitops)
    gitops.builder.flush()

    shown = run("next", gitops.builder.path)
    data = json.loads(run("next", gitops.builder.path, "--json").stdout)
    missing = run("parity", tmp_path / "nowhere")
    bad_ref = run("parity", gitops.builder.path, "--ref", "no-such-tag")

    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[0] == "storage-core  its dependencies are migrated: networking-core; 1 legacy check"
    assert [i["modules"] for i in data["waiting"]] == [[MEDIA]]
    assert missing.exit_code == 1 and missing.stderr.strip().startswith("error: ") and "Traceback" not in missing.output
    assert bad_ref.exit_code == 1 and "unknown ref 'no-such-tag'" in bad_ref.stderr


def test_a_dependency_cycle_and_a_missing_dependency_are_named_everywhere(gitops, db_url, run) -> None:
    a, b, c, d = (f"{APPS}/{n}" for n in "abcd")
    for name, path in zip("abcd", (a, b, c, d), strict=True):
        gitops.add_module(path)
        gitops.add_legacy_suite(f"apps-{name}", [path], conditions=1)
    graph = [flux("a", a, "b"), flux("b", b, "a"), flux("c", c, "ghost"), flux("d", d, "c")]
    gitops.builder.write("clusters/production/apps.yaml", dump(*graph))
    gitops.commit("feat: apps that wait for each other, and for nothing there")
    gitops.builder.flush()

    shown = run("next", gitops.builder.path)
    answer = client(db_url, repo=str(gitops.builder.path)).get("/api/next").json()

    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines() == [
        "c  depends on ghost, a Kustomization that does not exist: Flux will not reconcile it; 1 legacy check",
        "waiting: d  waits for c (legacy); 1 legacy check",  # one migration away: before the deadlock
        "waiting: a  waits for b (legacy); a and b depend on each other: migrate them together; 1 legacy check",
        "waiting: b  waits for a (legacy); b and a depend on each other: migrate them together; 1 legacy check",
    ]
    assert [(i["title"], i["missing"]) for i in answer["next"]] == [("c", ["ghost"])]
    assert [(i["title"], i["cycle"]) for i in answer["waiting"]] == [("d", []), ("a", [b]), ("b", [a])]
    assert answer["waiting"][1]["reason"] == shown.stdout.splitlines()[2].removeprefix("waiting: a  ")
