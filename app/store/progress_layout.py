"""Where rows the store creates or moves go in the document, in the document's own style.

A row added through the web or the API lands at the end of its section (a
section that is missing is added under its ``##`` heading, or at the end of
the document); blank lines stay where the document had them; numbered groups
are numbered again 1..n.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal
from sqlmodel import Session, select

from app.progress.document import MAX_ITEMS
from app.progress.sections import DEFAULT_HEADINGS, ITEM_KINDS, SECTION_HEADINGS, SECTIONS, SUBSECTIONS
from app.store.errors import Invalid
from app.store.scope import repository_of
from app.store.progress import (
    BacklogItem, Blocker, CapabilityItem, MigrationEntry, Milestone, MilestoneTask, NextStep, ProgressLayout,
)  # fmt: skip


def ensure_slot(session: Session, kind: str, key: str) -> int:
    """The part (run) of section (kind, key) that new rows join, creating the section if needed."""
    layout = list(session.exec(select(ProgressLayout).order_by(ProgressLayout.position)))
    parts = [r.slot_part for r in layout if r.kind == "slot" and (r.slot_kind, r.slot_key) == (kind, key)]
    if parts:
        return max(parts)
    if not layout:
        layout = [ProgressLayout(position=1, kind="end", text="\n")]
        session.add(layout[0])
    slot = ProgressLayout(position=0, kind="slot", slot_kind=kind, slot_key=key, slot_part=0)
    start, end = _section_bounds(layout, kind)
    if start is None:
        title = DEFAULT_HEADINGS.get((kind, key), key)
        rows = [_heading(2, SECTION_HEADINGS[kind], layout), _heading(3, title, layout, gap=1), slot]
        _insert(session, layout, len(layout) - 1, rows)
        return 0
    for index in range(start + 1, end):
        row = layout[index]
        if row.kind == "heading" and row.level == 3 and _sub_key(kind, row.text) == key:
            _insert(session, layout, index + 1, [slot])
            return 0
    title = DEFAULT_HEADINGS.get((kind, key), key)
    _insert(session, layout, end, [_heading(3, title, layout, gap=1), slot])
    return 0


def _sub_key(kind: str, text: str) -> str | None:
    if kind in ITEM_KINDS:
        return text
    return SUBSECTIONS[kind].get(text.strip().lower())


def _section_bounds(layout: list[ProgressLayout], kind: str) -> tuple[int | None, int]:
    """Index of the section's `##` heading (None if absent) and of the row that ends the section."""
    start = None
    for index, row in enumerate(layout):
        is_top = row.kind == "heading" and (row.level or 0) <= 2
        if start is not None and (is_top or row.kind == "end"):
            return start, index
        if is_top and row.level == 2 and SECTIONS.get(row.text.strip().lower()) == kind:
            start = index
    return start, len(layout) - 1


def _heading(level: int, text: str, layout: list[ProgressLayout], gap: int = 1) -> ProgressLayout:
    has_blocks = any(r.kind != "end" for r in layout)
    return ProgressLayout(position=0, kind="heading", level=level, text=text, gap=gap if has_blocks else 0)


def _insert(session: Session, layout: list[ProgressLayout], index: int, rows: list[ProgressLayout]) -> None:
    layout[index:index] = rows
    for position, row in enumerate(layout, start=1):
        row.position = position
        session.add(row)
    session.flush()


def next_gap(rows: list[Any], groups: bool) -> int:
    """Blank lines before a row appended after ``rows``: as the section already spaces them."""
    if not rows:
        return 1
    if len(rows) >= 2:
        return rows[-1].gap
    return 1 if groups else 0


def restack(session: Session, rows: list[Any], gaps: list[int], numbered: bool) -> None:
    """Give ``rows`` (in their new order) positions 0..n, the section's blank lines, and numbers.

    ``gaps`` is the section's blank-line pattern by index, kept where the document had it.
    Numbers restart in each run (part), as markdown numbered lists do.
    """
    counters: dict[int, int] = {}
    for index, row in enumerate(rows):
        row.position = index
        row.gap = gaps[index] if index < len(gaps) else next_gap(rows[:index], numbered)
        if numbered:
            counters[row.part] = counters.get(row.part, 0) + 1
            row.number = counters[row.part]
        session.add(row)
    session.flush()


def gaps_without(rows: list[Any], index: int) -> list[int]:
    """The blank-line pattern once row ``index`` leaves: the first row keeps the heading's gap."""
    gaps = [r.gap for r in rows]
    gaps.pop(1 if index == 0 and len(gaps) > 1 else index)
    return gaps


def check_room(session: Session, adding: int) -> None:
    """Refuse a write that would give the document more items than an import takes: what the
    web adds must export into a document that ``sawmill import`` takes again."""
    held = document_items(session)
    if held + adding > MAX_ITEMS:
        raise Invalid(f"the progress document holds {held:,} items, numbered lines and sub-points; "
                      f"{adding:,} more would pass the {MAX_ITEMS:,} an import takes")  # fmt: skip


def document_items(session: Session) -> int:
    """The items, numbered lines and sub-points the export of the session's repository writes,
    as the import counts them."""
    # by hand: the scoping hook (app.store.scope) sees no table in a select of count() alone.
    # One statement: each table's count, and its points, a subquery of it.
    key = repository_of(session)
    rows = [select(func.count()).select_from(m).where(m.repository == key).scalar_subquery()
            for m in (CapabilityItem, BacklogItem, Milestone, MilestoneTask, Blocker, NextStep)]  # fmt: skip
    points = [select(func.coalesce(func.sum(func.json_array_length(m.points)), 0)).where(m.repository == key).scalar_subquery()
              for m in (CapabilityItem, BacklogItem, Blocker, NextStep)]  # fmt: skip
    return session.exec(select(sum(rows + points, start=literal(0)))).one() + _lines_export_adds(session)


def _lines_export_adds(session: Session) -> int:
    """The lines export writes for scanned modules the document names nowhere (after its last
    migration entry: none when it has no entry)."""
    from app.progress.sections import missing_lines
    from app.store.progress_sync import missing_modules

    if session.exec(select(MigrationEntry.id).limit(1)).first() is None:
        return 0
    return len(missing_lines(missing_modules(session)))
