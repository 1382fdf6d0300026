"""The progress document as HTML: CommonMark, no raw HTML, task-list boxes."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False})  # the document is user data: never pass its HTML through
_TASK = re.compile(r"<li>(?:<p>)?\[([ xX])\] ")


def render_markdown(text: str) -> Markup:
    html = _md.render(text)
    html = _TASK.sub(lambda m: _box(m.group(0), m.group(1).strip() != ""), html)
    return Markup(html)  # noqa: S704  (markdown-it escaped the text; html is off)


def _box(opening: str, done: bool) -> str:
    head = opening.split("[", 1)[0]
    if done:
        mark = '<span class="box done" aria-label="done">☑</span> '
    else:
        mark = '<span class="box" aria-label="to do">☐</span> '
    return head.replace("<li>", '<li class="task-item">', 1) + mark
