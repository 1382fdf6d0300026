"""Run every benchmark: ``python -m bench [NAME ...]`` (``make bench``).

Each ``bench/bench_*.py`` module has a ``run() -> list[Result]``. Timings on
shared machines are noisy, so every result is a ratio to a floor measured in
the same run, and the goal is stated beside it.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench
from bench.common import Result


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    wanted = [n for n in names if not argv or any(a in n for a in argv)]
    results: list[Result] = []
    for name in wanted:
        print(f"== {name}", flush=True)
        for result in importlib.import_module(f"bench.{name}").run():
            print(result.line(), flush=True)
            results.append(result)
    missed = [r for r in results if not r.met]
    print(f"{len(results) - len(missed)} of {len(results)} goals met")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
