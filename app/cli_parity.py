"""``sawmill parity`` and ``sawmill next``: what migrations dropped, and what to migrate next.

Registered from app/cli.py. Heavy imports (the store, git) happen inside the
commands, so ``sawmill --help`` does not pay for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

PathArg = typer.Argument(
    None, metavar="PATH|URL", help="The repository: a path or a git URL (default SAWMILL_REPO, then the current folder)."
)
ConfigOpt = typer.Option(None, "--config", metavar="FILE", help="A sawmill.yaml to use instead of the repository's own.")


def parity_command(
    path: str | None = PathArg,
    ref: str | None = typer.Option(None, "--ref", metavar="REF", help="Branch, tag or commit to judge at (default HEAD)."),
    config: Path | None = ConfigOpt,
    as_json: bool = typer.Option(False, "--json", help="Print {commit, ref, modules: [...]} instead of lines."),
) -> None:
    """For each migrated module: the legacy checks its chainsaw tests carried over, lost, or gone since."""
    import json

    from app.services.parity import parity_report

    ref = ref or "HEAD"
    with _store_and_repo(path, config) as (session, repo, key, config_file):
        commit, found = parity_report(session, repo, key, ref, config_file)
    if as_json:
        typer.echo(json.dumps({"commit": commit, "ref": ref, "modules": [p.to_dict() for p in found]}, indent=2))
        return
    for item in found:
        typer.echo(parity_line(item))
        for word, checks in (("lost", item.lost), ("since", item.since)):
            for check in checks:
                typer.echo(f"  {word:6} {check.label()}  ({check.source})")
    lost = len({check for p in found for check in p.lost})  # the halves of a pair may share one
    if not found:
        typer.echo("no migrated module has a legacy suite in its history")
    elif lost:
        typer.echo(f"{lost} legacy check{'s' if lost != 1 else ''} not carried over")
    else:
        typer.echo("every legacy check was carried over")


def parity_line(item) -> str:
    """``networking-core  migrated in 7a25dc32 (#1010): 3 legacy checks, 2 carried, 1 lost, 0 since``."""
    pr = f" (#{item.pr})" if item.pr else ""
    counts = f"{len(item.carried)} carried, {len(item.lost)} lost, {len(item.since)} since"
    total = len(item.legacy_checks)
    return f"{item.path}  migrated in {item.migrated_in[:8]}{pr}: {total} legacy check{'s' if total != 1 else ''}, {counts}"


def next_command(
    path: str | None = PathArg,
    config: Path | None = ConfigOpt,
    as_json: bool = typer.Option(False, "--json", help="Print {graph_read, next: [...], waiting: [...]} instead of lines."),
) -> None:
    """Legacy modules to migrate next: those whose Flux dependencies are migrated, smaller suites first."""
    import json

    from app.services.next import next_report

    with _store_and_repo(path, config, scan=True) as (session, repo, key, config_file):
        plan = next_report(session, repo, config_file)
    if as_json:
        typer.echo(json.dumps(plan.to_dict(), indent=2))
        return
    for item in plan.ready:
        typer.echo(f"{item.title}  {item.reason}" + (f"  BLOCKED: {item.blockers[0]}" if item.blockers else ""))
    if not plan.ready:
        typer.echo("no legacy module is ready: every one waits for a dependency" if plan.waiting else "no legacy module left")
    for item in plan.waiting:
        typer.echo(f"waiting: {item.title}  {item.reason}")


@contextmanager
def _store_and_repo(path: str | None, config: Path | None, scan: bool = False) -> Iterator[tuple]:
    """(session, repository on disk, store key, config file): the store migrated, a URL
    fetched, and the history brought up to date (with ``scan``, a whole scan stored)."""
    from app.cli import fail, get_settings, open_store, session_scope
    from app.scanner import ScanError
    from app.services import scan_and_store
    from app.services.history import record_history
    from app.services.jobs import local_copy
    from app.services.mirror import FetchError
    from app.services.repos import tracked

    settings = get_settings()
    url = open_store(settings)
    tracked_repo = tracked(path or settings.repo or ".")
    config = config or settings.config
    try:
        repo = local_copy(settings, tracked_repo, lambda line: typer.echo(line, err=True))
        if scan:  # what to migrate next is judged on the modules' statuses now
            scan_and_store(url, repo, settings.ref, config, repository=tracked_repo.key, branch=settings.branch,
                           stale_days=settings.stale_branch_days)  # fmt: skip
        with session_scope(url, tracked_repo.key) as session:
            if not scan:
                record_history(session, repo, tracked_repo.key, config, None, False, settings.branch, settings.stale_branch_days)
            yield session, repo, tracked_repo.key, config
    except (ScanError, FetchError) as exc:
        fail(str(exc))
