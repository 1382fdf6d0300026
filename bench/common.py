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


def turn_about(first: Callable[[], object], second: Callable[[], object], repeat: int = 11) -> tuple[float, float]:
    """The best times of two functions run alternately: on a shared machine both meet the
    same load, where five of one then five of the other can meet very different loads."""
    first(), second()  # warm the page cache and the imports for both
    a, b = [], []
    for _ in range(repeat):
        a.append(best_of(first, repeat=1))
        b.append(best_of(second, repeat=1))
    return min(a), min(b)
