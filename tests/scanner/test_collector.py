"""Pauses of the garbage collector that overlap end with the last (a walk's is tested with the walk)."""

from __future__ import annotations

import gc
import threading

from app.scanner.collector import collector_paused


def test_overlapping_pauses_in_two_threads_end_with_the_last() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    states: dict[str, bool] = {}

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with collector_paused():
            second_in.set()
            first_out.wait(5)
            states["after the first left"] = gc.isenabled()
        states["after both left"] = gc.isenabled()

    assert gc.isenabled()
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert states == {"after the first left": False, "after both left": True}


def test_a_scan_and_a_walk_leave_no_cycles_for_the_collector_and_put_it_back(tmp_path) -> None:
    """Their layouts and links refer back to the parse cache: dropped at the end, they go by
    reference counts; a full collection would otherwise be needed to find them."""
    from app.repobuilder.gitops import build_seed_repo
    from app.scanner import scan
    from app.scanner.config import ScanConfig
    from app.scanner.history import walk_history
    from app.scanner.history_scan import HistoryScanner, relevant_paths
    from app.scanner.layout import Layout
    from app.scanner.links import Links
    from app.scanner.parse import ParseCache

    repo = build_seed_repo(tmp_path / "seed")
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        assert scan(repo).modules
        with HistoryScanner(repo, ScanConfig()) as scanner:
            paused = not gc.isenabled()
            assert walk_history(repo, "HEAD", relevant_paths(ScanConfig()), scanner).transitions
        resumed = gc.isenabled()
        del scanner
        gc.collect()
        left = [type(o).__name__ for o in gc.garbage if isinstance(o, (Layout, Links, ParseCache))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert (paused, resumed, left) == (True, True, [])
