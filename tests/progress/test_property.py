"""Property: for generated documents of Sawmill's grammar, export(import(doc)) == doc.

The generator mixes the known sections (in any order, repeated, empty), unknown
headings, raw paragraphs (plain bullets, tables, quotes), checklists with migration
entries and pins, numbered groups, blank lines, Windows or mixed line ends and a
missing final newline; or gives the seed's shape, every section in order, with unknown
text between them. The store tests also count the typed rows, so a document kept
whole as raw text would fail them.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text as sql
from sqlmodel import Session

from app.progress.document import parse, render
from app.progress.sections import classify, entry_modules
from app.store.db import migrate, session_scope
from app.store.progress_doc import export_document, import_document

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789-,.&`/:", min_size=0, max_size=24)
TITLE = st.one_of(WORDS, st.sampled_from(["Testing Framework", "Storage Solutions", "Module Organization"]))
ENTRY = st.sampled_from([
    "networking-core/extra modules", "storage-core module", "media app modules", "coder app module",
    "harbor app module (pinned: retiring)", "wiki app module (pinned until 2999-12-31: kept)", "dns-core/extra modules",
])  # fmt: skip
H2 = st.sampled_from([
    "Current Status", "Backlog Items", "Milestones", "Blockers & Challenges", "Next Steps", "Notes", "current status",
])  # fmt: skip
H3 = st.one_of(
    st.sampled_from(["Current Focus", "Completed", "Current Blockers", "Resolved Challenges", "Immediate Actions",
                     "Future Plans", "Infrastructure Evolution", "Testing Framework (High Priority)"]),
    WORDS.filter(lambda w: w.strip() == w and w),
)  # fmt: skip
GAP = st.integers(min_value=0, max_value=2)


@st.composite
def point(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["bullet", "box", "entry"]))
    if kind == "bullet":
        return draw(WORDS.filter(lambda w: not w.startswith("["))).join(["- ", ""])
    text = draw(ENTRY) if kind == "entry" else draw(WORDS)
    return f"- [{draw(st.sampled_from([' ', 'x']))}] {text}"


@st.composite
def block(draw: st.DrawFn) -> list[str]:
    kind = draw(st.sampled_from(["h2", "h3", "h1", "item", "group", "raw"]))
    if kind == "h1":
        return [f"# {draw(WORDS)}"]
    if kind == "h2":
        return [f"## {draw(H2)}"]
    if kind == "h3":
        return [f"### {draw(H3)}"]
    points = draw(st.lists(point(), max_size=4))
    if kind == "item":
        mark = draw(st.sampled_from([" ", "x", "~"]))
        return [f"- [{mark}] {draw(TITLE)}", *(f"  {p}" for p in points)]
    if kind == "group":
        number = draw(st.integers(min_value=1, max_value=12))
        indent = " " * (len(str(number)) + 2)
        return [f"{number}. {draw(TITLE)}", *(f"{indent}{p}" for p in points)]
    first = draw(st.from_regex(r"([A-Za-z>|*]|- |[0-9]{1,2}\) )[A-Za-z0-9 .,|*-]{0,20}", fullmatch=True))
    more = draw(st.lists(st.from_regex(r"(  )?[A-Za-z|-][A-Za-z0-9 .,|-]{0,20}", fullmatch=True), max_size=2))
    return [first, *more]


SUBSECTIONS = {
    "Current Status": ["Testing Framework (High Priority)", "Infrastructure Modules", "Application Modules"],
    "Backlog Items": ["Infrastructure Evolution", "Testing Improvements", "Ideas"],
    "Milestones": ["Current Focus", "Completed", "Someday"],
    "Blockers & Challenges": ["Current Blockers", "Resolved Challenges"],
    "Next Steps": ["Immediate Actions", "Future Plans"],
    "Notes": ["Anything"],
    "current status": ["Lower Case"],
}
GROUPED = {"Milestones", "Blockers & Challenges", "Next Steps"}


def gapped(draw: st.DrawFn, blocks: list[list[str]]) -> list[str]:
    lines: list[str] = []
    for lines_of_block in blocks:
        lines.extend([""] * draw(GAP))
        lines.extend(lines_of_block)
    return lines


@st.composite
def item(draw: st.DrawFn) -> list[str]:
    points = draw(st.lists(point(), max_size=4))
    return [f"- [{draw(st.sampled_from([' ', 'x', '~']))}] {draw(TITLE)}", *(f"  {p}" for p in points)]


@st.composite
def group(draw: st.DrawFn, number: int) -> list[str]:
    points = draw(st.lists(point(), max_size=4))
    indent = " " * (len(str(number)) + 2)
    return [f"{number}. {draw(TITLE)}", *(f"{indent}{p}" for p in points)]


@st.composite
def section(draw: st.DrawFn) -> list[list[str]]:
    h2 = draw(H2)
    blocks = [[f"## {h2}"]]
    for h3 in draw(st.lists(st.sampled_from(SUBSECTIONS[h2]), max_size=3)):
        blocks.append([f"### {h3}"])
        count = draw(st.integers(min_value=0, max_value=4))
        for n in range(1, count + 1):
            if draw(st.integers(0, 9)) == 0:
                blocks.append(draw(block()))  # something unexpected in the middle of a section
            blocks.append(draw(group(n)) if h2 in GROUPED else draw(item()))
    return blocks


KIND_OF = {"Current Status": "capability_item", "Backlog Items": "backlog_item", "Milestones": "milestone",
           "Blockers & Challenges": "blocker", "Next Steps": "next_step"}  # fmt: skip


@st.composite
def counted_seedlike(draw: st.DrawFn) -> tuple[list[list[str]], dict[str, int]]:
    """The seed's shape: a title, then every known section in order, each with one to three
    sub-sections of items or groups, now and then unknown text between them; and how many
    rows of each table the store must hold for it, known from how it was built."""
    blocks: list[list[str]] = [[f"# {draw(WORDS)}"]]
    counts = dict.fromkeys(TABLES.values(), 0)
    for h2, subs in list(SUBSECTIONS.items())[:5]:
        blocks.append([f"## {h2}"])
        for h3 in draw(st.lists(st.sampled_from(subs[:2]), min_size=1, max_size=3)):
            blocks.append([f"### {h3}"])
            for n in range(1, draw(st.integers(min_value=1, max_value=4)) + 1):
                blocks.append(draw(group(n)) if h2 in GROUPED else draw(item()))
                _count(blocks[-1], h2, counts)
        if draw(st.integers(0, 3)) == 0:
            blocks.append(draw(block()))  # after the section's last item: it joins that run if it fits
            _count(blocks[-1], h2, counts)
    return blocks, counts


def _count(lines: list[str], h2: str, counts: dict[str, int]) -> None:
    is_item, is_group = lines[0].startswith("- ["), bool(re.match(r"[0-9]+\. ", lines[0]))
    if not (is_group if h2 in GROUPED else is_item) or (h2 == "Current Status" and lines[0][3] == "~"):
        return  # a heading, raw text, or a block of the wrong shape for the section: kept as raw text
    counts[KIND_OF[h2]] += 1
    points = [line.strip() for line in lines[1:]]
    if h2 == "Milestones":
        counts["milestone_task"] += len(points)
    if h2 == "Current Status":
        counts["migration_entry"] += sum(1 for p in points if p[:3] == "- [" and entry_modules(p[6:]))


def seedlike() -> st.SearchStrategy[list[list[str]]]:
    return counted_seedlike().map(lambda built: built[0])


@st.composite
def document(draw: st.DrawFn) -> str:
    blocks: list[list[str]] = [draw(block())] if draw(st.booleans()) else []
    mixed = st.lists(st.one_of(section(), block().map(lambda b: [b])), min_size=1, max_size=6)
    for part in draw(st.one_of(mixed, seedlike().map(lambda b: [b]))):
        blocks.extend(part)
    lines = gapped(draw, blocks)
    lines.extend([""] * draw(GAP))
    text = "\n".join(lines) + draw(st.sampled_from(["\n", ""]))
    text = text if text.strip() else "# x\n"
    ends = draw(st.integers(0, 7))
    if ends == 0:  # now and then a Windows file
        return text.replace("\n", "\r\n")
    if ends == 1:  # or one edited on both systems: each line its own end
        lines = text.split("\n")
        windows = draw(st.lists(st.booleans(), min_size=len(lines) - 1, max_size=len(lines) - 1))
        return "".join(line + ("\r\n" if crlf else "\n") for line, crlf in zip(lines, windows)) + lines[-1]
    return text


@given(document())
@settings(max_examples=200, deadline=None)
def test_render_parse_is_the_identity(text: str) -> None:
    assert render(parse(text)) == text


def typed_counts(text: str) -> dict[str, int]:
    """What the store must hold for ``text``, from the pure parser: proof the data is typed, not kept as raw text."""
    doc = parse(text)
    counts = dict.fromkeys(TABLES.values(), 0)
    for block, slot in zip(doc.blocks, classify(doc), strict=True):
        if slot is None:
            continue
        counts[TABLES[slot.kind]] += 1
        if slot.kind == "checklist":
            counts["migration_entry"] += sum(1 for p in block.points if p.done is not None and entry_modules(p.text))
        if slot.kind == "milestones":
            counts["milestone_task"] += len(block.points)
    return counts


def stored(session: Session) -> dict[str, list[int]]:
    return {t: list(session.exec(sql(f"SELECT id FROM {t} ORDER BY id")).scalars()) for t in set(TABLES.values())}


TABLES = {
    "checklist": "capability_item", "backlog": "backlog_item", "milestones": "milestone", "blockers": "blocker",
    "next_steps": "next_step", "migration_entry": "migration_entry", "milestone_task": "milestone_task",
}  # fmt: skip


def fresh_store(factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{factory.mktemp('prop') / 'p.db'}"
    migrate(url)
    return url


@given(first=document(), second=document())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_export_import_is_the_identity_and_reimport_updates_in_place(tmp_path_factory, first: str, second: str) -> None:
    url = fresh_store(tmp_path_factory)
    with session_scope(url) as session:
        import_document(session, first, who="prop")
    with session_scope(url) as session:
        assert export_document(session) == first
        assert {t: len(ids) for t, ids in stored(session).items()} == typed_counts(first)
        import_document(session, second, who="prop")
    with session_scope(url) as session:
        assert export_document(session) == second
        assert {t: len(ids) for t, ids in stored(session).items()} == typed_counts(second)


@given(doc=document(), flips=st.lists(st.booleans(), min_size=1))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_reimporting_an_edited_document_keeps_every_row(tmp_path_factory, doc: str, flips: list[bool]) -> None:
    """Ticking and unticking boxes anywhere is an edit in place: the same rows, with the new ticks."""
    marks = iter(flips * (doc.count("[") + 1))
    edited = re.sub(r"^( *)- \[([ x])\]", lambda m: f"{m[1]}- [{'x' if m[2] == ' ' else ' '}]" if next(marks)
                    else m[0], doc, flags=re.MULTILINE)  # fmt: skip
    url = fresh_store(tmp_path_factory)
    with session_scope(url) as session:
        import_document(session, doc, who="prop")
        rows = stored(session)
    with session_scope(url) as session:
        import_document(session, edited, who="prop")
    with session_scope(url) as session:
        assert export_document(session) == edited
        assert stored(session) == rows


@given(built=counted_seedlike())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_seed_shaped_document_fills_every_table_as_it_was_built(tmp_path_factory, built) -> None:
    blocks, counts = built
    doc = "\n\n".join("\n".join(lines) for lines in blocks) + "\n"
    url = fresh_store(tmp_path_factory)
    with session_scope(url) as session:
        import_document(session, doc, who="prop")
    with session_scope(url) as session:
        assert {t: len(ids) for t, ids in stored(session).items()} == counts
        assert export_document(session) == doc
