"""Unified diffs in git's format, so ``git apply`` takes them."""

from __future__ import annotations

import difflib


def file_diff(path: str, before: str | None, after: str) -> str:
    """A ``diff --git`` section that creates ``path`` (``before`` None) or changes it."""
    head = f"diff --git a/{path} b/{path}\n"
    if before is None:
        head += "new file mode 100644\n"
        old_name = "/dev/null"
    else:
        old_name = f"a/{path}"
    lines = difflib.unified_diff(_lines(before or ""), _lines(after), old_name, f"b/{path}", n=3)
    return head + "".join(_ended(line) for line in lines)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _ended(line: str) -> str:
    # difflib leaves a last line without its newline as it is: git wants the marker after it
    if line.endswith("\n"):
        return line
    return f"{line}\n\\ No newline at end of file\n"
