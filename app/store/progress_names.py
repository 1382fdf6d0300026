"""Which modules a line of the progress document names, as the last scan and the history know them.

A named module is scanned (it has a status), renamed since (followed to its new
path), retired (removed from the tree at the scanned commit, known to the
history), or unknown to both. A retired module is done: nothing is left to migrate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from app.store.history import fates
from app.store.progress import ProgressModule
from app.store.scans import latest_scan
from app.store.scope import repository_of

RETIRED = "retired"
UNKNOWN = "unknown"
DONE = {"migrated", RETIRED}


@dataclass(frozen=True)
class Named:
    path: str  # as the document names it
    status: str  # a scanned status, RETIRED or UNKNOWN
    module: str | None = None  # the module's path: the scanned one, or where it was removed
    removed: dict[str, Any] | None = None  # the event that removed a retired module

    @property
    def name(self) -> str:
        return (self.module or self.path).rsplit("/", 1)[-1]

    @property
    def scanned(self) -> bool:
        return self.status not in (RETIRED, UNKNOWN)


class Modules:
    """The last synced scan's modules and the history's fates, found by path or, failing
    that, by a unique directory name (so a layout with other roots still matches)."""

    def __init__(self, session: Session) -> None:
        self.scanned = {m.path: m for m in session.exec(select(ProgressModule))}
        self._scanned_names = _unique_names(self.scanned)
        self.fates = _fates(session) if self.scanned else {}
        self._fate_names = _unique_names(self.fates)

    def resolve(self, path: str) -> Named:
        module = self._lookup(path, self.scanned, self._scanned_names)
        if module is not None:
            return Named(path, module.status, module.path)
        fate = self._lookup(path, self.fates, self._fate_names)
        if fate is not None and fate["removed"] is not None:
            return Named(path, RETIRED, fate["module"], fate["removed"])
        if fate is not None and (renamed := self.scanned.get(fate["module"])) is not None:
            return Named(path, renamed.status, renamed.path)
        return Named(path, UNKNOWN)

    def resolve_all(self, paths: list[str]) -> list[Named]:
        return [self.resolve(path) for path in paths]

    @staticmethod
    def _lookup(path: str, by_path: dict[str, Any], names: dict[str, str]) -> Any:
        found = by_path.get(path)
        if found is None and (unique := names.get(path.rsplit("/", 1)[-1])) is not None:
            found = by_path[unique]
        return found


def _unique_names(paths: dict[str, Any]) -> dict[str, str]:
    seen: dict[str, list[str]] = {}
    for path in paths:
        seen.setdefault(path.rsplit("/", 1)[-1], []).append(path)
    return {name: found[0] for name, found in seen.items() if len(found) == 1}


def _fates(session: Session) -> dict[str, dict]:
    """The history's fates, cut where the latest scan cuts it (a scan of an older commit)."""
    repository = repository_of(session)
    scan = latest_scan(session)
    upto = scan.history_upto if scan is not None and scan.repository == repository else None
    return fates(session, repository, upto)


def why_not_done(named: list[Named]) -> str | None:
    """Why an entry naming ``named`` is not ticked by the scans, in a reader's words; None when it is."""
    if not named:
        return "it names no module"
    unknown = [n.name for n in named if n.status == UNKNOWN]
    if unknown:
        return f"{_join(unknown)} {'is' if len(unknown) == 1 else 'are'} neither in the last scan nor in the history"
    open_ = [n for n in named if n.status not in DONE]
    if not open_:
        return None
    return "; ".join(f"{n.name} is {n.status.replace('_', ' ')}" for n in open_)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
