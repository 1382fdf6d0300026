"""The history parts of the overview and module pages, as plain data.

The dashboard's page contexts merge these dicts in; the partials
``templates/partials/history_*.html`` show them. Nothing here walks git: it
reads what ``update_history`` stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup
from sqlmodel import Session

from app.store.history import branches, events, history_view
from app.store.scans import latest_scan
from app.web.charts import burndown_svg

RECENT = 15  # events listed on the overview


def history_context(session: Session, repository: str | None = None, as_of: datetime | None = None) -> dict[str, Any]:
    """``{"history": ...}`` for the overview: burndown chart, forecast, recent events, regressions."""
    repository = repository or _repository(session)
    if repository is None:
        return {"history": None}
    now = as_of or datetime.now(UTC)
    view = history_view(session, repository, now)
    chart = burndown_svg(view.points, end=now if view.points else None, done_by=view.forecast.done_by)
    return {
        "history": {
            "chart": Markup(chart),
            "forecast": view.forecast.message,
            "done_by": view.forecast.done_by,
            "events": list(reversed(view.events))[:RECENT],
            "total_events": len(view.events),
            "regressions": view.regressions,
            "branches": view.branches,
            "note": view.note,
            "last_commit": view.last_commit,
        }
    }


def module_history_context(session: Session, path: str, repository: str | None = None) -> dict[str, Any]:
    """``{"timeline": ...}`` for a module page: its own events (renames followed), newest first."""
    repository = repository or _repository(session)
    if repository is None:
        return {"timeline": None}
    in_flight = [b for b in branches(session, repository) if b["module"] == path]
    return {"timeline": {"events": list(reversed(events(session, repository, path))), "branches": in_flight}}


def _repository(session: Session) -> str | None:
    scan = latest_scan(session)
    return scan.repository if scan else None
