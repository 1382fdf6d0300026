"""The progress document as blocks: parse markdown into typed blocks and render them back.

``render(parse(text)) == text`` for every text ``parse`` accepts: each block
remembers the blank lines before it, and anything the grammar does not know
is kept as a ``Raw`` block, verbatim. The grammar is described in
docs/progress.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.store.errors import Invalid

MAX_BYTES = 5 * 1024 * 1024
# Beyond these a document is refused: every page, export and re-import is bounded by them.
MAX_LINE = 10_000  # characters in one line
MAX_ITEMS = 10_000  # checklist items, numbered lines and their sub-points, together

HEADING = re.compile(r"(#{1,6}) (.*)")
ITEM = re.compile(r"- \[([ x~])\] (.*)")
GROUP = re.compile(r"(0|[1-9][0-9]{0,8})\. (.*)")
POINT = re.compile(r"- (?:\[([ x])\] )?(.*)")
INDENTED_LIST = re.compile(r"([ \t]+)- ")


@dataclass
class Point:
    """A sub-point under an item or a numbered group."""

    text: str
    done: bool | None = None  # None: a plain "- text" bullet, no checkbox

    def line(self, indent: int) -> str:
        box = "" if self.done is None else ("[x] " if self.done else "[ ] ")
        return f"{' ' * indent}- {box}{self.text}"


@dataclass
class Heading:
    level: int
    text: str
    gap: int = 0  # blank lines before the block
    line: int = field(default=0, compare=False)  # 1-based source line; 0 when built in code

    def lines(self) -> list[str]:
        return [f"{'#' * self.level} {self.text}"]


@dataclass
class Raw:
    """Text the grammar does not know: written back exactly as it came."""

    text: str
    gap: int = 0
    line: int = field(default=0, compare=False)

    def lines(self) -> list[str]:
        return self.text.split("\n")


@dataclass
class Item:
    """A top-level checklist line ``- [x] text`` with its sub-points (indented two spaces)."""

    mark: str  # " " (open), "x" (done) or "~" (in progress: backlog only)
    text: str
    points: list[Point] = field(default_factory=list)
    gap: int = 0
    line: int = field(default=0, compare=False)

    def lines(self) -> list[str]:
        return [f"- [{self.mark}] {self.text}", *(p.line(2) for p in self.points)]


@dataclass
class Group:
    """A numbered line ``1. Title`` with its sub-points (indented under the title)."""

    number: int
    title: str
    points: list[Point] = field(default_factory=list)
    gap: int = 0
    line: int = field(default=0, compare=False)

    def lines(self) -> list[str]:
        indent = len(str(self.number)) + 2
        return [f"{self.number}. {self.title}", *(p.line(indent) for p in self.points)]


Block = Heading | Raw | Item | Group


@dataclass
class Document:
    blocks: list[Block] = field(default_factory=list)
    trailing_gap: int = 0  # blank lines after the last block
    final_newline: bool = True
    eol: str = "\n"  # "\r\n" for a document saved with Windows line ends, throughout or mostly
    # A document edited on two systems mixes line ends: the lines (0-based, as ``render`` writes
    # them) that end with the other one than ``eol``. A line's end is not part of its text.
    odd_ends: frozenset[int] = frozenset()
    shape: str = ""  # of the imported lines, where odd_ends are kept (app.store.progress_doc._shape)

    def end_of(self, index: int) -> str:
        """The line end written after line ``index``."""
        if index in self.odd_ends:
            return "\n" if self.eol == "\r\n" else "\r\n"
        return self.eol


def decode(data: bytes | str) -> str:
    """The document's text, or Invalid for input no person meant as a progress document."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > MAX_BYTES:  # readers stop at the limit and one byte more: the size itself is not known
        raise Invalid(f"the document is over {MAX_BYTES >> 20} MiB; the limit is {MAX_BYTES:,} bytes", field="file")
    if b"\x00" in data:
        raise Invalid("the file is binary (it holds NUL bytes), not a markdown document", field="file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Invalid(f"line {line}: not UTF-8 (byte {exc.start}); save the document as UTF-8", field="file") from None
    if not text.strip():
        raise Invalid("the document is empty", field="file")
    return text


def parse(data: bytes | str) -> Document:
    """Split a progress document into blocks. Raises Invalid naming the line for bad input."""
    text = decode(data)
    lines = text.split("\n")
    final_newline = lines[-1] == ""
    if final_newline:
        lines.pop()
    eol, odd_ends = _line_ends(lines, ended=len(lines) if final_newline else len(lines) - 1)
    _check_lines(lines)
    doc = Document(final_newline=final_newline, eol=eol, odd_ends=odd_ends)
    i, gap = 0, 0
    while i < len(lines):
        line = lines[i]
        if line == "":
            gap, i = gap + 1, i + 1
            continue
        block, i = _block(lines, i)
        block.gap, gap = gap, 0
        doc.blocks.append(block)
    doc.trailing_gap = gap
    _check_items(doc)
    return doc


def _line_ends(lines: list[str], ended: int) -> tuple[str, frozenset[int]]:
    """Take each line's own end off it (in place): ``\r\n`` wherever it is, not only in a
    document that has it throughout. The first ``ended`` lines have one (the last may not).
    Returns the most common end and the lines that end with the other."""
    crlf = []
    for index in range(ended):
        if lines[index].endswith("\r"):
            lines[index] = lines[index][:-1]
            crlf.append(index)
    if not crlf:
        return "\n", frozenset()
    if 2 * len(crlf) > ended:
        return "\r\n", frozenset(range(ended)) - frozenset(crlf)
    return "\n", frozenset(crlf)


def _check_lines(lines: list[str]) -> None:
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE:
            raise Invalid(f"line {number} is {len(line):,} characters long; the limit is {MAX_LINE:,}", field="file")


def _check_items(doc: Document) -> None:
    count = sum(1 + len(b.points) for b in doc.blocks if isinstance(b, Item | Group))
    if count > MAX_ITEMS:
        raise Invalid(
            f"the document holds {count:,} items, numbered lines and sub-points; the limit is {MAX_ITEMS:,}",
            field="file",
        )


def lines_of(doc: Document) -> list[str]:
    """The document's lines as ``render`` writes them, without their ends."""
    out: list[str] = []
    for block in doc.blocks:
        out.extend([""] * block.gap)
        out.extend(block.lines())
    out.extend([""] * doc.trailing_gap)
    return out


def render(doc: Document) -> str:
    out = lines_of(doc)
    if not doc.odd_ends:
        return doc.eol.join(out) + (doc.eol if doc.final_newline else "")
    last = len(out) - 1
    return "".join(line + (doc.end_of(i) if i < last or doc.final_newline else "") for i, line in enumerate(out))


def _block(lines: list[str], i: int) -> tuple[Block, int]:
    line, number = lines[i], i + 1
    if m := HEADING.fullmatch(line):
        return Heading(len(m[1]), m[2], line=number), i + 1
    if m := ITEM.fullmatch(line):
        points, end = _points(lines, i + 1, 2)
        return Item(m[1], m[2], points, line=number), end
    if m := GROUP.fullmatch(line):
        points, end = _points(lines, i + 1, len(m[1]) + 2)
        return Group(int(m[1]), m[2], points, line=number), end
    if m := INDENTED_LIST.match(line):
        raise Invalid(
            f"line {number}: a sub-point indented {_describe(m[1])} with no item or numbered line "
            "right above it (a blank line ends an item)",
            field="file",
        )
    end = i + 1
    while end < len(lines) and lines[end] != "" and not _starts_block(lines[end]):
        end += 1
    return Raw("\n".join(lines[i:end]), line=number), end


def _starts_block(line: str) -> bool:
    return bool(HEADING.fullmatch(line) or ITEM.fullmatch(line) or GROUP.fullmatch(line))


def _points(lines: list[str], i: int, indent: int) -> tuple[list[Point], int]:
    points: list[Point] = []
    while i < len(lines) and lines[i][:1] in (" ", "\t"):
        line = lines[i]
        stripped = line.lstrip(" \t")
        lead = line[: len(line) - len(stripped)]
        if not stripped:  # a whitespace-only line ends the item; it is kept as raw text
            break
        if lead != " " * indent or not (m := POINT.fullmatch(stripped)):
            what = "a sub-point" if stripped.startswith("- ") else "text"
            raise Invalid(
                f"line {i + 1}: {what} indented {_describe(lead)}; sub-points of the line above "
                f"are '- ' lines indented exactly {indent} spaces",
                field="file",
            )
        points.append(Point(m[2], None if m[1] is None else m[1] == "x"))
        i += 1
    return points, i


def _describe(lead: str) -> str:
    if "\t" in lead:
        return "with a tab"
    return f"{len(lead)} space" + ("" if len(lead) == 1 else "s")
