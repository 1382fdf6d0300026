"""What an import accepts, and what the document page costs to render, are bounded.

A 2 MB line of `[` made each GET /document take 14 s (markdown-it-py's link
parsing); a 140k-item document made /backlog a 270 MB page. The render's work
is counted in Python function calls (deterministic, not timed).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from app.progress.document import MAX_ITEMS, MAX_LINE
from app.store.db import session_scope
from app.store.errors import Invalid
from app.store.progress_doc import export_document, import_document
from app.web.markdown import MAX_MARKUP, MAX_RENDER_LINES, render_markdown
from tests.progress.conftest import dump_store, run


def calls(fn: Callable[[], object]) -> int:
    """How many Python functions ``fn`` calls: a measure of its work that no machine's speed changes."""
    count = 0

    def profile(_frame, event, _arg) -> None:
        nonlocal count
        if event == "call":
            count += 1

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return count


def test_a_2_mb_line_of_brackets_renders_with_the_work_of_a_short_line() -> None:
    line = "[" * 2_000_000
    short = calls(lambda: render_markdown("# Notes\n\n" + "[" * 100 + "\n"))
    html = render_markdown("# Notes\n\n" + line + "\n")
    assert calls(lambda: render_markdown("# Notes\n\n" + line + "\n")) < 2 * short  # it was millions of calls
    assert f"<p>{line}</p>" in html  # shown as it is, escaped text


def test_render_work_grows_linearly_with_the_markup_in_it() -> None:
    """Past the markup budget, lines go in as text: twice the document, about twice the work."""
    doc = lambda n: "".join(f"- [ ] ![{'[' * 40}]({'*' * 40}) <x> & `y` {i}\n" for i in range(n))  # noqa: E731
    small, large = calls(lambda: render_markdown(doc(2_000))), calls(lambda: render_markdown(doc(4_000)))
    assert large < 2.2 * small
    html = render_markdown(doc(4_000))
    assert html.count('<li class="task-item">') == 4_000  # every line keeps its task box
    assert "&lt;x&gt; &amp;" in html and "<script" not in html


def test_markup_within_the_budget_is_rendered_as_markdown() -> None:
    html = render_markdown("## Notes\n\n- [x] **done** and `code`\n- [ ] a [link](https://example.org)\n")
    assert "<strong>done</strong>" in html and "<code>code</code>" in html
    assert '<a href="https://example.org">link</a>' in html
    past = render_markdown(("*a* " * 100 + "\n\n") * (MAX_MARKUP // 200) + "**late**\n")
    assert "**late**" in past  # beyond the budget: as written, escaped


def test_lines_past_the_render_limit_are_shown_as_text() -> None:
    html = render_markdown("# Top\n" + "plain line\n" * MAX_RENDER_LINES + "<b>tail</b>\n")
    assert html.startswith("<h1>Top</h1>")
    assert '<pre class="document-tail">' in html and "&lt;b&gt;tail&lt;/b&gt;" in html


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("# Notes\n\n" + "[" * 2_000_000 + "\n",
         f"line 3 is 2,000,000 characters long; the limit is {MAX_LINE:,}"),
        ("## Backlog Items\n\n### Big\n\n" + "- [ ] item\n" * 140_000,
         f"the document holds 140,000 items, numbered lines and sub-points; the limit is {MAX_ITEMS:,}"),
        ("## Next Steps\n\n### Immediate Actions\n\n1. One\n" + "   - point\n" * MAX_ITEMS,
         f"the document holds {MAX_ITEMS + 1:,} items, numbered lines and sub-points; the limit is {MAX_ITEMS:,}"),
    ],
    ids=["long line", "140k items", "sub-points count"],
)
def test_an_import_over_a_limit_is_refused_naming_it_and_changes_nothing(seeded: str, document: str, message: str):
    before = dump_store(seeded)
    with pytest.raises(Invalid) as refused:
        run(seeded, import_document, document, who="mallory")
    assert refused.value.message == message
    assert dump_store(seeded) == before


def test_a_document_at_the_limits_is_accepted(db_url: str) -> None:
    document = "# Notes\n\n" + "x" * MAX_LINE + "\n\n## Backlog Items\n\n### Big\n\n" + "- [ ] item\n" * (MAX_ITEMS - 1)
    run(db_url, import_document, document, who="alice")
    assert run(db_url, export_document) == document


def test_the_store_counts_the_items_as_the_import_does(seeded: str, seed: bytes) -> None:
    from app.progress.document import Group, Item, parse
    from app.store.progress_layout import document_items

    blocks = parse(seed).blocks
    assert run(seeded, document_items) == sum(1 + len(b.points) for b in blocks if isinstance(b, Item | Group))


def test_a_write_that_would_pass_the_items_an_import_takes_is_refused(db_url: str) -> None:
    from app.store.backlog import create_backlog_item
    from app.store.blockers import add_blocker, edit_blocker

    run(db_url, import_document, "## Backlog Items\n\n### Big\n\n" + "- [ ] item\n" * (MAX_ITEMS - 2), who="alice")
    blocker = run(db_url, add_blocker, "Almost full", "alice")  # the document holds MAX_ITEMS - 1 now
    before = dump_store(db_url)
    with pytest.raises(Invalid, match=f"holds {MAX_ITEMS - 1:,} items.*2 more would pass the {MAX_ITEMS:,}"):
        run(db_url, add_blocker, "One more", "alice", points=["with a point"])
    with pytest.raises(Invalid, match="2 more would pass"):
        run(db_url, edit_blocker, blocker.id, 1, "alice", points=["one", "two"])
    assert dump_store(db_url) == before
    run(db_url, create_backlog_item, "Big", "the last one", "alice")  # exactly at the limit
    with pytest.raises(Invalid, match="1 more would pass"):
        run(db_url, create_backlog_item, "Big", "one too many", "alice")
    with session_scope(db_url, "/another/repository") as session:  # another repository's document: its own count
        create_backlog_item(session, "Small", "its first item", "alice")
    exported = run(db_url, export_document)
    run(db_url, import_document, exported, who="bob")  # what the writes made imports again
    assert run(db_url, export_document) == exported
