"""What the pages show of chainsaw results from CI: the overview's line, the cards' marks, a module's section."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.services.reports import ModuleTests, all_module_tests, module_tests, results_overview
from app.store.reports import unmatched_tests

TESTED = ("migrated", "in_progress")  # the columns whose cards have a chainsaw test to run


def ci_board(session: Session, view: dict[str, Any]) -> dict[str, Any]:
    """``view`` (``views.scan_view``) with ``ci`` (the migrated modules' results) and each card
    of a tested column marked: failed, never (ran), skipped or passed, and flaky, once any
    report has tested a module."""
    results = all_module_tests(session)
    view["ci"] = results_overview(session, view["modules"], results)
    view["ci"]["unmatched"] = unmatched_lately(session)
    if not results:  # no report yet: the overview's line says so once, not every card
        return view
    for column in TESTED:
        for card in view["board"].get(column, []):
            mark(card, [results.get(m.path, ModuleTests([])) for m in card.modules])
    return view


def mark(card, results: list[ModuleTests]) -> None:
    statuses = [r.status for r in results]
    if "failed" in statuses:
        card.ci = "failed"
    elif None in statuses:
        card.ci = "never"
    elif "skipped" in statuses:
        card.ci = "skipped"
    else:
        card.ci = "passed"
    card.flaky = any(r.flaky for r in results)


def unmatched_lately(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    """Tests the reports named that cover no module, each (folder, name) once, newest first."""
    seen, found = set(), []
    for report, test in unmatched_tests(session, limit=limit * 5):
        if (test.folder, test.name) not in seen and len(found) < limit:
            seen.add((test.folder, test.name))
            found.append({"name": test.name, "folder": test.folder, "commit": report.commit_sha, "status": test.status})
    return found


def ci_module(session: Session, path: str) -> dict[str, Any]:
    return module_tests(session, path)
