"""Path globs in linear time: ``*`` stays within one folder, ``**`` crosses folders.

A glob is read into tokens once. One with at most one ``*`` or ``**`` becomes a
regular expression (a single unbounded part cannot make Python's backtracking
engine blow up); one with more is matched by simulating all of its positions
at once, a state set per character, with the step from each state set cached:
time linear in the path whatever the glob, where the regular expression for
``**/**/**/**/**/x`` took 28 s to fail on a folder sixty deep.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

_STAR, _ANY, _SEGMENTS = "*", "**", "**/"  # [^/]*, .*, and (?:.*/)?: zero or more whole folders
_INSIDE = "**/..."  # the automaton's node for the folders a "**/" is taking
_UNBOUNDED = {_STAR, _ANY, _SEGMENTS}
_MAX_STATES = 4096  # per glob; the step cache starts again past it


class GlobError(ValueError):
    """A glob that cannot be read (a character range backwards, an empty class)."""


@dataclass(frozen=True)
class _Class:
    regex: re.Pattern[str]

    def __str__(self) -> str:
        return self.regex.pattern


def glob_match(pattern: str, path: str) -> bool:
    """Whether ``path`` matches ``pattern``; raises GlobError for a glob that cannot be read."""
    return bool(compile_glob(pattern)(path))


def is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


@lru_cache(maxsize=512)
def compile_glob(pattern: str) -> Callable[[str], object]:
    """A matcher for ``pattern``: a callable ``path -> truthy when it matches``; raises GlobError."""
    tokens = _tokens(pattern)
    if sum(t in _UNBOUNDED for t in tokens if isinstance(t, str)) <= 1:
        return _regex(tokens).fullmatch
    return _Automaton(tokens).match


def _tokens(pattern: str) -> tuple[str | _Class, ...]:
    """Literal characters, ``?``, classes and the three stars; runs of stars that say
    the same as one (``**/**/``, ``**/**``) are folded into one."""
    out: list[str | _Class] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            token, i = _SEGMENTS, i + 3
        elif pattern.startswith("**", i):
            token, i = _ANY, i + 2
        elif c == "*":
            token, i = _STAR, i + 1
        elif c == "[" and pattern.find("]", i + 1) != -1:
            end = pattern.find("]", i + 1)
            token, i = _class(pattern[i + 1 : end]), end + 1
        else:
            token, i = ("?" if c == "?" else re.escape(c)), i + 1
        out.append(token)
        _fold(out)
    return tuple(out)


def _fold(out: list[str | _Class]) -> None:
    pair = tuple(out[-2:])
    if len(pair) < 2 or not all(isinstance(t, str) and t in _UNBOUNDED for t in pair):
        return
    if pair == (_SEGMENTS, _SEGMENTS):
        out.pop()
    elif _ANY in pair:  # .* beside any star says it all
        out[-2:] = [_ANY]


def _class(body: str) -> _Class:
    body = body.replace("\\", "\\\\").replace("[", "\\[")  # a "[" inside is the character, not a nested set
    source = f"[{'^' + body[1:] if body.startswith('!') else body}]"
    try:
        return _Class(re.compile(source))
    except re.error as exc:
        raise GlobError(exc.msg) from None


def _regex(tokens: tuple[str | _Class, ...]) -> re.Pattern[str]:
    parts = {_STAR: "[^/]*", _ANY: ".*", _SEGMENTS: "(?:.*/)?", "?": "[^/]"}
    return re.compile("".join(str(t) if isinstance(t, _Class) else parts.get(t, t) for t in tokens), re.DOTALL)


class _Automaton:
    """A nondeterministic automaton over the glob, run on all its states at once: bit i of
    an int is set when node i is reached. ``**/`` is two nodes: an entry that may skip the
    folders altogether, and the folders it takes, which end only at a slash."""

    def __init__(self, tokens: tuple[str | _Class, ...]) -> None:
        nodes: list[str | _Class] = []
        for token in tokens:
            nodes.extend([_SEGMENTS, _INSIDE] if token == _SEGMENTS else [token])
        self.nodes = tuple(nodes)
        self.final = 1 << len(nodes)
        self.steps: dict[int, dict[str, int]] = {}
        self.start = self._closure(1)

    def match(self, path: str) -> bool:
        state = self.start
        steps = self.steps
        for c in path:
            row = steps.get(state)
            following = row.get(c) if row is not None else None
            if following is None:
                following = self._step(state, c)
            if not following:
                return False
            state = following
        return bool(state & self.final)

    def _step(self, state: int, c: str) -> int:
        following = 0
        for i, node in enumerate(self.nodes):
            if not state >> i & 1 or node == _SEGMENTS:  # an entry takes no character
                continue
            if node == _ANY or (node == _STAR and c != "/"):
                following |= 1 << i  # the star takes the character and stays
            elif node == _INSIDE:
                following |= 1 << i | (1 << i + 1 if c == "/" else 0)  # a slash may end the folders taken
            elif node == "?" and c != "/" or isinstance(node, _Class) and node.regex.fullmatch(c) or node == re.escape(c):
                following |= 1 << i + 1
        following = self._closure(following)
        if len(self.steps) > _MAX_STATES:
            self.steps.clear()
        self.steps.setdefault(state, {})[c] = following
        return following

    def _closure(self, state: int) -> int:
        """Add what is reached without taking a character: past a star, or past the folders."""
        for i, node in enumerate(self.nodes):
            if state >> i & 1:
                if node in (_STAR, _ANY):
                    state |= 1 << i + 1
                elif node == _SEGMENTS:
                    state |= 1 << i + 1 | 1 << i + 2
        return state
