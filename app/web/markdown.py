"""The progress document as HTML: CommonMark, no raw HTML, task-list boxes.

markdown-it-py spends about 10 µs on each ``[``, ``!``, ``*``... of a paragraph
and more on long runs of them (a 2 MB line of ``[`` took 14 s): the document
is data anyone with write access controls, and the page is public. So the
renderer is given a bounded amount of markup: a line longer than
``MAX_RENDER_LINE``, and every line once ``MAX_MARKUP`` markup characters have
been given, goes in as a placeholder and comes out as its own text, escaped,
with its list marker or heading mark still rendered. The work is then linear
in the document's size, whatever it holds.
"""

from __future__ import annotations

import re
import secrets

from markdown_it import MarkdownIt
from markupsafe import Markup, escape

_md = MarkdownIt("commonmark", {"html": False})  # the document is user data: never pass its HTML through
_TASK = re.compile(r"<li>(?:<p>)?\[([ xX])\] ")

MAX_RENDER_LINE = 2_000  # characters of one line rendered as markdown
MAX_MARKUP = 10_000  # markup characters rendered as markdown, in the whole document
MAX_RENDER_LINES = 20_000  # lines rendered as markdown (markdown-it takes about 60 µs a line); the rest as text
_NO_MARKUP = str.maketrans("", "", "[]!<&*_`\\")
# what makes a line a list item, a task, a heading or a quote: kept, so the page keeps its shape
_LEAD = re.compile(r"[ \t]{0,12}(?:(?:[-*+]|[0-9]{1,9}[.)])(?: \[[ xX~]\])? |#{1,6} |> ?){0,8}")


def render_markdown(text: str) -> Markup:
    lines = text.split("\n")
    head, tail = lines[:MAX_RENDER_LINES], lines[MAX_RENDER_LINES:]
    given, literal, marker = bounded(head)
    html = _md.render(given)
    if literal:
        html = re.sub(f"{marker}([0-9]+)x", lambda m: literal[int(m[1])], html)
    html = _TASK.sub(lambda m: _box(m.group(0), m.group(1).strip() != ""), html)
    if tail:
        html += f'<pre class="document-tail">{escape(chr(10).join(tail))}</pre>\n'
    return Markup(html)  # noqa: S704  (markdown-it escaped the text; html is off; the rest is escaped here)


def bounded(lines: list[str]) -> tuple[str, list[str], str]:
    """(what markdown-it is given, the escaped lines its placeholders stand for, the placeholders' prefix).

    A placeholder is letters and digits only: markdown-it passes it through as text, in a
    paragraph, a list item or a code block alike, and no document can spell it (a per-call nonce).
    """
    marker = f"sawmill{secrets.token_hex(6)}n"
    given, literal, budget = [], [], MAX_MARKUP
    for line in lines:
        lead = _LEAD.match(line)[0]  # type: ignore[index]  (it matches the empty string too)
        if len(line) <= MAX_RENDER_LINE:
            rest = line[len(lead):]
            cost = len(rest) - len(rest.translate(_NO_MARKUP))
            if cost <= budget:
                budget -= cost
                given.append(line)
                continue
        literal.append(str(escape(line[len(lead):].rstrip("\r"))))
        given.append(f"{lead}{marker}{len(literal) - 1}x")
    return "\n".join(given), literal, marker


def _box(opening: str, done: bool) -> str:
    head = opening.split("[", 1)[0]
    if done:
        mark = '<span class="box done" aria-label="done">☑</span> '
    else:
        mark = '<span class="box" aria-label="to do">☐</span> '
    return head.replace("<li>", '<li class="task-item">', 1) + mark
