"""Python's cyclic garbage collector, paused while one long piece of scanner work runs.

A walk over history (or the scan of a large tree) allocates hundreds of
thousands of objects that live until it ends: the layout's indexes, parsed
YAML, memoized analyses. Each full collection traversed all of them and found
nothing to free: on a 6,000-file tree the collections were a quarter of the
walk. So they wait until the work is done, and then run as they would have.
The work leaves no cycles behind (its parse cache is emptied at the end, see
``ParseCache.forget``), so what it allocated goes by reference counts and the
first collection after it has little to look at.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector for the block; nested and concurrent blocks (worker threads of one
    process) share one pause, and the last to leave puts back what the first one found."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
