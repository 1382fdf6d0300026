"""What ``sawmill history`` prints, and the progress bar of a long backfill."""

from __future__ import annotations

import sys
import time
from typing import TextIO

DELAY = 1.0  # a backfill shorter than this shows no bar at all
EVERY = 10.0  # seconds between the lines written where the bar cannot be redrawn
WIDTH = 30


class ProgressBar:
    """A one-line bar on stderr that appears only once a walk has run for ``DELAY`` seconds.

    Where the stream is not a terminal (a CI log), ``\r`` redraws nothing: each update would
    be a line of its own. There it writes a plain line, at most one every ``every`` seconds,
    and the last percentage at ``close``. ``tty``: None asks the stream."""

    def __init__(
        self, label: str = "history", stream: TextIO | None = None, delay: float = DELAY,
        tty: bool | None = None, every: float = EVERY,
    ) -> None:  # fmt: skip
        self.label = label
        self.stream = stream or sys.stderr
        self.delay = delay
        self.tty = self.stream.isatty() if tty is None else tty
        self.every = every
        self.started = time.monotonic()
        self.percent = -1  # the last percentage heard
        self.shown = -1  # the last percentage drawn
        self.written = 0.0  # when the last line was written (not a terminal)

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self.started < self.delay:
            return
        self.percent = int(fraction * 100)
        if self.percent == self.shown:
            return
        if self.tty:
            self._draw()
        elif self.shown < 0 or now - self.written >= self.every:
            self.written = now
            self._line()

    def close(self) -> None:
        if self.tty and self.shown >= 0:
            self.stream.write("\n")
            self.stream.flush()
        elif not self.tty and 0 <= self.shown != self.percent:
            self._line()

    def _draw(self) -> None:
        self.shown = self.percent
        filled = WIDTH * self.percent // 100
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {self.percent:3d}%")
        self.stream.flush()

    def _line(self) -> None:
        self.shown = self.percent
        self.stream.write(f"{self.label} {self.percent}%\n")
        self.stream.flush()


def event_line(e: dict) -> str:
    """``2025-03-30  7a25dc32  infrastructure/subsystems/networking-core  legacy -> migrated  (#1010)``."""
    if e["kind"] == "born":
        move = f"new -> {e['to']}"
    elif e["kind"] == "removed":
        move = f"{e['from']} -> removed"
    elif e["kind"] == "renamed":
        move = f"renamed from {e['renamed_from']}, {e['from']} -> {e['to']}"
    else:
        move = f"{e['from']} -> {e['to']}"
    parts = [e["date"][:10], e["commit"][:8], e["path"], move]
    if e["pr"]:
        parts.append(f"(#{e['pr']})")
    if e["regression"]:
        parts.append("REGRESSION")
    return "  ".join(parts)


def regression_summary(found: list[dict]) -> str:
    names = ", ".join(f"{e['module']} ({e['from'] or 'new'} -> {e['to']}, {e['commit'][:8]})" for e in found)
    return f"{len(found)} module{'s' if len(found) != 1 else ''} regressed: {names}"
