"""Import the progress document into the store, and export it back.

Import is one transaction in the caller's session: the document is parsed
(and refused) before anything is written. Re-importing updates rows in place,
matched by section and text, so what only the store knows (who resolved a
blocker, when, the note; pins' authors) survives.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, SQLModel, select

from app.progress.document import Document, Group, Heading, Item, Point, Raw, lines_of, parse, render
from app.progress.sections import PinMark, Slot, classify, entry_modules, split_pin, with_pin
from app.store import audit
from app.store.errors import NotFound
from app.store.turns import take_turn
from app.store.progress import (
    BacklogItem,
    Blocker,
    CapabilityItem,
    MigrationEntry,
    Milestone,
    MilestoneTask,
    NextStep,
    ProgressLayout,
)

MARK_STATUS = {" ": "todo", "~": "doing", "x": "done"}
STATUS_MARK = {v: k for k, v in MARK_STATUS.items()}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    removed: int = 0
    changes: list[str] = field(default_factory=list)
    removals: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (audit target, the row as it was)
    warnings: list[str] = field(default_factory=list)  # "line 14: ...": accepted, but probably not meant

    def line(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.removed} removed"


@dataclass
class _Placed:
    """A typed block with its place in the document."""

    slot: Slot
    part: int
    position: int
    block: Item | Group


# -- import -------------------------------------------------------------------


def import_document(session: Session, data: bytes | str, who: str, source: str = "") -> ImportReport:
    """Parse ``data`` and make the store hold it. Raises Invalid (store untouched) for bad input."""
    doc = parse(data)
    take_turn(session)
    before = document_summary(session)
    placed = _write_layout(session, doc)
    report = ImportReport()
    report.warnings.extend(_capital_ticks(render(doc)))
    _import_checklists(session, [p for p in placed if p.slot.kind == "checklist"], who, report)
    _import_backlog(session, [p for p in placed if p.slot.kind == "backlog"], report)
    _import_milestones(session, [p for p in placed if p.slot.kind == "milestones"], report)
    _import_blockers(session, [p for p in placed if p.slot.kind == "blockers"], who, report)
    _import_next_steps(session, [p for p in placed if p.slot.kind == "next_steps"], report)
    session.flush()
    after = document_summary(session)
    after.update(source=source, sha256=hashlib.sha256(render(doc).encode()).hexdigest(), result=report.line())
    after["changes"] = report.changes  # all of them: what an import removed must stay findable
    after["warnings"] = report.warnings[:200]
    for target, state in report.removals:  # so `sawmill log --target backlog:12` ends in its removal
        audit.record(session, who, "import.remove", target, state, None)
    audit.record(session, who, "import", "document", before, after)  # the import's summary: newest of its rows
    from app.store.progress_sync import apply_scan_state  # the scanner decides entries, even after an import

    apply_scan_state(session, who="scanner")
    return report


def has_document(session: Session) -> bool:
    return session.exec(select(ProgressLayout.id).limit(1)).first() is not None


def document_summary(session: Session) -> dict[str, Any]:
    counts = {}
    for name, model in (
        ("checklist_items", CapabilityItem),
        ("entries", MigrationEntry),
        ("backlog", BacklogItem),
        ("milestones", Milestone),
        ("blockers", Blocker),
        ("next_steps", NextStep),
    ):
        counts[name] = len(session.exec(select(model.id)).all())
    return counts


def _write_layout(session: Session, doc: Document) -> list[_Placed]:
    rows: list[ProgressLayout] = []
    placed: list[_Placed] = []
    parts: Counter[Slot] = Counter()
    places: Counter[Slot] = Counter()  # a row's position counts within its section, so an edit elsewhere moves nothing
    run: Slot | None = None
    position = 0
    for block, slot in zip(doc.blocks, classify(doc), strict=True):
        if slot is not None and slot == run:
            placed.append(_Placed(slot, parts[slot] - 1, places[slot], block))  # type: ignore[arg-type]
            places[slot] += 1
            continue
        position += 1
        run = slot
        if isinstance(block, Heading):
            row = ProgressLayout(position=position, kind="heading", gap=block.gap, level=block.level, text=block.text)
        elif slot is None:
            row = ProgressLayout(position=position, kind="raw", gap=block.gap, text="\n".join(block.lines()))
        else:
            row = ProgressLayout(
                position=position, kind="slot", slot_kind=slot.kind, slot_key=slot.key, slot_part=parts[slot]
            )
            placed.append(_Placed(slot, parts[slot], places[slot], block))  # type: ignore[arg-type]
            parts[slot] += 1
            places[slot] += 1
        rows.append(row)
    rows.append(ProgressLayout(position=position + 1, kind="end", gap=doc.trailing_gap, text=_ending(doc)))
    _replace_layout(session, rows)
    return placed


def _replace_layout(session: Session, rows: list[ProgressLayout]) -> None:
    """Make ``rows`` the layout, in the old rows' places (their ids) as far as they go, so
    importing the same document again changes no row on any database (SQLite would hand
    freed ids out again; PostgreSQL's sequences never do)."""
    old = session.exec(select(ProgressLayout).order_by(ProgressLayout.position, ProgressLayout.id)).all()
    for row, new in zip(old, rows):
        row.sqlmodel_update(new.model_dump(exclude={"id", "repository"}))
        session.add(row)
    for row in old[len(rows):]:
        session.delete(row)
    session.add_all(rows[len(old):])


ODD_ENDS = " odd "  # in the "end" row, before the lines that end otherwise than the rest: " odd 0-4,9 of <shape>"
SHAPE = " of "
_TICK = re.compile(r"\[[ xX]\]")


def _ending(doc: Document) -> str:
    """The "end" layout row's text: the line end if the file ends with one; "\r" alone for a
    Windows document without a final line end. A document of mixed line ends adds the lines
    that end with the other one (see ``Document.odd_ends``), as ranges."""
    end = doc.eol if doc.final_newline else ("\r" if doc.eol == "\r\n" else "")
    return end + ODD_ENDS + _ranges(doc.odd_ends) + SHAPE + _shape(doc) if doc.odd_ends else end


def _shape(doc: Document) -> str:
    """A fingerprint of the document's lines, ticks aside (scans move them, not the lines). The odd
    line ends are numbers of lines: once an edit from the dashboard or the API has added, removed or
    changed lines, they would land on others, so the export gives every line the usual end instead."""
    lines = "\n".join(_TICK.sub("[ ]", line) for line in lines_of(doc))
    return hashlib.blake2b(lines.encode(errors="surrogatepass"), digest_size=8).hexdigest()


def _read_ending(doc: Document, text: str) -> None:
    """The line ends ``_ending`` wrote, back on ``doc``."""
    end, _, odd = text.partition(ODD_ENDS)
    doc.final_newline, doc.eol = end.endswith("\n"), "\r\n" if end.startswith("\r") else "\n"
    odd, _, doc.shape = odd.partition(SHAPE)
    doc.odd_ends = frozenset(_numbers(odd))


def _numbers(ranges: str) -> Iterable[int]:
    for run in filter(None, ranges.split(",")):
        first, _, last = run.partition("-")
        yield from range(int(first), int(last or first) + 1)


def _ranges(numbers: Iterable[int]) -> str:
    """``0-4,9``: sorted numbers as runs."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in runs)


Key = tuple[Callable[[Any], Any], Callable[[_Placed], Any]]


def _pair(
    existing: Iterable[Any], incoming: list[_Placed], *keys: Key
) -> tuple[list[tuple[Any | None, _Placed]], list[Any]]:
    """Match incoming blocks to existing rows by key (and by occurrence, for repeated keys).

    Keys are tried in turn on what is still unmatched: (section, title) first, so repeated
    titles in two sections keep their own rows; then title alone, so a row that moved
    section (a blocker resolved in the document) is still the same row.
    """
    matched: dict[int, Any] = {}
    left = list(existing)
    for key_row, key_new in keys:
        rows: dict[tuple[Any, int], Any] = {}
        seen: Counter[Any] = Counter()
        for row in left:
            rows[(key_row(row), seen[key_row(row)])] = row
            seen[key_row(row)] += 1
        seen.clear()
        for index, new in enumerate(incoming):
            if index in matched:
                continue
            k = key_new(new)
            if (row := rows.pop((k, seen[k]), None)) is not None:
                matched[index] = row
            seen[k] += 1
        left = list(rows.values())
    return [(matched.get(i), new) for i, new in enumerate(incoming)], left


def _apply(row: SQLModel, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _upsert(session: Session, model: type[SQLModel], row: Any | None, values: dict, report: ImportReport) -> Any:
    if row is None:
        row = model(**values)
        session.add(row)
        report.created += 1
    elif _apply(row, values):
        report.updated += 1
    return row


# the audit log's name for a row of each table ("backlog:12")
TARGETS = {BacklogItem: "backlog", Blocker: "blocker", CapabilityItem: "checklist", MigrationEntry: "entry",
           Milestone: "milestone", MilestoneTask: "task", NextStep: "next_step"}  # fmt: skip


def _remove(session: Session, rows: list[Any], report: ImportReport, label: Callable[[Any], str]) -> None:
    for row in rows:
        report.removed += 1
        report.changes.append(f"removed {label(row)}")
        report.removals.append(_removal(row))
        session.delete(row)


def _removal(row: Any) -> tuple[str, dict[str, Any]]:
    """The audit target and state of a row an import removes: what it said first (``sawmill log`` shows it)."""
    state = row.model_dump(exclude={"id", "repository", "gap", "part"})
    said = {k: state.pop(k) for k in ("title", "text") if k in state}
    return f"{TARGETS[type(row)]}:{row.id}", {**said, **state}


def _placement(p: _Placed) -> dict[str, Any]:
    return {"part": p.part, "position": p.position, "gap": p.block.gap}


def _points(points: list[Point]) -> list[dict]:
    return [{"text": p.text, "done": p.done} for p in points]


def _import_checklists(session: Session, placed: list[_Placed], who: str, report: ImportReport) -> None:
    in_order = select(CapabilityItem).order_by(CapabilityItem.part, CapabilityItem.position, CapabilityItem.id)
    items = session.exec(in_order).all()
    pairs, gone = _pair(items, placed, (lambda r: (r.checklist, r.text), lambda p: (p.slot.key, p.block.text)))
    rows = []
    for row, p in pairs:
        values = {"checklist": p.slot.key, "text": p.block.text, "done": p.block.mark == "x", **_placement(p)}
        rows.append(_upsert(session, CapabilityItem, row, values if row else {**values, "points": []}, report))
    session.flush()  # one flush for all new ids: a large document imports in seconds, not minutes
    entries = session.exec(select(MigrationEntry).order_by(MigrationEntry.id)).all()
    entry_rows: dict[tuple[str, int], MigrationEntry] = {}
    seen: Counter[str] = Counter()
    for entry in entries:
        entry_rows[(entry.text, seen[entry.text])] = entry
        seen[entry.text] += 1
    seen.clear()
    pending: list[tuple[CapabilityItem, list[dict | MigrationEntry]]] = []
    for row, (_, p) in zip(rows, pairs, strict=True):
        points: list[dict | MigrationEntry] = []
        for offset, point in enumerate(p.block.points, start=1):
            modules = entry_modules(point.text) if point.done is not None else []
            if not modules:
                _warn_near_entry(report, p.block.line + offset, point)
                points.append({"text": point.text, "done": point.done})
                continue
            text, pin = split_pin(point.text)
            entry = entry_rows.pop((text, seen[text]), None)
            seen[text] += 1
            points.append(_import_entry(session, entry, row.id, text, point.done, modules, pin, who, report))
        pending.append((row, points))
    _remove(session, list(entry_rows.values()), report, lambda e: f"entry '{e.text}'")
    session.flush()
    for row, points in pending:
        stored = [{"entry": p.id} if isinstance(p, MigrationEntry) else p for p in points]
        if row.points != stored:
            row.points = stored
            session.add(row)
    session.flush()
    _remove(session, gone, report, lambda r: f"checklist item '{r.text}'")


CAPITAL_TICK = re.compile(r" *- \[X\] ")


def _capital_ticks(text: str) -> list[str]:
    """GitHub shows "[X]" ticked, but the grammar reads only "[x]": such a line is kept as text, not as a tick."""
    return [
        f"line {number}: '[X]' is kept as text, not read as a tick; write '[x]'"
        for number, line in enumerate(text.splitlines(), start=1)
        if CAPITAL_TICK.match(line)
    ]


def _warn_near_entry(report: ImportReport, line: int, point: Point) -> None:
    """A checkbox that speaks of modules but is no entry line: most likely a typo."""
    if point.done is not None and re.search(r"\bmodules?\b", point.text) and len(point.text.split()) <= 4:
        report.warnings.append(
            f"line {line}: '{point.text}' is not read as a migration entry; entries read "
            "'X module', 'X-core/extra modules' or 'X app module'"
        )


def _import_entry(
    session: Session,
    entry: MigrationEntry | None,
    item_id: int,
    text: str,
    done: bool,
    modules: list[str],
    pin: PinMark | None,
    who: str,
    report: ImportReport,
) -> MigrationEntry:
    values: dict[str, Any] = {"item_id": item_id, "text": text, "done": done, "modules": modules}
    if pin is None:
        values.update(pin_reason=None, pin_until=None, pin_done=None, pinned_by=None, pinned_at=None)
    elif entry is None or (entry.pin_reason, entry.pin_until, entry.pin_done) != (pin.reason, pin.until, done):
        values.update(pin_reason=pin.reason, pin_until=pin.until, pin_done=done, pinned_by=who, pinned_at=audit.now())
    if entry is not None and entry.done != done:
        report.changes.append(f"entry '{text}' {'ticked' if done else 'unticked'}")
    return _upsert(session, MigrationEntry, entry, values, report)


def _import_backlog(session: Session, placed: list[_Placed], report: ImportReport) -> None:
    rows = session.exec(select(BacklogItem).order_by(BacklogItem.part, BacklogItem.position, BacklogItem.id)).all()
    pairs, gone = _pair(rows, placed, (lambda r: (r.category, r.title), lambda p: (p.slot.key, p.block.text)))
    for row, p in pairs:
        item: Item = p.block  # type: ignore[assignment]
        values = {
            "category": p.slot.key,
            "title": item.text,
            "status": MARK_STATUS[item.mark],
            "points": _points(item.points),
            **_placement(p),
        }
        _upsert(session, BacklogItem, row, values, report)
    _remove(session, gone, report, lambda r: f"backlog item '{r.title}'")


def _import_milestones(session: Session, placed: list[_Placed], report: ImportReport) -> None:
    rows = session.exec(select(Milestone).order_by(Milestone.part, Milestone.position, Milestone.id)).all()
    pairs, gone = _pair(
        rows, placed, (lambda r: (r.state, r.title), lambda p: (p.slot.key, p.block.title)),
        (lambda r: r.title, lambda p: p.block.title),
    )
    for row, p in pairs:
        group: Group = p.block  # type: ignore[assignment]
        values = {"state": p.slot.key, "number": group.number, "title": group.title, **_placement(p)}
        row = _upsert(session, Milestone, row, values, report)
        session.flush()
        tasks = session.exec(select(MilestoneTask).where(MilestoneTask.milestone_id == row.id)).all()
        task_pairs, gone_tasks = _pair(
            sorted(tasks, key=lambda t: t.position),
            [_Placed(p.slot, 0, i, Item(" ", pt.text)) for i, pt in enumerate(group.points)],
            (lambda t: t.text, lambda q: q.block.text),
        )
        for (task, q), point in zip(task_pairs, group.points, strict=True):
            values = {"milestone_id": row.id, "position": q.position, "text": point.text, "done": point.done}
            _upsert(session, MilestoneTask, task, values, report)
        _remove(session, gone_tasks, report, lambda t: f"milestone task '{t.text}'")
    session.flush()
    for milestone in gone:  # its tasks go with it (ON DELETE CASCADE): the log names each too
        tasks = session.exec(select(MilestoneTask).where(MilestoneTask.milestone_id == milestone.id)).all()
        report.removals.extend(_removal(t) for t in sorted(tasks, key=lambda t: t.position))
    _remove(session, gone, report, lambda r: f"milestone '{r.title}'")


def _import_blockers(session: Session, placed: list[_Placed], who: str, report: ImportReport) -> None:
    rows = session.exec(select(Blocker).order_by(Blocker.part, Blocker.position, Blocker.id)).all()
    pairs, gone = _pair(
        rows, placed, (lambda r: (r.status, r.title), lambda p: (p.slot.key, p.block.title)),
        (lambda r: r.title, lambda p: p.block.title),
    )
    for row, p in pairs:
        group: Group = p.block  # type: ignore[assignment]
        values: dict[str, Any] = {
            "status": p.slot.key,
            "number": group.number,
            "title": group.title,
            "points": _points(group.points),
            **_placement(p),
        }
        if row is not None and row.status != p.slot.key:
            report.changes.append(f"blocker '{row.title}' {'resolved' if p.slot.key == 'resolved' else 'reopened'}")
            if p.slot.key == "resolved":
                values.update(resolved_at=audit.now(), resolved_by=who)
            else:  # reopened by the document: its old resolution lives on in the audit log only
                values.update(resolved_at=None, resolved_by=None, resolution_note=None)
        if row is not None and any(getattr(row, k) != v for k, v in values.items()):
            values["version"] = row.version + 1
        _upsert(session, Blocker, row, values, report)
    _remove(session, gone, report, lambda r: f"blocker '{r.title}'")


def _import_next_steps(session: Session, placed: list[_Placed], report: ImportReport) -> None:
    rows = session.exec(select(NextStep).order_by(NextStep.part, NextStep.position, NextStep.id)).all()
    pairs, gone = _pair(rows, placed, (lambda r: (r.kind, r.title), lambda p: (p.slot.key, p.block.title)))
    for row, p in pairs:
        group: Group = p.block  # type: ignore[assignment]
        values = {
            "kind": p.slot.key,
            "number": group.number,
            "title": group.title,
            "points": _points(group.points),
            **_placement(p),
        }
        _upsert(session, NextStep, row, values, report)
    _remove(session, gone, report, lambda r: f"next step '{r.title}'")


# -- export -------------------------------------------------------------------


def export_document(session: Session, today: date | None = None) -> str:
    """The document as the store holds it, in the imported document's own layout."""
    return render(build_document(session, today))


def build_document(session: Session, today: date | None = None) -> Document:
    layout = session.exec(select(ProgressLayout).order_by(ProgressLayout.position)).all()
    if not layout:
        raise NotFound("no progress document has been imported yet (sawmill import FILE)")
    today = today or date.today()
    doc = Document()
    checklist_items: list[Item] = []
    for row in layout:
        if row.kind == "heading":
            doc.blocks.append(Heading(row.level or 2, row.text, row.gap))
        elif row.kind == "raw":
            doc.blocks.append(Raw(row.text, row.gap))
        elif row.kind == "slot":
            blocks = _slot_blocks(session, Slot(row.slot_kind or "", row.slot_key or ""), row.slot_part, today)
            doc.blocks.extend(blocks)
            if row.slot_kind == "checklist":
                checklist_items.extend(b for b in blocks if isinstance(b, Item))
        else:
            doc.trailing_gap = row.gap
            _read_ending(doc, row.text)
    if doc.odd_ends and doc.shape != _shape(doc):  # edited since the import: see _shape
        doc.odd_ends = frozenset()
    _add_missing_lines(session, doc, checklist_items)
    return doc


def _slot_blocks(session: Session, slot: Slot, part: int, today: date) -> list[Item | Group]:
    if slot.kind == "checklist":
        rows = _rows(session, CapabilityItem, CapabilityItem.checklist == slot.key, part)
        return [Item("x" if r.done else " ", r.text, _item_points(session, r, today), r.gap) for r in rows]
    if slot.kind == "backlog":
        rows = _rows(session, BacklogItem, BacklogItem.category == slot.key, part)
        return [Item(STATUS_MARK[r.status], r.title, _plain_points(r.points), r.gap) for r in rows]
    if slot.kind == "milestones":
        blocks = []
        for r in _rows(session, Milestone, Milestone.state == slot.key, part):
            tasks = session.exec(
                select(MilestoneTask).where(MilestoneTask.milestone_id == r.id).order_by(MilestoneTask.position)
            ).all()
            blocks.append(Group(r.number, r.title, [Point(t.text, t.done) for t in tasks], r.gap))
        return blocks
    model, column = (Blocker, Blocker.status) if slot.kind == "blockers" else (NextStep, NextStep.kind)
    rows = _rows(session, model, column == slot.key, part)
    return [Group(r.number, r.title, _plain_points(r.points), r.gap) for r in rows]


def _rows(session: Session, model: Any, where: Any, part: int) -> list[Any]:
    return list(session.exec(select(model).where(where, model.part == part).order_by(model.position, model.id)))


def _plain_points(points: list[dict]) -> list[Point]:
    return [Point(p["text"], p.get("done")) for p in points]


def _item_points(session: Session, item: CapabilityItem, today: date) -> list[Point]:
    points = []
    for p in item.points:
        if "entry" not in p:
            points.append(Point(p["text"], p.get("done")))
            continue
        entry = session.get(MigrationEntry, p["entry"])
        if entry is None:
            continue
        pin = PinMark(entry.pin_reason or "", entry.pin_until) if entry.pinned(today) else None
        points.append(Point(with_pin(entry.text, pin), entry.done))
    return points


def _add_missing_lines(session: Session, doc: Document, items: list[Item]) -> None:
    """Lines for scanned modules the document does not mention, after its last migration entry.
    The lines after them keep their own line ends (``Document.odd_ends`` counts lines)."""
    from app.progress.sections import missing_lines
    from app.store.progress_sync import missing_modules

    missing = missing_modules(session)
    target = _last_entry_item(session, items) if missing else None
    if target is None:
        return
    block, index = target
    statuses = {m.path: m.status for m in missing}
    new = [Point(text, all(statuses[p] == "migrated" for p in paths)) for text, paths in missing_lines(missing)]
    block.points[index:index] = new
    if doc.odd_ends:
        at = _first_line(doc, block) + 1 + index
        doc.odd_ends = frozenset(n + len(new) if n >= at else n for n in doc.odd_ends)


def _first_line(doc: Document, block: Item) -> int:
    """The index of ``block``'s first line in ``render(doc)``."""
    line = 0
    for each in doc.blocks:
        line += each.gap
        if each is block:
            break
        line += len(each.lines())
    return line


def _last_entry_item(session: Session, items: list[Item]) -> tuple[Item, int] | None:
    """The checklist item holding migration entries, and the index just after its last one."""
    names = {e.text for e in session.exec(select(MigrationEntry))}
    found = None
    for block in items:
        for i, point in enumerate(block.points):
            if point.done is not None and split_pin(point.text)[0] in names:
                found = (block, i + 1)
    return found
