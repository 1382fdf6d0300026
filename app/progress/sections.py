"""What each block of the document means: which section it sits in, and what a line names.

A section is known by its ``##`` heading and, below it, its ``###`` heading.
Blocks outside a known section, or of a shape the section does not hold, are
kept as raw text. Pure functions over ``app.progress.document`` blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from app.progress.document import Block, Document, Group, Heading, Item

# `## heading` (lower-cased) -> section kind
SECTIONS = {
    "current status": "checklist",
    "backlog items": "backlog",
    "milestones": "milestones",
    "blockers & challenges": "blockers",
    "next steps": "next_steps",
}
# For kinds with fixed sub-sections: `### heading` (lower-cased) -> slot key.
# "checklist" and "backlog" take any `###` heading; its text is the key.
SUBSECTIONS = {
    "milestones": {"current focus": "current", "completed": "completed"},
    "blockers": {"current blockers": "open", "resolved challenges": "resolved"},
    "next_steps": {"immediate actions": "immediate", "future plans": "future"},
}
ITEM_KINDS = {"checklist", "backlog"}  # sections of "- [ ]" items; the others hold numbered groups
DEFAULT_HEADINGS = {
    ("milestones", "current"): "Current Focus",
    ("milestones", "completed"): "Completed",
    ("blockers", "open"): "Current Blockers",
    ("blockers", "resolved"): "Resolved Challenges",
    ("next_steps", "immediate"): "Immediate Actions",
    ("next_steps", "future"): "Future Plans",
}
SECTION_HEADINGS = {
    "checklist": "Current Status",
    "backlog": "Backlog Items",
    "milestones": "Milestones",
    "blockers": "Blockers & Challenges",
    "next_steps": "Next Steps",
}


@dataclass(frozen=True)
class Slot:
    """Where a typed block belongs: ("backlog", "Testing Improvements"), ("blockers", "open")..."""

    kind: str
    key: str


def classify(doc: Document) -> list[Slot | None]:
    """For each block, the slot it fills, or None when it is kept as raw text or is a heading."""
    slots: list[Slot | None] = []
    kind: str | None = None
    slot: Slot | None = None
    for block in doc.blocks:
        if isinstance(block, Heading):
            kind, slot = _after_heading(block, kind)
            slots.append(None)
            continue
        slots.append(slot if slot and _fits(slot, block) else None)
    return slots


def _after_heading(heading: Heading, kind: str | None) -> tuple[str | None, Slot | None]:
    title = heading.text.strip().lower()
    if heading.level <= 2:
        return (SECTIONS.get(title) if heading.level == 2 else None), None
    if heading.level > 3 or kind is None:
        return kind, None
    if kind in ITEM_KINDS:
        return kind, Slot(kind, heading.text)
    key = SUBSECTIONS[kind].get(title)
    return kind, (Slot(kind, key) if key else None)


def _fits(slot: Slot, block: Block) -> bool:
    if slot.kind == "backlog":
        return isinstance(block, Item)
    if slot.kind == "checklist":
        return isinstance(block, Item) and block.mark != "~"
    return isinstance(block, Group)


# -- migration entries ------------------------------------------------------

INFRA_ROOT = "infrastructure/subsystems"
APPS_ROOT = "apps/subsystems"
NAME = r"[A-Za-z0-9_][A-Za-z0-9._-]*"  # a folder name as Kubernetes repositories spell them
PAIR_LINE = re.compile(rf"({NAME})-core/extra modules?")
APP_LINE = re.compile(rf"({NAME}) app modules?")
MODULE_LINE = re.compile(rf"({NAME}) modules?")
PIN = re.compile(r"(.*) \(pinned(?: until (\d{4}-\d{2}-\d{2}))?: (.*)\)")


def entry_modules(text: str) -> list[str]:
    """The module paths a migration entry names, or [] when the line names none.

    "networking-core/extra modules" -> both halves of the pair; "storage-core
    module" -> one infrastructure module; "media app modules" -> apps/subsystems/media.
    """
    base = split_pin(text)[0]
    if m := PAIR_LINE.fullmatch(base):
        return [f"{INFRA_ROOT}/{m[1]}-core", f"{INFRA_ROOT}/{m[1]}-extra"]
    if m := APP_LINE.fullmatch(base):
        return [f"{APPS_ROOT}/{m[1]}"]
    if m := MODULE_LINE.fullmatch(base):
        return [f"{INFRA_ROOT}/{m[1]}"]
    return []


MENTION = re.compile(rf"\b(?:({NAME})-core/extra modules?|({NAME}) app modules?|({NAME}) modules?)\b")


def mentioned_modules(text: str) -> list[str]:
    """The module paths a line names anywhere in its text, as ``entry_modules`` reads them:
    "Successfully migrated kubernetes-core/extra modules tests" names both kubernetes halves."""
    paths: list[str] = []
    for pair, app, module in MENTION.findall(text):
        if pair:
            paths += [f"{INFRA_ROOT}/{pair}-core", f"{INFRA_ROOT}/{pair}-extra"]
        else:
            paths.append(f"{APPS_ROOT}/{app}" if app else f"{INFRA_ROOT}/{module}")
    return paths


@dataclass(frozen=True)
class PinMark:
    reason: str
    until: date | None = None


def split_pin(text: str) -> tuple[str, PinMark | None]:
    """An entry's text without its "(pinned: reason)" suffix, and the pin it shows."""
    m = PIN.fullmatch(text)
    if not m:
        return text, None
    try:
        until = date.fromisoformat(m[2]) if m[2] else None
    except ValueError:
        return text, None
    return m[1], PinMark(m[3], until)


def with_pin(text: str, pin: PinMark | None) -> str:
    if pin is None:
        return text
    until = f" until {pin.until.isoformat()}" if pin.until else ""
    return f"{text} (pinned{until}: {pin.reason})"


@dataclass(frozen=True)
class ScannedName:
    """What the export needs to know of a scanned module to write a line for it."""

    path: str
    name: str
    group: str
    pair: str | None


def missing_lines(modules: list[ScannedName]) -> list[tuple[str, list[str]]]:
    """Entry lines for modules the document does not mention, in the document's own style.

    A core/extra pair both missing becomes one "X-core/extra modules" line; an
    app module "X app module"; anything else "X module". Returns (text, paths).
    """
    by_path = {m.path: m for m in modules}
    lines: list[tuple[str, list[str]]] = []
    done: set[str] = set()
    for module in sorted(modules, key=lambda m: (_is_app(m), m.path)):  # infrastructure first, as the seed
        if module.path in done:
            continue
        partner = _partner(module, by_path)
        if partner is not None and module.name.endswith("-core"):
            base = module.name.removesuffix("-core")
            lines.append((f"{base}-core/extra modules", [module.path, partner.path]))
            done |= {module.path, partner.path}
        elif _is_app(module):
            lines.append((f"{module.name} app module", [module.path]))
        else:
            lines.append((f"{module.name} module", [module.path]))
        done.add(module.path)
    return lines


def _is_app(module: ScannedName) -> bool:
    return module.group == "apps" or module.path.startswith(APPS_ROOT + "/")


def _partner(module: ScannedName, by_path: dict[str, ScannedName]) -> ScannedName | None:
    if not module.name.endswith(("-core", "-extra")):
        return None
    base, _, half = module.name.rpartition("-")
    other = "extra" if half == "core" else "core"
    parent = module.path.rpartition("/")[0]
    return by_path.get(f"{parent}/{base}-{other}" if parent else f"{base}-{other}")
