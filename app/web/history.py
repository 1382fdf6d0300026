"""The history parts of the overview and module pages, as plain data.

The dashboard's page contexts merge these dicts in; the partials
``templates/partials/history_*.html`` show them. Nothing here walks git: it
reads what ``app.services.history`` stored. When the latest scan is of an
older commit than the default branch's tip, everything shown stops at that
commit (the scan's ``history_upto``), and ``cut`` says so.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup
from sqlmodel import Session

from app.store.errors import Invalid, NotFound
from app.store.history import branches, events, fates, history_state, history_view
from app.store.scans import Scan, latest_scan
from app.web.charts import burndown_figure

RECENT = 15  # events listed on the overview


def history_context(session: Session, repository: str | None = None, as_of: datetime | None = None) -> dict[str, Any]:
    """``{"history": ...}`` for the overview: burndown chart, forecast, recent events, regressions."""
    scan = latest_scan(session)
    repository = repository or (scan.repository if scan else None)
    if repository is None:
        return {"history": None}
    upto = _upto(scan, repository)
    # a cut history ends at the scanned commit: its forecast speaks as of that day
    now = as_of or (scan.commit_date if upto is not None else datetime.now(UTC))
    view = history_view(session, repository, now, upto)
    chart = burndown_figure(view.points, end=now if view.points else None, done_by=view.forecast.done_by)
    return {
        "history": {
            "chart": Markup(chart),
            "forecast": view.forecast.message,
            "done_by": view.forecast.done_by,
            "events": list(reversed(view.events))[:RECENT],
            "total_events": len(view.events),
            "regressions": view.regressions,
            # branches in flight are measured against the tip: a cut history does not show them
            "branches": view.branches if upto is None else [],
            "stale_branches": view.stale_branches if upto is None else [],
            "note": view.note,
            "last_commit": view.last_commit,
            "cut": _cut(scan, upto, view.last_commit),
        }
    }


def module_history_context(session: Session, path: str, repository: str | None = None) -> dict[str, Any]:
    """``{"timeline": ...}`` for a module page: its own events (renames followed), newest first."""
    scan = latest_scan(session)
    repository = repository or (scan.repository if scan else None)
    if repository is None:
        return {"timeline": None}
    upto = _upto(scan, repository)
    state = history_state(session, repository)

    def on_branches(stale: bool) -> list[dict]:  # measured against the tip: a cut history has none
        return [b for b in branches(session, repository, stale) if b["module"] == path] if upto is None else []

    return {
        "timeline": {
            "events": list(reversed(events(session, repository, path, upto))),
            "branches": on_branches(False),
            "stale_branches": on_branches(True),
            "cut": _cut(scan, upto, state.last_commit if state else None),
        }
    }


KINDS = ("born", "changed", "renamed", "removed", "regression")  # the history page's filter: a kind, or regressions
PAGE_SIZE = 50


def history_page_context(session: Session, module: str = "", kind: str = "", page: int = 1) -> dict[str, Any]:
    """``/history``: every event, newest first, filtered by module and kind of move, a page at a time.
    A page past the last shows the last."""
    if kind and kind not in KINDS:
        raise Invalid(f"no kind of move '{kind}'; one of {', '.join(KINDS)}", field="kind")
    scan = latest_scan(session)
    everything = list(reversed(events(session, scan.repository, upto=_upto(scan, scan.repository)))) if scan else []
    shown = [e for e in everything if (not module or e["module"] == module) and _is_kind(e, kind)]
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    return {
        "events": shown[(page - 1) * PAGE_SIZE: page * PAGE_SIZE],
        "first": (page - 1) * PAGE_SIZE,  # how many newer events came before this page
        "matched": len(shown),
        "total": len(everything),
        "modules": sorted({e["module"] for e in everything}),
        "kinds": KINDS,
        "filters": {"module": module, "kind": kind},
        "page": page,
        "pages": pages,
        "scanned": scan is not None,
    }


def _is_kind(event: dict, kind: str) -> bool:
    return not kind or (event["regression"] if kind == "regression" else event["kind"] == kind)


def removed_module_context(session: Session, path: str) -> dict[str, Any]:
    """A module gone from the tree that the history knows: where and when it was removed, its
    timeline. Raises NotFound for a path the history never saw, or one that lives on."""
    scan = latest_scan(session)
    fate = fates(session, scan.repository, _upto(scan, scan.repository)).get(path.strip("/")) if scan else None
    if fate is None or fate["removed"] is None:
        raise NotFound(f"No module at {path} in the last scan, nor in the history.")
    removal = fate["removed"]
    module = fate["module"]
    return {
        "scan": scan,
        "removed": True,
        "module": {"path": module, "name": module.rsplit("/", 1)[-1], "asked": path.strip("/")},
        "removal": removal,
        **module_history_context(session, module),
    }


def _upto(scan: Scan | None, repository: str) -> int | None:
    """The latest scan's cut of the history, when that scan is of ``repository``."""
    return scan.history_upto if scan is not None and scan.repository == repository else None


def _cut(scan: Scan | None, upto: int | None, tip: str | None) -> dict[str, str | None] | None:
    """Which commit a cut history shows, and where the default branch is; None: not cut."""
    if upto is None or scan is None:
        return None
    return {"commit": scan.commit_sha, "ref": scan.ref, "tip": tip}
