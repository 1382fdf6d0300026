"""The "Draft chainsaw test" action in a real browser: from the module page to a patch git applies."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.scanner import scan
from app.services import scan_and_store
from tests.assistant.drafting import NET_CORE, NET_EXTRA, build, migrated_kubernetes, networking_suite


@pytest.mark.parametrize("javascript", [True, False])
def test_draft_preview_and_download(tmp_path: Path, db_url, serve, page_for, shot, javascript: bool) -> None:
    repo = build(tmp_path / "platform", migrated_kubernetes, networking_suite)
    scan_and_store(db_url, repo)
    live = serve(repo=str(repo), worker=False)
    page = page_for(javascript=javascript)
    page.goto(f"{live.url}/modules/{NET_CORE}")
    page.get_by_test_id("draft-link").click()
    page.wait_for_url(f"{live.url}/modules/{NET_CORE}/draft")

    files = page.get_by_test_id("draft-file")
    names = [files.nth(i).locator("h2 code").inner_text() for i in range(files.count())]
    assert "ci/test/infra-networking/chainsaw-test.yaml" in names
    assert ".github/workflows/test-infrastructure-networking.yaml" in names
    test_panel = files.nth(names.index("ci/test/infra-networking/chainsaw-test.yaml"))
    assert "kind: Test" in test_panel.locator("pre").inner_text()
    assert "bootstrap step" in page.get_by_test_id("draft-learned").inner_text()
    assert "ciliumnetworkpolicy/default" in page.get_by_test_id("draft-notes").inner_text()
    shot(page, f"draft-js-{javascript}")

    with page.expect_download() as info:
        page.get_by_test_id("download-patch").click()
    download = info.value
    assert download.suggested_filename == "sawmill-draft-networking-core.patch"
    patch = tmp_path / download.suggested_filename
    download.save_as(patch)

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "apply", "--index", str(patch)], check=True)
    subprocess.run(["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "draft"], check=True)
    modules = {m.path: m for m in scan(clone).modules}
    assert {str(modules[p].status) for p in (NET_CORE, NET_EXTRA)} == {"in_progress"}


def test_the_draft_page_at_phone_width(tmp_path: Path, db_url, serve, page_for) -> None:
    repo = build(tmp_path / "platform", networking_suite)
    scan_and_store(db_url, repo)
    live = serve(repo=str(repo), worker=False)
    page = page_for(width=390, height=800)
    page.goto(f"{live.url}/modules/{NET_CORE}/draft")
    # the page itself never scrolls sideways: long YAML lines scroll inside their own block
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert "No migrated suite to learn from yet" in page.get_by_test_id("draft-learned").inner_text()
