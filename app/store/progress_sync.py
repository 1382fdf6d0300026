"""Keep the document true to the scans: tick migration entries, flag modules, honour pins.

Precedence: the scanner decides migration entries; a person may pin one (a
reason, an optional expiry) and the pin decides until it expires. People
decide everything else in the document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, delete, select

from app.scanner.model import STATUS_ORDER, Module, ScanResult, Status
from app.store import audit
from app.store.errors import Invalid, NotFound, no_nul
from app.progress.sections import mentioned_modules
from app.store.progress import CapabilityItem, MigrationEntry, ProgressModule
from app.store.progress_names import DONE, RETIRED, UNKNOWN, Modules, Named
from app.store.scans import ModuleResult, Scan, scan_modules
from app.store.turns import take_turn

MAX_PIN_REASON = 500


@dataclass
class SyncReport:
    ticked: list[str] = field(default_factory=list)
    unticked: list[str] = field(default_factory=list)
    unknown: dict[str, list[str]] = field(default_factory=dict)  # entry text -> module paths
    missing: list[str] = field(default_factory=list)  # module paths the document does not mention
    imported: bool = False
    import_error: str | None = None  # the repository's document could not be imported: why
    left: bool = False  # a document is held, and this scan (not of the default branch's tip) left its ticks


ScanInput = ScanResult | Scan | Iterable[Module] | Iterable[ModuleResult]


def sync_with_scan(session: Session, scan: ScanInput, who: str = "scanner", today: date | None = None) -> SyncReport:
    """Record the scan's modules and set every unpinned entry's tick from them."""
    take_turn(session)
    modules, commit = _modules_of(session, scan)
    old = {m.path: m.status for m in session.exec(select(ProgressModule))}
    session.exec(delete(ProgressModule))
    for m in modules:
        session.add(
            ProgressModule(path=m.path, name=m.name, group=m.group, pair=m.pair, status=str(m.status), commit_sha=commit)
        )
    session.flush()
    new = {m.path: str(m.status) for m in modules}
    if new != old:
        changed = sorted(p for p in new.keys() | old.keys() if new.get(p) != old.get(p))
        audit.record(
            session, who, "scan.sync", "modules",
            {"modules": {p: old.get(p) for p in changed}},
            {"modules": {p: new.get(p) for p in changed}, "commit": commit},
        )  # fmt: skip
    return apply_scan_state(session, who, today)


def apply_scan_state(session: Session, who: str = "scanner", today: date | None = None) -> SyncReport:
    """Tick each entry exactly when every module it names is migrated or retired (unless
    pinned); flag the rest. A retired module is one the history saw removed."""
    take_turn(session)
    report = SyncReport()
    modules = Modules(session)
    if not modules.scanned:
        return report
    today = today or date.today()
    for entry in session.exec(select(MigrationEntry).order_by(MigrationEntry.id)):
        _expire_pin(session, entry, today)
        named = modules.resolve_all(entry.modules)
        unknown = [n.path for n in named if n.status == UNKNOWN]
        entry.unknown_modules = unknown
        entry.scan_status = _entry_status(named)
        if unknown:
            report.unknown[entry.text] = unknown
        done = bool(named) and all(n.status in DONE for n in named)
        target = entry.pin_done if entry.pinned(today) and entry.pin_done is not None else done
        if entry.done != target:
            after = {"done": target, "text": entry.text}
            audit.record(session, who, "scan.sync", f"entry:{entry.id}", {"done": entry.done}, after)
            (report.ticked if target else report.unticked).append(entry.text)
            entry.done = target
        session.add(entry)
    report.missing = [m.path for m in missing_modules(session, modules)]
    session.flush()
    return report


def _entry_status(named: list[Named]) -> str | None:
    """unknown when any module is; else the weakest scanned status; retired when all are."""
    if any(n.status == UNKNOWN for n in named):
        return UNKNOWN
    scanned = [n.status for n in named if n.scanned]
    return _weakest(scanned) if scanned else (RETIRED if named else None)


def missing_modules(session: Session, modules: Modules | None = None) -> list[ProgressModule]:
    """Scanned modules the document names nowhere: in no migration entry, and in no
    plain line of a checklist item ("Successfully migrated kubernetes-core/extra modules tests")."""
    modules = modules or Modules(session)
    if not modules.scanned:
        return []
    paths: list[str] = []
    for entry in session.exec(select(MigrationEntry)):
        paths.extend(entry.modules)
    for item in session.exec(select(CapabilityItem)):
        for point in item.points:
            paths.extend(mentioned_modules(point.get("text", "")))
    named = {n.module for n in modules.resolve_all(paths) if n.scanned}
    return [m for path, m in sorted(modules.scanned.items()) if path not in named]


def _weakest(statuses: list[str]) -> str | None:
    if not statuses:
        return None
    return str(min((Status(s) for s in statuses), key=STATUS_ORDER.index))


def _modules_of(session: Session, scan: ScanInput) -> tuple[list[Any], str]:
    if isinstance(scan, ScanResult):
        return list(scan.modules), scan.commit
    if isinstance(scan, Scan):
        return [m for m in scan_modules(session, scan.id) if not m.component], scan.commit_sha
    rows = [m for m in scan if not m.component]
    commit = ""
    if rows and isinstance(rows[0], ModuleResult):
        found = session.get(Scan, rows[0].scan_id)
        commit = found.commit_sha if found else ""
    return rows, commit


def _expire_pin(session: Session, entry: MigrationEntry, today: date) -> None:
    if entry.pin_reason is not None and not entry.pinned(today):
        audit.record(session, "sawmill", "entry.pin_expired", f"entry:{entry.id}", _pin_state(entry), None)
        _clear_pin(entry)


# -- pins -----------------------------------------------------------------------


def pin_entry(
    session: Session,
    entry_id: int,
    reason: str,
    who: str,
    until: date | None = None,
    done: bool = True,
    today: date | None = None,
) -> MigrationEntry:
    """Hold an entry's tick at ``done`` whatever the scans say, until ``until`` (inclusive) if given."""
    take_turn(session)
    entry = _entry(session, entry_id)
    reason = no_nul(" ".join(reason.split()), "reason")
    if not reason:
        raise Invalid("a pin needs a reason", field="reason")
    if len(reason) > MAX_PIN_REASON:
        raise Invalid(f"a pin reason is at most {MAX_PIN_REASON} characters", field="reason")
    if ")" in reason:  # the export writes it inside "(pinned: ...)"; a ')' would end it early
        raise Invalid("a pin reason cannot hold ')': the document shows it inside parentheses", field="reason")
    if until is not None and until < (today or date.today()):
        raise Invalid(f"the pin's expiry {until.isoformat()} is in the past", field="until")
    before = {**_pin_state(entry), "done": entry.done}
    entry.pin_reason, entry.pin_until, entry.pin_done = reason, until, done
    entry.pinned_by, entry.pinned_at = who, audit.now()
    entry.done = done
    session.add(entry)
    audit.record(session, who, "entry.pin", f"entry:{entry.id}", before, {**_pin_state(entry), "done": done})
    session.flush()
    return entry


def unpin_entry(session: Session, entry_id: int, who: str, today: date | None = None) -> MigrationEntry:
    """Drop the pin; the last scan decides the tick again."""
    take_turn(session)
    entry = _entry(session, entry_id)
    if entry.pin_reason is None:
        raise Invalid(f"entry '{entry.text}' is not pinned", field="entry")
    before = _pin_state(entry)
    _clear_pin(entry)
    session.add(entry)
    audit.record(session, who, "entry.unpin", f"entry:{entry.id}", before, _pin_state(entry))
    session.flush()
    apply_scan_state(session, who="scanner", today=today)
    return entry


def find_entry(session: Session, key: str | int) -> MigrationEntry:
    """An entry by id, or by its text as the document writes it ("harbor app module")."""
    if isinstance(key, int) or str(key).isdigit():
        return _entry(session, int(key))
    text = " ".join(str(key).split())
    found = session.exec(select(MigrationEntry).where(MigrationEntry.text == text)).all()
    if len(found) != 1:
        many = f"{len(found)} entries read '{text}'; use its id"
        raise NotFound(many if found else f"no migration entry '{text}'")
    return found[0]


def _entry(session: Session, entry_id: int) -> MigrationEntry:
    entry = session.get(MigrationEntry, entry_id)
    if entry is None:
        raise NotFound(f"no migration entry {entry_id}")
    return entry


def _pin_state(entry: MigrationEntry) -> dict[str, Any]:
    return {
        "pin_reason": entry.pin_reason,
        "pin_until": entry.pin_until,
        "pin_done": entry.pin_done,
        "pinned_by": entry.pinned_by,
    }


def _clear_pin(entry: MigrationEntry) -> None:
    entry.pin_reason = entry.pin_until = entry.pin_done = entry.pinned_by = entry.pinned_at = None


# -- the scan service's step ------------------------------------------------------


def after_scan(
    session: Session,
    result: ScanResult,
    load_document: Callable[[], tuple[bytes | None, str]] | None = None,
    who: str = "scanner",
    sync: bool = True,
) -> SyncReport:
    """What a scan does to the progress data. On the first scan (no document in the store yet),
    ``load_document()`` gives the repository's own progress document at the scanned commit
    (bytes or None, and its path) and it is imported; then, unless ``sync`` is false (a scan of
    an older commit or another branch: the document follows the default branch), the entries
    are synced with the scan. A document named (a path) that the commit lacks is an
    ``import_error`` too: else a typo in sawmill.yaml would leave the board empty with nothing
    to say why."""
    from app.store.progress_doc import has_document, import_document

    imported, error = False, None
    if load_document is not None and not has_document(session):
        data, source = load_document()
        if data is None and source:
            error = f"{source}: no such file at the scanned commit (sawmill.yaml's progress_document names it)"
        elif data is not None:
            try:  # parse refuses bad input before any write, so the scan itself is still stored
                import_document(session, data, who=who, source=source)
                imported = True
            except Invalid as exc:
                error = f"{source or 'progress document'}: {exc.message}"
    report = sync_with_scan(session, result, who=who) if sync else SyncReport(left=has_document(session))
    report.imported, report.import_error = imported, error
    return report
