"""What the pages and the API show of the progress data: plain dicts, ready for a template or JSON."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, select

from app.progress.sections import mentioned_modules, missing_lines
from app.store.audit import audit_log
from app.store.blockers import blocker_state
from app.store.progress import (
    BACKLOG_STATUSES,
    BacklogItem,
    Blocker,
    CapabilityItem,
    MigrationEntry,
    Milestone,
    MilestoneTask,
    NextStep,
    ProgressLayout,
    ProgressModule,
)
from app.store.progress_doc import export_document  # noqa: F401  (the pages' one place to get it)
from app.store.progress_names import Modules, why_not_done
from app.store.progress_sync import missing_modules


def migration_entries(session: Session, today: date | None = None, modules: Modules | None = None) -> dict[str, Any]:
    """The document's migration entries with their scan status and pins, and the modules
    the document does not mention. ``synced`` is the commit of the last scan synced, or None."""
    today = today or date.today()
    modules = modules or Modules(session)
    query = select(MigrationEntry).order_by(MigrationEntry.id)
    entries = [entry_view(e, today, modules) for e in session.exec(query)]
    order = {}
    in_order = select(CapabilityItem).order_by(CapabilityItem.part, CapabilityItem.position, CapabilityItem.id)
    for item in session.exec(in_order):
        for index, point in enumerate(item.points):
            if "entry" in point:
                order[point["entry"]] = (item.id, index)
    entries.sort(key=lambda e: order.get(e["id"], (0, 0)))
    missing = missing_modules(session, modules)
    commit = session.exec(select(ProgressModule.commit_sha).limit(1)).first()
    return {
        "entries": entries,
        "missing": [
            {"text": text, "modules": paths, "status": _weakest_of(paths, missing)}
            for text, paths in missing_lines(missing)
        ],
        "synced": commit,
    }


def entry_view(entry: MigrationEntry, today: date, modules: Modules | None = None) -> dict[str, Any]:
    """An entry as the pages and the API show it. With ``modules`` (the last scan and the
    history), also each module it names with its status, and why the scans leave it unticked."""
    pinned = entry.pinned(today)
    named = modules.resolve_all(list(entry.modules)) if modules is not None and modules.scanned else None
    extra: dict[str, Any] = {}
    if named is not None:
        extra["named"] = [
            {"path": n.module or n.path, "name": n.name, "status": n.status, "removed": n.removed} for n in named
        ]
        extra["reason"] = why_not_done(named)
    return {
        "id": entry.id,
        "text": entry.text,
        "done": entry.done,
        "modules": list(entry.modules),
        "scan_status": entry.scan_status,
        "unknown_modules": list(entry.unknown_modules),
        "pinned": pinned,
        "pin_reason": entry.pin_reason if pinned else None,
        "pin_until": entry.pin_until if pinned else None,
        "pinned_by": entry.pinned_by if pinned else None,
        "named": None,
        "reason": None,
        **extra,
    }


def _weakest_of(paths: list[str], modules: list[ProgressModule]) -> str:
    statuses = [m.status for m in modules if m.path in paths]
    return "migrated" if all(s == "migrated" for s in statuses) else next(s for s in statuses if s != "migrated")


def module_in_document(session: Session, path: str) -> dict[str, Any]:
    """What the document says of the module at ``path``: the entries naming it (with why
    each is unticked), and the plain checklist lines that name it in passing."""
    modules = Modules(session)
    entries = migration_entries(session, modules=modules)["entries"]
    mentions = []
    for item in session.exec(select(CapabilityItem).order_by(CapabilityItem.part, CapabilityItem.position)):
        for point in item.points:
            named = modules.resolve_all(mentioned_modules(point.get("text", ""))) if "entry" not in point else []
            if any(n.module == path for n in named):
                mentions.append(point["text"])
    return {
        "entries": [e for e in entries if path in (e["modules"] + [n["path"] for n in e["named"] or []])],
        "mentions": mentions,
    }


def checklists(session: Session, today: date | None = None) -> list[dict[str, Any]]:
    """Current Status: each checklist with its items and their sub-points (entries expanded)."""
    today = today or date.today()
    out: dict[str, dict[str, Any]] = {}
    entries = {e.id: e for e in session.exec(select(MigrationEntry))}
    in_order = select(CapabilityItem).order_by(CapabilityItem.part, CapabilityItem.position, CapabilityItem.id)
    for item in session.exec(in_order):
        points = []
        for p in item.points:
            if "entry" in p and p["entry"] in entries:
                points.append({"entry": entry_view(entries[p["entry"]], today)})
            elif "entry" not in p:
                points.append({"text": p["text"], "done": p.get("done")})
        section = out.setdefault(item.checklist, {"checklist": item.checklist, "items": []})
        section["items"].append({"id": item.id, "text": item.text, "done": item.done, "points": points})
    return list(out.values())


def backlog(session: Session) -> list[dict[str, Any]]:
    """Backlog items grouped by category (document order), then by status."""
    out: dict[str, dict[str, Any]] = {}
    slots = select(ProgressLayout.slot_key).where(ProgressLayout.slot_kind == "backlog")
    for category in session.exec(slots.order_by(ProgressLayout.position)):
        out.setdefault(category, {"category": category, "items": {s: [] for s in BACKLOG_STATUSES}})
    query = select(BacklogItem).order_by(BacklogItem.part, BacklogItem.position, BacklogItem.id)
    for row in session.exec(query):
        group = out.setdefault(row.category, {"category": row.category, "items": {s: [] for s in BACKLOG_STATUSES}})
        group.setdefault("_all", []).append(row)
        group["items"][row.status].append({"id": row.id, "title": row.title, "status": row.status})
    for group in out.values():
        # "position" is the place within the category, as move_backlog_item takes it
        places = {r.id: i for i, r in enumerate(group.pop("_all", []))}
        for items in group["items"].values():
            for item in items:
                item["position"] = places[item["id"]]
    return list(out.values())


def backlog_page(session: Session, page: int, size: int) -> dict[str, Any]:
    """One page of the backlog: ``size`` items in document order (category by category), the
    categories they sit in, and how many items and pages there are. A page past the last is the last."""
    groups = backlog(session)
    total = sum(len(items) for g in groups for items in g["items"].values())
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    start, end = (page - 1) * size, page * size
    shown, seen = [], 0
    for group in groups:
        rows = sorted((i for items in group["items"].values() for i in items), key=lambda i: i["position"])
        kept = {i["id"] for i in rows[max(0, start - seen): max(0, end - seen)]}
        seen += len(rows)
        if kept or (not rows and page == 1):  # an empty category (a heading alone) is listed on the first page
            items = {s: [i for i in group["items"][s] if i["id"] in kept] for s in BACKLOG_STATUSES}
            shown.append({"category": group["category"], "items": items})
    counts = {s: sum(len(g["items"][s]) for g in groups) for s in BACKLOG_STATUSES}
    return {"groups": shown, "categories": [g["category"] for g in groups], "counts": counts, "total": total,
            "page": page, "pages": pages, "size": size}  # fmt: skip


def milestones(session: Session) -> list[dict[str, Any]]:
    """Current milestones first, then completed, each with its tasks and done/total."""
    out = []
    query = select(Milestone).order_by(Milestone.part, Milestone.position, Milestone.id)
    rows = sorted(session.exec(query), key=lambda m: (m.state != "current", m.part, m.position))
    for m in rows:
        tasks = session.exec(
            select(MilestoneTask).where(MilestoneTask.milestone_id == m.id).order_by(MilestoneTask.position)
        ).all()
        checks = [t for t in tasks if t.done is not None]
        out.append({
            "id": m.id,
            "title": m.title,
            "state": m.state,
            "tasks": [{"id": t.id, "text": t.text, "done": t.done} for t in tasks],
            "done": sum(1 for t in checks if t.done),
            "total": len(checks),
        })  # fmt: skip
    return out


def blockers(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Open and resolved blockers, in document order; ``version`` goes back with every write."""
    out: dict[str, list[dict[str, Any]]] = {"open": [], "resolved": []}
    for b in session.exec(select(Blocker).order_by(Blocker.part, Blocker.position, Blocker.id)):
        out[b.status].append(blocker_view(b))
    return out


def blocker_view(b: Blocker) -> dict[str, Any]:
    return {"id": b.id, **blocker_state(b)}


def next_steps(session: Session) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"immediate": [], "future": []}
    for s in session.exec(select(NextStep).order_by(NextStep.part, NextStep.position, NextStep.id)):
        out.setdefault(s.kind, []).append({"id": s.id, "title": s.title, "points": s.points})
    return out


def audit_entries(session: Session, limit: int = 100, target: str | None = None) -> list[dict[str, Any]]:
    """The audit log, newest first."""
    return [
        {"id": a.id, "at": a.at, "who": a.who, "action": a.action, "target": a.target, "before": a.before,
         "after": a.after}  # fmt: skip
        for a in audit_log(session, limit=limit, target=target)
    ]
