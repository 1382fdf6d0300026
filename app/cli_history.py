"""What ``sawmill history`` prints, and the progress bar of a long backfill."""

from __future__ import annotations

import sys
import time
from typing import TextIO

DELAY = 1.0  # a backfill shorter than this shows no bar at all
WIDTH = 30


class ProgressBar:
    """A one-line bar on stderr that appears only once a walk has run for ``DELAY`` seconds."""

    def __init__(self, label: str = "history", stream: TextIO | None = None, delay: float = DELAY) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.delay = delay
        self.started = time.monotonic()
        self.shown = -1  # the last percentage drawn

    def __call__(self, fraction: float) -> None:
        if time.monotonic() - self.started < self.delay:
            return
        percent = int(fraction * 100)
        if percent == self.shown:
            return
        self.shown = percent
        filled = WIDTH * percent // 100
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {percent:3d}%")
        self.stream.flush()

    def close(self) -> None:
        if self.shown >= 0:
            self.stream.write("\n")
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
