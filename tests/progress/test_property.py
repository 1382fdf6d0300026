"""Property: for generated documents of Sawmill's grammar, export(import(doc)) == doc.

The generator mixes the known sections (in any order, repeated, empty), unknown
headings, raw paragraphs, checklists with migration entries and pins, numbered
groups, blank lines and a missing final newline.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.progress.document import parse, render
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
    first = draw(st.from_regex(r"[A-Za-z>|*][A-Za-z0-9 .,|*-]{0,20}", fullmatch=True))
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


@st.composite
def document(draw: st.DrawFn) -> str:
    blocks: list[list[str]] = [draw(block())] if draw(st.booleans()) else []
    for part in draw(st.lists(st.one_of(section(), block().map(lambda b: [b])), min_size=1, max_size=6)):
        blocks.extend(part)
    lines = gapped(draw, blocks)
    lines.extend([""] * draw(GAP))
    text = "\n".join(lines) + draw(st.sampled_from(["\n", ""]))
    text = text if text.strip() else "# x\n"
    return text.replace("\n", "\r\n") if draw(st.integers(0, 7)) == 0 else text  # now and then a Windows file


@given(document())
@settings(max_examples=200, deadline=None)
def test_render_parse_is_the_identity(text: str) -> None:
    assert render(parse(text)) == text


@given(first=document(), second=document())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_export_import_is_the_identity_and_reimport_updates_in_place(tmp_path_factory, first: str, second: str) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('prop') / 'p.db'}"
    migrate(url)
    with session_scope(url) as session:
        import_document(session, first, who="prop")
    with session_scope(url) as session:
        assert export_document(session) == first
        import_document(session, second, who="prop")
    with session_scope(url) as session:
        assert export_document(session) == second
