"""The pages: a module's CI section, the overview's "migrated and passing", the cards' marks."""

from __future__ import annotations

import re

from .conftest import CORE, EXTRA, MEDIA, NETWORKING, STORAGE, STORAGE_CORE
from .samples import WRITERS, failing, passing

ERROR = "v1/Deployment/traefik/traefik: .status.readyReplicas: Invalid value: 0 <expected 1>"


def card(html: str, path: str) -> str:
    found = re.search(rf'<article class="card[^"]*" data-module="{re.escape(path)}".*?</article>', html, re.S)
    assert found, path
    return found.group(0)


def test_the_module_page_shows_the_failing_step_operation_and_error(ingest, client, platform) -> None:
    ingest(WRITERS["JSON"]([passing(NETWORKING, "infra-networking")]), run_url="https://ci.example/runs/1")
    ingest(WRITERS["JSON"]([failing(NETWORKING, "infra-networking", ERROR)]), branch="main", run_url="https://ci.example/runs/2")
    html = client.get(f"/modules/{CORE}").text
    section = html[html.index('data-testid="ci-results"'):]
    section = section[: section.index("</article>")]
    assert 'data-testid="ci-status">failed' in section and "ci-flaky" in section  # passed, then failed, on one commit
    assert ">Validate networking-core<" in section and ">assert-2<" in section
    assert "Invalid value: 0 &lt;expected 1&gt;" in section  # the error, escaped
    assert 'href="https://ci.example/runs/2"' in section and "<code>main</code>" in section
    assert [m for m in re.findall(r'data-status="(\w+)"', section)] == ["failed", "passed"]


def test_text_from_a_report_that_would_read_otherwise_shows_its_hidden_characters(ingest, client, platform) -> None:
    """A bidi override (U+202E) or an escape character in an error is escaped HTML all the same:
    it would still reorder or hide what is around it. The page writes it as its escape."""
    ingest(WRITERS["JSON"]([failing(NETWORKING, "infra-networking", "ready\u202e0 :deulav\x1b[8m hidden")]))
    html = client.get(f"/modules/{CORE}").text
    assert "\u202e" not in html and "\x1b" not in html
    assert "ready\\u202e0 :deulav\\u001b[8m hidden" in html


def test_a_module_no_report_tested_says_so(client, platform) -> None:
    assert 'data-testid="ci-never"' in client.get(f"/modules/{STORAGE_CORE}").text
    assert 'data-testid="ci-never"' not in client.get(f"/modules/{MEDIA}").text  # no chainsaw test at all


def test_the_overview_counts_passing_beside_migrated_and_marks_the_cards(ingest, client, platform) -> None:
    html = client.get("/").text
    assert "No chainsaw report from CI yet" in html and "data-ci=" not in html  # said once, not on every card
    ingest(WRITERS["JUNIT-TEST"]([passing(NETWORKING, "infra-networking"), failing(STORAGE, "infra-storage", "boom")]))
    html = client.get("/").text
    assert re.search(r'data-testid="ci-passing">2</strong> of 3 migrated passing in CI', html)
    assert 'data-testid="ci-failing">1<' in html
    assert 'data-ci="failed"' in card(html, STORAGE_CORE) and 'data-ci="passed"' in card(html, CORE)
    assert "data-ci" not in card(html, MEDIA)  # a legacy module has no chainsaw test to run


def test_a_card_whose_test_never_ran_is_marked(ingest, client, platform) -> None:
    ingest(WRITERS["JSON"]([passing(STORAGE, "infra-storage")]))
    html = client.get("/").text
    assert 'data-ci="never"' in card(html, CORE) and "never ran in CI" in card(html, CORE)
    assert EXTRA in card(html, CORE)  # the pair shares one card


def test_tests_that_cover_no_module_are_listed_on_the_overview(ingest, client, platform) -> None:
    ingest(WRITERS["JSON"]([passing(NETWORKING, "infra-networking"), failing("ci/test/apps-media", "apps-media", "x")]))
    html = client.get("/").text
    listed = html[html.index('data-testid="ci-unmatched"'):]
    assert "1 test in CI reports covers no module" in listed
    assert "<code>apps-media</code> in <code>ci/test/apps-media</code> · failed" in listed
    ingest(WRITERS["JSON"]([failing("ci/test/apps-home", "apps-home", "x")]))
    assert "2 tests in CI reports cover no module" in client.get("/").text
