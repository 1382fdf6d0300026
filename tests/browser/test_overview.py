"""The overview in a real browser: numbers, the board, Rescan, phone width."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.repobuilder.gitops import INFRA
from app.services import scan_and_store

from .conftest import card, column_of, sign_in

SAWMILL = Path(sys.executable).with_name("sawmill")


def scan_json(repo: Path, db_url: str) -> dict:
    """`sawmill scan --json` as a user runs it, against the test's database."""
    env = {**os.environ, "SAWMILL_DATABASE_URL": db_url}
    done = subprocess.run([str(SAWMILL), "scan", str(repo), "--json"], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout)


def test_overview_numbers_equal_scan_json(gitops_repo, db_url, serve, page_for, shot) -> None:
    path, _ = gitops_repo
    data = scan_json(path, db_url)
    live = serve(repo=path)
    page = page_for()
    page.goto(live.url + "/")

    summary = data["summary"]
    assert page.get_by_test_id("migrated").inner_text() == str(summary["migrated"])
    assert page.get_by_test_id("total").inner_text() == str(summary["total"])
    assert page.get_by_test_id("percent").inner_text() == f"{summary['percent']}%"
    for status, count in summary["counts"].items():
        assert page.get_by_test_id(f"count-{status}").inner_text() == str(count)
        assert page.locator(f"#col-{status} .n").inner_text() == str(count)  # columns count modules, not cards
    assert page.locator("progress.main-progress").get_attribute("value") == str(summary["migrated"])
    # every module is on the board exactly once, in its status's column
    for module in data["modules"]:
        assert card(page, module["path"]).count() == 1, module["path"]
        assert column_of(page, module["path"]) == module["status"]
    assert page.get_by_test_id("last-scan").inner_text().startswith(f"Last scan: {data['commit'][:8]}")
    # the migrated pair shows its covering test and how many assertions it reaches
    kubernetes = card(page, f"{INFRA}/kubernetes-core")
    assert "ci/test/infra-kubernetes/chainsaw-test.yaml" in kubernetes.inner_text()
    assert int(kubernetes.get_by_test_id("assertions").inner_text()) > 0
    shot(page, "overview")


def test_rescan_moves_the_card_in_place(gitops_repo, db_url, serve, page_for, shot) -> None:
    path, repo = gitops_repo
    scan_and_store(db_url, path)
    live = serve(repo=path)
    page = page_for()
    sign_in(page, live)
    networking = f"{INFRA}/networking-core"
    assert column_of(page, networking) == "legacy"
    before = int(page.get_by_test_id("migrated").inner_text())

    repo.migrate_suite("infra-networking", pr=1010)
    repo.builder.checkout()
    assert page.locator("form.rescan[data-htmx-powered]").count() == 1
    page.evaluate("window.sawmillMarker = 'same page'")  # survives only if htmx swaps in place
    held = []  # hold the scan request so the busy state can be seen, then let it through
    page.route("**/scan", lambda route: held.append(route))
    page.get_by_test_id("rescan").click()
    page.wait_for_function("document.querySelector('form.rescan').classList.contains('htmx-request')")
    page.wait_for_function("document.querySelector('[data-testid=rescan]').disabled")
    assert page.locator(".rescan .busy-label").is_visible()
    assert not page.locator(".rescan .idle-label").is_visible()
    while not held:  # the route handler runs while playwright waits
        page.wait_for_timeout(20)
    held[0].continue_()
    page.locator(f"section[data-status=migrated] article[data-modules~='{networking}']").wait_for()

    assert page.evaluate("window.sawmillMarker") == "same page"
    assert column_of(page, f"{INFRA}/networking-extra") == "migrated"
    assert int(page.get_by_test_id("migrated").inner_text()) == before + 2
    assert page.get_by_test_id("rescan").is_enabled()
    # the history panels came with the swap: the new event and the chart
    events = page.get_by_test_id("history-events")
    assert "networking-core" in events.inner_text() and "(#1010)" in events.inner_text()
    assert page.get_by_test_id("burndown").locator("svg.burndown:visible").count() == 1  # the size that fits
    shot(page, "after-rescan")


def test_overview_at_phone_width(gitops_repo, db_url, serve, page_for, shot) -> None:
    path, _ = gitops_repo
    scan_and_store(db_url, path)
    live = serve(repo=path)
    page = page_for(width=390, height=844)
    page.goto(live.url + "/")
    # nothing wider than the screen: no sideways scrolling on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.get_by_test_id("percent").is_visible()
    first, second = page.locator("section.column").nth(0), page.locator("section.column").nth(1)
    assert first.bounding_box()["width"] > 300  # one column per row, full width
    assert second.bounding_box()["y"] > first.bounding_box()["y"]
    shot(page, "overview-390")


def test_module_page_shows_the_evidence(gitops_repo, db_url, serve, page_for) -> None:
    path, _ = gitops_repo
    scan_and_store(db_url, path)
    live = serve(repo=path)
    page = page_for()
    page.goto(live.url + "/")
    card(page, f"{INFRA}/kubernetes-core").get_by_role("link").click()
    page.wait_for_url(f"**/modules/{INFRA}/kubernetes-core")
    assert page.locator(".module-head h1 .badge").text_content() == "migrated"
    assert "ci/test/infra-kubernetes/chainsaw-test.yaml" in page.locator("main").inner_text()
    response = page.goto(live.url + "/modules/no/such/module")
    assert response.status == 404
    assert "No module at" in page.locator("main").inner_text()


def test_the_board_refreshes_itself_every_minute_but_not_while_read(gitops_repo, db_url, serve, page_for) -> None:
    path, repo = gitops_repo
    scan_and_store(db_url, path)
    live = serve(repo=path)
    page = page_for()
    page.clock.install()
    page.goto(live.url + "/")
    networking = f"{INFRA}/networking-core"
    repo.migrate_suite("infra-networking", pr=1010)
    repo.builder.checkout()
    scan_and_store(db_url, path)  # a scan made elsewhere (CLI, CI)

    page.locator("[data-testid=last-scan] summary").click()  # someone reads the warnings
    page.clock.run_for("01:05")
    page.wait_for_load_state("networkidle")
    assert column_of(page, networking) == "legacy"
    assert page.locator("[data-testid=last-scan]").get_attribute("open") is not None

    page.locator("[data-testid=last-scan] summary").click()  # done reading
    page.clock.run_for("01:05")
    page.locator(f"section[data-status=migrated] article[data-modules~='{networking}']").wait_for()
