"""A chainsaw report sent from CI the way docs/reports.md says (curl), then read in chromium:
the module page shows the failing step, operation and error; the board marks the card."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.services import scan_and_store
from tests.reports.conftest import CORE, NETWORKING, STORAGE, STORAGE_CORE, build_platform
from tests.reports.samples import WRITERS, failing, passing

from .conftest import card

ERROR = "v1/Deployment/traefik/traefik: .status.readyReplicas: Invalid value: 0: Expected value: 1"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "reports.md"


def documented_curl(env: dict[str, str]) -> list[str]:
    """The GitHub Actions step's curl, as docs/reports.md writes it, split into arguments by bash
    with ``env`` (the step's variables)."""
    block = re.search(r"run: \|\n(.*?)```", DOCS.read_text(), re.S).group(1)
    line = " ".join(part.strip().rstrip("\\") for part in block.strip().splitlines())
    return subprocess.run(["bash", "-c", f"printf '%s\\0' {line.removeprefix('curl ')}"], capture_output=True,
                          text=True, check=True, env=env).stdout.split("\0")[:-1]  # fmt: skip


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_a_failing_run_sent_with_the_documented_step_shows_on_the_module_page(
    db_url: str, serve, page_for, shot, tmp_path: Path
) -> None:
    repo, first, _ = build_platform(tmp_path / "platform")
    scan_and_store(db_url, repo, ref=first)
    live = serve(repo=str(repo), worker=False)
    report = tmp_path / "chainsaw-report.json"
    report.write_bytes(WRITERS["JSON"]([failing(NETWORKING, "infra-networking", ERROR), passing(STORAGE, "infra-storage")]))
    env = dict(SAWMILL_TOKEN=live.token("ci-bot"), GITHUB_SHA=first, GITHUB_REF_NAME="main",
               RUN_URL="https://github.example/org/platform/actions/runs/42", PATH="/usr/bin:/bin")  # fmt: skip
    arguments = [a.replace("https://sawmill.example", live.url) for a in documented_curl(env)]
    sent = subprocess.run(["curl", *arguments], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert '"created":true' in sent.stdout.replace(" ", "")

    for javascript in (True, False):
        page = page_for(javascript=javascript)
        page.goto(f"{live.url}/modules/{CORE}")
        section = page.get_by_test_id("ci-results")
        assert section.get_by_test_id("ci-status").inner_text().strip().lower() == "failed"
        assert section.get_by_test_id("ci-step").inner_text() == "Validate networking-core"
        assert section.get_by_test_id("ci-operation").inner_text().startswith("assert-2")
        assert section.get_by_test_id("ci-error").inner_text() == ERROR
        assert section.get_by_test_id("ci-error").is_visible()
        assert section.get_by_test_id("ci-run").get_attribute("href") == "https://github.example/org/platform/actions/runs/42"
        assert section.locator("ol.ci-strip li").count() == 1
        shot(page, f"module-ci-{'js' if javascript else 'nojs'}")

    page = page_for()
    page.goto(live.url)
    assert card(page, CORE).get_by_test_id("ci").get_attribute("data-ci") == "failed"
    assert card(page, STORAGE_CORE).get_by_test_id("ci").get_attribute("data-ci") == "passed"
    assert page.get_by_test_id("ci-line").inner_text().startswith("1 of 3 migrated passing in CI")
    shot(page, "overview-ci")
