"""How the pages look: every page at phone and desktop width in light and dark, status colours that hold."""

from __future__ import annotations

import pytest

from app.repobuilder.gitops import INFRA
from app.services import scan_and_store
from app.web.assets import static_url

PAGES = {
    "overview": "/",
    "module": f"/modules/{INFRA}/kubernetes-core",
    "backlog": "/backlog",
    "milestones": "/milestones",
    "blockers": "/blockers",
    "document": "/document",
    "log": "/log",
    "confirm-delete": "/backlog/1/delete",
    "not-found": "/no/such/page",
}
STATUSES = ["untested", "legacy", "in_progress", "migrated"]

# WCAG contrast of two computed CSS colours ("rgb(r, g, b)"), worked out in the page.
CONTRAST = """([a, b]) => {
  const lum = c => {
    const [r, g, bl] = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map(v => v / 255)
      .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}"""


@pytest.fixture
def live(gitops_repo, with_document, serve):
    path, _ = gitops_repo
    scan_and_store(with_document, path)
    return serve(repo=path)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_fits_a_phone_and_a_desk_and_loads_nothing_from_elsewhere(live, browser, shot, scheme) -> None:
    for width in (390, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        for name, url in PAGES.items():
            response = page.goto(live.url + url)
            assert response.status == (404 if name == "not-found" else 200), url
            page.wait_for_load_state("networkidle")
            assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{url} is wider than {width} px"
            shot(page, f"{name}-{scheme}-{width}")
        context.close()
        assert requested and all(u.startswith(live.url + "/") for u in requested), [u for u in requested if not u.startswith(live.url)]
        assert live.url + static_url("vendor/htmx/htmx.min.js") in requested
        assert live.url + static_url("vendor/pico/pico.min.css") in requested


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_status_colours_are_readable_in_light_and_dark(live, browser, shot, scheme) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    page.goto(live.url + "/")
    background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    dark = page.evaluate(CONTRAST, [background, "rgb(0, 0, 0)"]) < 3
    assert dark == (scheme == "dark"), f"the page background {background} does not follow the {scheme} scheme"
    for status in STATUSES:
        column = page.locator(f"section.column[data-status={status}]")
        colour = column.evaluate("el => getComputedStyle(el).borderTopColor")
        # the status colour is used as text-sized marks (dots, bars, the big number): AA contrast on the page
        assert page.evaluate(CONTRAST, [colour, background]) >= 4.5, f"{status} {colour} on {background}"
        chip = column.locator("h2 .n")
        ink, fill = chip.evaluate("el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]")
        assert fill == colour
        assert page.evaluate(CONTRAST, [ink, fill]) >= 4.5, f"{status} count: {ink} on {fill}"
    for badge in page.locator(".badge[class*=st-]").all():
        ink, fill = badge.evaluate("el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]")
        assert page.evaluate(CONTRAST, [ink, fill]) >= 4.5, f"{badge.inner_text()}: {ink} on {fill}"
    shot(page, f"colours-{scheme}")
    context.close()


LONG = "Flux: kustomize.toolkit.fluxcd.io/v1.Kustomization.spec.postBuild fails"


def test_long_unbroken_words_wrap_inside_a_phone(db_url, serve, page_for, shot) -> None:
    """A long token as a blocker, a backlog category, a milestone task and in the log stays within 390 px."""
    from app.store.backlog import create_backlog_item
    from app.store.blockers import add_blocker
    from app.store.db import session_scope
    from app.store.progress_doc import import_document

    from .conftest import DEMO_DOCUMENT

    document = DEMO_DOCUMENT.read_text().replace("   - [ ] CI integration\n", f"   - [ ] {LONG}\n   - {LONG}\n")
    with session_scope(db_url) as session:
        import_document(session, document, who="test")
        add_blocker(session, LONG, "alice", points=[LONG])
        create_backlog_item(session, LONG, LONG, "alice")
    live = serve()
    page = page_for(width=390, height=800)
    for url in ("/blockers", "/backlog", "/milestones", "/log"):
        page.goto(live.url + url)
        assert page.get_by_text(LONG).count() >= 2, url
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"{url} is wider than 390 px"
        shot(page, "long-words" + url.replace("/", "-"))
    table, box = page.locator("table.log").evaluate("t => [t.offsetWidth, t.parentElement.clientWidth]")
    assert table <= box, f"the log's table is {table} px in a {box} px box"
