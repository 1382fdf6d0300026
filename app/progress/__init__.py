"""The progress document: markdown <-> typed items. Pure functions.

``parse`` splits a document into blocks (headings, raw text, checklist items,
numbered groups), ``render`` writes them back byte for byte, and
``app.progress.sections`` says which section each block fills and which
modules a migration entry names. The store (app.store.progress_doc) keeps
the blocks as rows.
"""

from app.progress.document import Document, Group, Heading, Item, Point, Raw, decode, parse, render
from app.progress.sections import Slot, classify, entry_modules, missing_lines

__all__ = [
    "Document",
    "Group",
    "Heading",
    "Item",
    "Point",
    "Raw",
    "Slot",
    "classify",
    "decode",
    "entry_modules",
    "missing_lines",
    "parse",
    "render",
]
