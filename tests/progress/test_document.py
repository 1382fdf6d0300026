"""The pure parser and renderer: blocks, round trips, and bad input naming its line."""

from __future__ import annotations

import pytest

from app.progress.document import MAX_BYTES, Group, Heading, Item, Point, Raw, parse, render
from app.progress.sections import Slot, classify, entry_modules, missing_lines, split_pin, with_pin, ScannedName, PinMark
from app.store.errors import Invalid


def test_the_seed_renders_back_byte_for_byte(seed: bytes) -> None:
    assert render(parse(seed)).encode() == seed


def test_blocks_keep_their_blank_lines_and_sub_points() -> None:
    doc = parse("# T\n\n## Milestones\n\n### Completed\n\n1. A\n   - [x] a1\n\n2. B\n   - b1\n")
    assert doc.blocks == [
        Heading(1, "T"),
        Heading(2, "Milestones", gap=1),
        Heading(3, "Completed", gap=1),
        Group(1, "A", [Point("a1", True)], gap=1),
        Group(2, "B", [Point("b1", None)], gap=1),
    ]
    assert classify(doc)[3:] == [Slot("milestones", "completed")] * 2


def test_text_outside_the_grammar_is_kept_as_raw() -> None:
    text = "intro line\n  - odd child of a paragraph\n\n## Notes\n\n- [ ] not in a known section\n\n```\ncode\n```\n"
    doc = parse(text)
    assert doc.blocks[0] == Raw("intro line\n  - odd child of a paragraph")
    assert classify(doc) == [None] * len(doc.blocks)
    assert render(doc) == text


def test_no_final_newline_and_trailing_blank_lines_survive() -> None:
    for text in ("# A", "# A\n\n\n", "\n\n# A\n- [x] b", "# A  \n   \n- [ ] x\n"):
        assert render(parse(text)) == text


def test_in_progress_mark_is_a_backlog_item_but_raw_in_a_checklist() -> None:
    doc = parse("## Backlog Items\n### Ideas\n- [~] Cillium\n## Current Status\n### Infra\n- [~] odd\n")
    assert classify(doc) == [None, None, Slot("backlog", "Ideas"), None, None, None]
    assert doc.blocks[2] == Item("~", "Cillium")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("networking-core/extra modules",
         ["infrastructure/subsystems/networking-core", "infrastructure/subsystems/networking-extra"]),
        ("storage-core module", ["infrastructure/subsystems/storage-core"]),
        ("media app modules", ["apps/subsystems/media"]),
        ("coder app module", ["apps/subsystems/coder"]),
        ("harbor app module (pinned until 2027-01-01: retiring)", ["apps/subsystems/harbor"]),
        ("Migration of remaining modules", []),
        ("Successfully migrated kubernetes-core/extra modules tests", []),
    ],
)  # fmt: skip
def test_entry_lines_name_their_modules(text: str, expected: list[str]) -> None:
    assert entry_modules(text) == expected


def test_pin_suffix_round_trips() -> None:
    from datetime import date

    pin = PinMark("being retired", date(2027, 1, 31))
    text = with_pin("harbor app module", pin)
    assert text == "harbor app module (pinned until 2027-01-31: being retired)"
    assert split_pin(text) == ("harbor app module", pin)
    assert split_pin("x module (pinned: y)") == ("x module", PinMark("y"))


def test_missing_modules_are_written_in_the_documents_style() -> None:
    infra = "infrastructure/subsystems"
    lines = missing_lines([
        ScannedName(f"{infra}/dns-core", "dns-core", "infrastructure", "dns"),
        ScannedName(f"{infra}/dns-extra", "dns-extra", "infrastructure", "dns"),
        ScannedName(f"{infra}/backup-core", "backup-core", "infrastructure", "backup"),
        ScannedName("apps/subsystems/wiki", "wiki", "apps", None),
    ])  # fmt: skip
    assert lines == [
        ("backup-core module", [f"{infra}/backup-core"]),
        ("dns-core/extra modules", [f"{infra}/dns-core", f"{infra}/dns-extra"]),
        ("wiki app module", ["apps/subsystems/wiki"]),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \n\n\t\n", "empty"),
        (b"# ok\n\xff\xfe bad\n", "line 2: not UTF-8"),
        (b"# x\n\x00\x01\x02binary", "binary"),
        (b"#" * (MAX_BYTES + 1), "limit is 5,242,880"),
        (b"# T\n- [ ] item\n   - three spaces\n", "line 3: a sub-point indented 3 spaces"),
        (b"# T\n1. Group\n  - two spaces\n", "line 3: a sub-point indented 2 spaces; sub-points of the line above are '- ' lines indented exactly 3"),
        (b"# T\n- [ ] item\n\t- tab\n", "line 3: a sub-point indented with a tab"),
        (b"# T\n- [ ] item\n  continuation\n", "line 3: text indented 2 spaces"),
        (b"# T\n- [ ] item\n\n  - orphan\n", "line 4: a sub-point indented 2 spaces with no item"),
        (b"### Heading\n  - [ ] orphan\n", "line 2"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(Invalid, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        parse(data)
    assert caught.value.field == "file"
    assert "\n" not in caught.value.message


def test_every_missing_line_reads_back_as_the_modules_it_was_written_for() -> None:
    """Else each export -> import round would add the same module again."""
    infra = "infrastructure/subsystems"
    modules = [
        ScannedName(f"{infra}/DNS-core", "DNS-core", "infrastructure", "DNS"),
        ScannedName(f"{infra}/DNS-extra", "DNS-extra", "infrastructure", "DNS"),
        ScannedName(f"{infra}/_internal", "_internal", "infrastructure", None),
        ScannedName("apps/subsystems/Wiki.js", "Wiki.js", "apps", None),
    ]
    for text, paths in missing_lines(modules):
        assert entry_modules(text) == paths, text
