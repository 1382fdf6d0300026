"""The scanner's one way to read YAML: refuse alias bombs before anything walks them.

YAML aliases share nodes: ten lines of ``b: &b [*a, *a, ...]`` compose into a
hundred nodes that stand for 9**10 values once the loaded data is walked (or
turned into text), and ``&a [*a]`` is a list inside itself. Every document is
therefore composed first, its expansion counted over the node graph (each
node once, so the count is linear in the document), and refused past a budget
before a single value is constructed. ``app.scanner.parse``, the config and
the workflow inputs that carry YAML inside a string all read through here; a
test keeps any other reader out of the scanner.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

try:  # libyaml is about 10x faster; the pure-Python loader is the fallback
    from yaml import CSafeLoader as Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as Loader  # type: ignore[assignment]

MIN_BUDGET = 10_000  # nodes after expansion a file may always reach
GROWTH = 100  # ... or this many times its size as written, where an alias counts as one node
# ... but never more than this. No alias-free file under the 1 MiB read cap holds as
# many nodes, so only what aliases add can reach it; walking it takes well under a second.
CEILING = 1_000_000
_SATURATED = CEILING * GROWTH  # counts stop growing here: 2**200 need not be a 200-bit number


class AliasBomb(yaml.YAMLError):
    """A file whose aliases expand past the budget, or hold themselves."""


def load_all(text: str | bytes) -> list[Any]:
    """Every document in ``text`` (empty ones left out); raises YAMLError, AliasBomb included."""
    loader = Loader(text)
    budget = _Budget()
    try:
        docs = []
        while loader.check_node():
            node = loader.get_node()
            budget.check(node, text)
            doc = loader.construct_document(node)
            if doc is not None:
                docs.append(doc)
        return docs
    finally:
        loader.dispose()


def load(text: str | bytes) -> Any:
    """The one document in ``text`` (None when empty), as ``yaml.safe_load`` reads it."""
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _Budget().check(node, text)
        return loader.construct_document(node)
    finally:
        loader.dispose()


class _Budget:
    """What the documents of one file add up to: as written, and expanded."""

    def __init__(self) -> None:
        self.written = 0
        self.expanded = 0

    def check(self, node: yaml.Node, text: str | bytes) -> None:
        anchor, alias = ("&", "*") if isinstance(text, str) else (b"&", b"*")
        if anchor not in text or alias not in text:  # nothing shared: the graph is a tree
            return
        written, expanded = _measure(node)
        self.written += written
        self.expanded = min(self.expanded + expanded, _SATURATED)
        budget = min(CEILING, max(MIN_BUDGET, GROWTH * self.written))
        if self.expanded > max(budget, self.written):
            raise AliasBomb(f"YAML aliases expand to over {budget:,} nodes")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _measure(root: yaml.Node) -> tuple[int, int]:
    """The document's size as written (each node once, each alias one more) and expanded
    (each alias as many nodes as it stands for), in one pass over the distinct nodes."""
    size: dict[int, int | None] = {}  # id(node) -> expanded size; None while its children are counted
    written = 1
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, counted = stack.pop()
        if counted:
            size[id(node)] = min(1 + sum(size[id(child)] for child in _children(node)), _SATURATED)  # type: ignore[misc]
            continue
        if id(node) in size:
            continue  # met again through another alias: already counted
        size[id(node)] = None
        stack.append((node, True))
        for child in _children(node):
            written += 1
            if id(child) not in size:
                stack.append((child, False))
            elif size[id(child)] is None:  # still being counted: the child holds its parent
                raise AliasBomb("a YAML alias holds itself")
    return written, size[id(root)]  # type: ignore[return-value]


def mappings(value: object) -> Iterator[dict]:
    """Every mapping inside a parsed YAML value, in document order (no recursion: depth is the input's)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(reversed(node.values()))
        elif isinstance(node, list):
            stack.extend(reversed(node))


def entries(value: object) -> list:
    """A workflow input's list of mappings: a list, one mapping, or YAML inside a string
    (as workflow_call inputs carry it); an unreadable string holds none."""
    if isinstance(value, str):
        try:
            value = load(value)
        except yaml.YAMLError:  # AliasBomb included
            return []
    if isinstance(value, dict):
        return [value]
    return value if isinstance(value, list) else []
