"""``sawmill report FILE``: store a chainsaw report from CI, and the ``--require-passing`` gate of ``sawmill scan``.

The same use case as ``POST /api/reports`` (``app.services.reports``), for a CI
job that reaches the database itself rather than a Sawmill server.
"""

from __future__ import annotations

from pathlib import Path

import typer


def report_command(
    file: Path = typer.Argument(..., metavar="FILE", help="The report chainsaw wrote (--report-format JSON, XML or JUNIT-*)."),
    commit: str | None = typer.Option(None, "--commit", metavar="SHA", help="The commit CI tested (default: the repository's HEAD)."),
    branch: str | None = typer.Option(None, "--branch", metavar="B", help="The branch CI ran on."),
    run_url: str | None = typer.Option(None, "--run-url", metavar="URL", help="The CI run, linked from the pages."),
    suite: str | None = typer.Option(None, "--suite", metavar="PATH", help="The test folder, when the report does not name it."),
) -> None:
    """Store a chainsaw report; its tests are tied to modules through the scan of COMMIT."""
    from app.cli import fail, get_settings, open_store, repository_for, session_scope
    from app.reports import MAX_BYTES
    from app.services.reports import Upload, ingest_report
    from app.store.errors import StoreError

    settings = get_settings()
    url = open_store(settings)
    repository = repository_for(url, settings)
    git_dir = _git_dir(settings, repository)
    data = _read(file, MAX_BYTES, fail)
    sha = commit or _head(git_dir) or fail("--commit is needed: there is no repository here to take HEAD from")
    upload = Upload(commit=sha, branch=branch, run_url=run_url, suite=suite)
    try:
        with session_scope(url, repository) as session:
            done = ingest_report(session, data, upload, git_dir, settings.report_retention_days)
    except StoreError as exc:
        fail(f"{file}: {exc.message}")
    typer.echo(describe(done))


def describe(done) -> str:
    r = done.report
    counts = f"{r.tests} test{'' if r.tests == 1 else 's'}: {r.passed} passed, {r.failed} failed, {r.skipped} skipped"
    if not done.created:
        return f"already stored as report #{r.id} ({r.format}, {counts})"
    line = f"stored report #{r.id} ({r.format}) of {r.commit_sha[:12]}: {counts}"
    if done.waiting:
        return f"{line}; waiting for a scan of {r.commit_sha[:12]} to tie them to modules"
    if done.unmatched:
        names = ", ".join(f"{name} ({folder or 'no folder'})" for name, folder in done.unmatched[:5])
        more = f" and {len(done.unmatched) - 5} more" if len(done.unmatched) > 5 else ""
        return f"{line}; {len(done.unmatched)} unmatched (no module's chainsaw test): {names}{more}"
    return line


def _read(file: Path, limit: int, fail) -> bytes:
    from app.progress.reading import read_document  # bounded: /dev/zero is refused, not read to the end

    try:
        data = read_document(file, limit)
        if len(data) > limit:
            fail(f"{file} is more than the {limit // 2**20} MiB a report may be")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    return data


def _git_dir(settings, repository: str) -> Path | None:
    """Sawmill's copy of ``repository`` (the folder itself, or its mirror), when there is one."""
    from app.services.repos import tracked

    if not repository:
        return None
    folder = tracked(repository).local(settings.data_dir)
    return folder if folder.exists() else None


def _head(git_dir: Path | None) -> str | None:
    from app.scanner import GitSource, ScanError

    if git_dir is None:
        return None
    try:
        with GitSource(git_dir) as source:
            return source.resolve("HEAD").sha
    except ScanError:
        return None


def passing_gate(url: str, repository: str) -> tuple[int, list[tuple[str, str]]]:
    """For ``sawmill scan --require-passing``: how many migrated modules passed their last
    chainsaw run in CI, and the migrated ones that did not (path, failed / skipped / never ran)."""
    from app.cli import session_scope
    from app.services.reports import not_passing
    from app.store.scans import latest_scan, scan_modules

    with session_scope(url, repository) as session:
        scan = latest_scan(session)
        modules = [m for m in scan_modules(session, scan.id) if not m.component] if scan else []
        failing = not_passing(session, modules)
    return sum(1 for m in modules if m.status == "migrated") - len(failing), failing


def gate_message(failing: list[tuple[str, str]]) -> str:
    shown = ", ".join(f"{path} ({why})" for path, why in failing[:10])
    more = f" and {len(failing) - 10} more" if len(failing) > 10 else ""
    return f"{len(failing)} migrated module{'' if len(failing) == 1 else 's'} not passing in CI: {shown}{more}"
