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

from app.store.history import branches, events, history_state, history_view
from app.store.scans import Scan, latest_scan
from app.web.charts import burndown_svg

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
    chart = burndown_svg(view.points, end=now if view.points else None, done_by=view.forecast.done_by)
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


def _upto(scan: Scan | None, repository: str) -> int | None:
    """The latest scan's cut of the history, when that scan is of ``repository``."""
    return scan.history_upto if scan is not None and scan.repository == repository else None


def _cut(scan: Scan | None, upto: int | None, tip: str | None) -> dict[str, str | None] | None:
    """Which commit a cut history shows, and where the default branch is; None: not cut."""
    if upto is None or scan is None:
        return None
    return {"commit": scan.commit_sha, "ref": scan.ref, "tip": tip}
