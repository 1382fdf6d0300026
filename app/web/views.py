"""Page contexts: everything a template shows, read from the store up front.

Templates never query; each page gets one plain dict built here, from the
same store functions the CLI and the API use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from app.scanner.model import STATUS_ORDER, Summary
from app.store.errors import NotFound
from app.store.scans import ModuleResult, Scan, latest_scan, scan_modules
from app.web.badges import migration_colour

COLUMNS = [str(status) for status in STATUS_ORDER]


@dataclass
class Card:
    """A module, or a core/extra pair that shares a status, on the migration board."""

    title: str
    status: str
    group: str
    modules: list[ModuleResult]
    tests: list[str] = field(default_factory=list)
    assertions: int = 0
    legacy: list[str] = field(default_factory=list)
    branches: list[str] = field(default_factory=list)  # where chainsaw tests are in flight
    ci: str | None = None  # its chainsaw test's last CI run: passed, failed, skipped, never (see reports_view)
    flaky: bool = False  # passed and failed on one commit

    @property
    def href(self) -> str:
        return f"/modules/{self.modules[0].path}"

    @property
    def key(self) -> str:
        return self.modules[0].path


def chainsaw_tests(module: ModuleResult) -> dict[str, int]:
    """Covering chainsaw test files and the assertions each reaches."""
    tests: dict[str, int] = {}
    for test in module.evidence.get("chainsaw", []):
        count = test.get("asserts", 0) + test.get("errors", 0) + test.get("scripts", 0)
        tests[test["test_file"]] = max(tests.get(test["test_file"], 0), count)
    return tests


def legacy_tests(module: ModuleResult) -> list[str]:
    return [item.get("workflow") or item.get("suite", "") for item in module.evidence.get("legacy", [])]


def make_card(modules: list[ModuleResult]) -> Card:
    first = modules[0]
    title = first.name
    if len(modules) > 1 and first.pair:
        suffixes = "/".join(m.name.removeprefix(f"{first.pair}-") for m in modules)
        title = f"{first.pair}-{suffixes}"
    tests: dict[str, int] = {}
    legacy: list[str] = []
    for module in modules:
        tests.update(chainsaw_tests(module))
        legacy.extend(x for x in legacy_tests(module) if x not in legacy)
    branches = sorted({m.branch for m in modules if m.branch})
    return Card(title, first.status, first.group, modules, sorted(tests), sum(tests.values()), legacy, branches)


def board(modules: list[ModuleResult]) -> dict[str, list[Card]]:
    """Cards per status column; a pair whose halves differ shows as two cards."""
    groups: dict[tuple, list[ModuleResult]] = {}
    for module in modules:
        key = (module.group, module.pair or module.path, module.status)
        groups.setdefault(key, []).append(module)
    columns: dict[str, list[Card]] = {status: [] for status in COLUMNS}
    for members in groups.values():
        card = make_card(sorted(members, key=lambda m: (not m.name.endswith("-core"), m.name)))
        columns.setdefault(card.status, []).append(card)
    for cards in columns.values():
        cards.sort(key=lambda c: (c.group != "infrastructure", c.group, c.title))
    return columns


def column_counts(columns: dict[str, list[Card]]) -> dict[str, dict[str, int]]:
    """Modules and cards per column: a core/extra pair shares a card, so the two differ."""
    return {
        status: {"modules": sum(len(card.modules) for card in cards), "cards": len(cards)}
        for status, cards in columns.items()
    }


def open_and_collapsed(columns: dict[str, list[Card]]) -> dict[str, list[str]]:
    """Columns drawn full, and the empty ones drawn as a slim strip: at 100% the board is one
    column of cards, not three empty columns beside a long one."""
    filled = [status for status in COLUMNS if columns.get(status)]
    if not filled:  # nothing scanned into any column: the four stay, each saying "none"
        return {"open_columns": COLUMNS, "collapsed_columns": []}
    return {"open_columns": filled, "collapsed_columns": [s for s in COLUMNS if s not in filled]}


def summary(modules: list[ModuleResult]) -> Summary:
    # The scanner's own Summary, so the page and `sawmill scan --json` cannot disagree.
    return Summary.of(modules)  # type: ignore[arg-type]  # it only reads .status


def scan_view(session: Session) -> dict[str, Any]:
    """The last scan, its modules, the board and the totals."""
    scan: Scan | None = latest_scan(session)
    rows = scan_modules(session, scan.id) if scan else []
    modules = [m for m in rows if not m.component]
    totals, columns = summary(modules), board(modules)
    return {
        "scan": scan,
        "modules": modules,
        "components": [m for m in rows if m.component],
        "summary": totals,
        "scale": migration_colour(totals.percent),  # the badge's colour, so the pill and the badge agree
        "columns": COLUMNS,
        "board": columns,
        "column_counts": column_counts(columns),
        **open_and_collapsed(columns),
    }


def module_view(session: Session, path: str) -> dict[str, Any]:
    scan = latest_scan(session)
    rows = scan_modules(session, scan.id) if scan else []
    module = next((m for m in rows if m.path == path.strip("/")), None)
    if module is None:
        raise NotFound(f"No module at {path} in the last scan.")
    files = {path, *chainsaw_tests(module)}
    for test in module.evidence.get("chainsaw", []):
        files.update(test.get("files", []))
    warnings = [w for w in scan.warnings if any(w["path"].startswith(f) for f in files)]
    pair = [m for m in rows if module.pair and m.pair == module.pair and m.group == module.group]
    return {
        "scan": scan,
        "module": module,
        "tests": chainsaw_tests(module),
        "legacy": module.evidence.get("legacy", []),
        "dependencies": module.evidence.get("dependencies", []),
        "warnings": warnings,
        "pair": [m for m in pair if m.path != module.path],
    }
