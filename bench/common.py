"""Shared pieces of the benchmarks: timing and the result line."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Result:
    name: str
    value: float  # a ratio, or seconds where the goal is absolute
    goal: float
    unit: str = "x floor"
    lower_is_better: bool = True
    detail: str = ""

    @property
    def met(self) -> bool:
        return self.value <= self.goal if self.lower_is_better else self.value >= self.goal

    def line(self) -> str:
        sign = "<=" if self.lower_is_better else ">="
        verdict = "ok" if self.met else "MISSED"
        return f"{self.name}: {self.value:.2f} {self.unit} (goal {sign} {self.goal}) {verdict}  {self.detail}".rstrip()


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """The fastest of ``repeat`` runs, in seconds: the least disturbed by a busy machine."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
