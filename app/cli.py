"""The ``sawmill`` command: thin commands over the same functions the web uses.

A user error is one line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import gc
import re
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from app.cli_history import ProgressBar, event_line, regression_summary

if TYPE_CHECKING:  # the command line starts at once: a command imports what it needs when it runs
    from pydantic import ValidationError

    from app.config import Settings

cli = typer.Typer(
    name="sawmill",
    help="Track a GitOps repository's move to kyverno/chainsaw tests, module by module.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def get_settings() -> Settings:
    from pydantic import ValidationError

    from app.config import get_settings as settings

    try:
        return settings()
    except ValidationError as exc:
        fail(settings_problem(exc))


def settings_problem(exc: ValidationError) -> str:
    """A settings error as one line: each wrong ``SAWMILL_*`` variable and what it must be
    (never the value given: it may be a secret)."""
    import re

    parts = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        if message.startswith("Input should be "):  # pydantic's own: "Input should be a valid integer, unable to ..."
            message = "must be " + re.split(r", (?:unable|got) ", message.removeprefix("Input should be "))[0]
        name = f"SAWMILL_{error['loc'][0]}".upper() if error["loc"] else ""
        parts.append(message if not name or message.startswith(name) else f"{name} {message}")
    return "; ".join(parts)


def session_scope(url: str, repository: str | None = None):
    """``app.store.db.session_scope``, imported (with SQLAlchemy) only by a command that opens the store."""
    from app.store.db import session_scope as scope

    return scope(url, repository)


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def open_store(settings: Settings | None = None) -> str:
    """Migrate the configured database and return its URL."""
    from app.store.db import migrate
    from app.store.errors import one_line

    settings = settings or get_settings()
    try:
        migrate(settings.database_url)
    except Exception as exc:  # a locked, read-only or corrupt file: say so in one line
        fail(f"cannot open the database {_database_name(settings.database_url)}: {one_line(exc)}")
    return settings.database_url


def repository_for(url: str, settings: Settings | None = None) -> str:
    """The repository a progress command works on (see ``services.jobs.store_repository``)."""
    from app.services.jobs import store_repository

    with session_scope(url) as session:
        return store_repository(settings or get_settings(), session)


@cli.command("migrate")
def migrate_command() -> None:
    """Create or upgrade the database to the newest schema."""
    url = open_store()
    typer.echo(f"database ready: {_redacted_url(url)}")


token_cli = typer.Typer(help="API tokens: who may change the board.", no_args_is_help=True)
cli.add_typer(token_cli, name="token")


@token_cli.command("create")
def token_create(name: str = typer.Argument(metavar="NAME", help="Who the token is for, e.g. ci-bot.")) -> None:
    """Make a token for NAME and print it once; only its hash is kept."""
    from app.store.db import session_scope
    from app.store.errors import StoreError
    from app.store.tokens import create_token

    url = open_store()
    try:
        with session_scope(url) as session:
            token = create_token(session, name)
    except StoreError as exc:
        fail(exc.message)
    typer.echo(token)
    typer.echo(f"token for {name} created; it is shown only this once", err=True)


@token_cli.command("revoke")
def token_revoke(name: str = typer.Argument(metavar="NAME", help="The name the token was made for.")) -> None:
    """Revoke NAME's token; its sessions end too."""
    from app.store.db import session_scope
    from app.store.errors import StoreError
    from app.store.tokens import revoke_token

    url = open_store()
    try:
        with session_scope(url) as session:
            revoke_token(session, name)
    except StoreError as exc:
        fail(exc.message)
    typer.echo(f"token for {name} revoked")


@token_cli.command("list")
def token_list(as_json: bool = typer.Option(False, "--json", help="One JSON object a line.")) -> None:
    """Show every active token: its name, when it was made and last used (never the token)."""
    import json

    from app.store.tokens import list_tokens

    url = open_store()
    with session_scope(url) as session:
        rows = [(t.name, t.created_at, t.last_used_at) for t in list_tokens(session)]
    if not rows:
        typer.echo("no active tokens: make one with `sawmill token create NAME`", err=True)
    for name, created, used in rows:
        if as_json:
            typer.echo(json.dumps({"name": name, "created_at": _iso(created), "last_used_at": _iso(used)}))
        else:
            typer.echo(f"{name:24} created {_day(created)}   last used {_day(used) if used else 'never'}")


def _iso(value) -> str | None:
    from app.store.jobs import aware

    return aware(value).isoformat() if value else None


def _day(value) -> str:
    from app.store.jobs import aware

    return aware(value).strftime("%Y-%m-%d %H:%M UTC")


def settings_with(**overrides: object) -> Settings:
    """The environment's settings with the command line's options on top."""
    from pydantic import ValidationError

    from app.config import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        fail(settings_problem(exc))


@cli.command()
def demo(path: Path = typer.Argument(Path("var/demo-repo"), help="Where the demo repository lives.")) -> None:
    """Build the demo repository (once), import its progress document, scan it."""
    from app.demo import prepare_demo
    from app.scanner.model import ScanError
    from app.store.errors import StoreError

    url = open_store()
    try:
        line = prepare_demo(path, url)
    except (ScanError, StoreError) as exc:
        fail(str(exc))
    typer.echo(f"demo repository {path}: {line}")


@cli.command()
def serve(
    repo: str | None = typer.Option(
        None, "--repo", metavar="PATH|URL", help="The repository to track: a path or a git URL (default SAWMILL_REPO)."
    ),
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (default 8000)."),
) -> None:
    """Migrate the database, keep the repository current in the background, serve the dashboard."""
    from app.services.mirror import is_url, url_problem
    from app.services.repos import tracked
    from app.web.server import address_problem, run_server

    if repo is not None and not is_url(repo) and not Path(repo).exists():
        fail(f"no repository at {repo}")
    settings = settings_with(repo=str(Path(repo).resolve()) if repo and not is_url(repo) else repo, host=host, port=port)
    if settings.repo and (problem := url_problem(settings.repo)):
        fail(problem)
    if problem := address_problem(settings.host, settings.port):
        fail(problem)
    open_store(settings)
    if settings.repo:
        repo = tracked(settings.repo)
        how = "fetched" if repo.remote else "its refs re-read"
        every = f"every {settings.fetch_interval} s" if settings.fetch_interval else "on start, Rescan and push webhooks"
        typer.echo(f"tracking {repo.key} ({how} {every})", err=True)
    typer.echo(f"Sawmill on http://{settings.host}:{settings.port}", err=True)
    # a server lives on: the collector runs again (see main), past what starting it made, which stays
    gc.freeze()
    gc.enable()
    run_server(settings)


@cli.command("scan")
def scan_command(
    path: str | None = typer.Argument(
        None, metavar="PATH|URL", help="The repository: a path or a git URL (default SAWMILL_REPO, then the current folder)."
    ),
    ref: str | None = typer.Option(None, "--ref", metavar="REF", help="Branch, tag or commit to scan (default HEAD)."),
    config: Path | None = typer.Option(
        None, "--config", metavar="FILE", help="A sawmill.yaml to use instead of the repository's own."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the table."),
    fail_under: float | None = typer.Option(
        None, "--fail-under", metavar="PCT", min=0, max=100, help="Exit 1 when less than PCT percent of modules are migrated."
    ),
    fail_on_regression: bool = typer.Option(
        False, "--fail-on-regression", help="Exit 1 while a module's last move was a regression (see `sawmill history`)."
    ),
    require_passing: bool = typer.Option(
        False, "--require-passing",
        help="Exit 1 when a migrated module's last chainsaw run in CI failed or never ran; --fail-under then counts only passing ones.",
    ),  # fmt: skip
) -> None:
    """Scan a repository, store the result, and print every module's status."""
    import json

    from app.scanner import ScanError, ScanWarning
    from app.scanner.report import table
    from app.services import scan_and_store
    from app.services.jobs import local_copy
    from app.services.mirror import FetchError
    from app.services.repos import tracked

    settings = get_settings()
    url = open_store(settings)
    repo = tracked(path or settings.repo or ".")
    try:
        local = local_copy(settings, repo, lambda line: typer.echo(line, err=True))
        bar = ProgressBar()
        try:
            stored, result = scan_and_store(
                url, local, ref or settings.ref, config or settings.config, bar, repository=repo.key,
                branch=settings.branch, stale_days=settings.stale_branch_days,
            )  # fmt: skip
        finally:
            bar.close()
    except (ScanError, FetchError) as exc:
        fail(str(exc))
    # the stored scan's warnings: the scanner's, and those the use case added (the progress document not imported, or its ticks left)
    result.warnings = [ScanWarning(w["path"], w["reason"]) for w in stored.warnings]
    if not as_json:  # the table only counts warnings: this one the user must act on, and nothing else says it
        for warning in result.warnings:
            if warning.path == "progress_document":
                typer.echo(f"warning: progress document {warning.reason}", err=True)
    typer.echo(json.dumps(result.to_dict(), indent=2) if as_json else "\n".join(table(result)))
    summary = result.summary
    share = 100 * summary.migrated / summary.total if summary.total else 0.0
    if require_passing:  # migrated counts only once its chainsaw test passes in CI (reports: `sawmill report`)
        from app.cli_reports import gate_message, passing_gate

        passing, not_passing = passing_gate(url, repo.key)
        share = 100 * passing / summary.total if summary.total else 0.0
    if fail_under is not None and share < fail_under:
        what = "migrated and passing" if require_passing else "migrated"
        fail(f"{share:.1f}% of modules {what}, below --fail-under {fail_under:g}")
    if require_passing and not_passing:
        fail(gate_message(not_passing))
    from app.store.history import history_note, open_regressions

    with session_scope(url, repo.key) as session:
        note = history_note(session, repo.key)
        # as of the scanned commit: a scan of an older one is judged by the history up to it
        regressed = open_regressions(session, repo.key, upto=stored.history_upto) if fail_on_regression else []
    if note:
        typer.echo(note, err=True)
    if regressed:
        fail(regression_summary(regressed))


@cli.command("history")
def history_command(
    path: str | None = typer.Argument(
        None, metavar="PATH|URL", help="The repository: a path or a git URL (default SAWMILL_REPO, then the current folder)."
    ),
    module: str | None = typer.Option(None, "--module", help="Only this module's timeline (its path)."),
    config: Path | None = typer.Option(None, "--config", help="A sawmill.yaml to use instead of the repository's own."),
    as_json: bool = typer.Option(False, "--json", help="Print {events: [...]} instead of lines."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Forget the stored history and walk it all again."),
) -> None:
    """Update and print the migration history of the default branch: every module's moves."""
    import json

    from app.scanner import ScanError
    from app.services.history import record_history
    from app.services.jobs import local_copy
    from app.services.mirror import FetchError
    from app.services.repos import tracked
    from app.store.history import events, history_view

    settings = get_settings()
    url = open_store(settings)
    tracked_repo = tracked(path or settings.repo or ".")
    repository = tracked_repo.key
    bar = ProgressBar()
    try:
        repo = local_copy(settings, tracked_repo, lambda line: typer.echo(line, err=True))
        with session_scope(url, repository) as session:
            update = record_history(
                session, repo, repository, config or settings.config, bar, rebuild, settings.branch,
                settings.stale_branch_days,
            )  # fmt: skip
            # a module as the shell completes it (trailing slash, ./) is the same module
            module = module.removeprefix("./").strip("/") if module else None
            items = events(session, repository, module)
            view = history_view(session, repository)
    except (ScanError, FetchError) as exc:
        fail(str(exc))
    finally:
        bar.close()
    if update.note:
        typer.echo(update.note, err=True)
    if as_json:
        typer.echo(json.dumps({"events": items, "forecast": view.forecast.message, "branches": view.branches}, indent=2))
        return
    for item in items:
        typer.echo(event_line(item))
    if not items:
        typer.echo("no module has changed status yet" if module is None else f"no recorded change for {module}")
    for branch in view.branches:
        typer.echo(f"in flight: {branch['module']} has chainsaw tests on {branch['branch']}")
    typer.echo(f"forecast: {view.forecast.message}")


@cli.command("import")
def import_command(
    file: Path = typer.Argument(..., help="The progress document (markdown) to import."),
    who: str = typer.Option("cli", "--who", help="Whose change this is, for the audit log."),
) -> None:
    """Import a progress document; re-importing updates the store in place."""
    from app.progress.reading import read_document
    from app.store.db import session_scope
    from app.store.errors import StoreError
    from app.store.progress_doc import import_document

    try:
        data = read_document(file)  # never past the limit: /dev/zero or a FIFO must not hang or fill memory
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    url = open_store()
    try:
        with session_scope(url, repository_for(url)) as session:
            report = import_document(session, data, who=who, source=str(file))
    except StoreError as exc:
        fail(f"{file}: {exc.message}")
    for warning in report.warnings:
        typer.echo(f"warning: {file}: {warning}", err=True)
    typer.echo(f"imported {file}: {report.line()}")


@cli.command("export")
def export_command(
    output: Path | None = typer.Option(None, "-o", "--output", help="Write here instead of stdout."),
) -> None:
    """Write the progress document as the store holds it (kept true by the last scan)."""
    from app.store.db import session_scope
    from app.store.errors import StoreError
    from app.store.progress_doc import export_document

    url = open_store()
    try:
        with session_scope(url, repository_for(url)) as session:
            text = export_document(session)
    except StoreError as exc:
        fail(exc.message)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_bytes(text.encode("utf-8"))
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")


@cli.command("log")
def log_command(
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="How many entries, newest first."),
    target: str | None = typer.Option(None, "--target", help="Only one row's history, e.g. blocker:3."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object a line, with the whole before and after."),
) -> None:
    """Print the audit log: every change to the progress data, newest first."""
    import json

    from app.store.audit import format_entry
    from app.store.db import session_scope
    from app.store.progress_read import audit_entries

    url = open_store()
    with session_scope(url, repository_for(url)) as session:
        entries = audit_entries(session, limit=limit, target=target)
    for entry in entries:
        line = json.dumps({**entry, "at": entry["at"].isoformat()}, ensure_ascii=False) if as_json else None
        typer.echo(line or format_entry(entry))
    if not entries:
        typer.echo("no changes recorded" + (f" for {target}" if target else ""), err=True)


@cli.command("pin")
def pin_command(
    entry: str = typer.Argument(..., help="The migration entry: its id or its text ('harbor app module')."),
    reason: str = typer.Option(..., "--reason", help="Why the scanner should not decide this entry."),
    until: str | None = typer.Option(None, "--until", help="Expiry date, YYYY-MM-DD (inclusive)."),
    unticked: bool = typer.Option(False, "--unticked", help="Hold the entry unticked instead of ticked."),
    who: str = typer.Option("cli", "--who", help="Whose change this is, for the audit log."),
) -> None:
    """Pin a migration entry: its tick stays as set whatever the scans say, until it expires."""
    from datetime import date

    from app.store.db import session_scope
    from app.store.errors import StoreError
    from app.store.progress_sync import find_entry, pin_entry

    try:
        expiry = date.fromisoformat(until) if until else None
    except ValueError:
        fail(f"--until {until!r} is not a date (YYYY-MM-DD)")
    url = open_store()
    try:
        with session_scope(url, repository_for(url)) as session:
            found = pin_entry(session, find_entry(session, entry).id, reason, who, until=expiry, done=not unticked)
            text = found.text
    except StoreError as exc:
        fail(exc.message)
    typer.echo(f"pinned '{text}'" + (f" until {expiry.isoformat()}" if expiry else ""))


@cli.command("unpin")
def unpin_command(
    entry: str = typer.Argument(..., help="The migration entry: its id or its text."),
    who: str = typer.Option("cli", "--who", help="Whose change this is, for the audit log."),
) -> None:
    """Drop an entry's pin; the last scan decides its tick again."""
    from app.store.db import session_scope
    from app.store.errors import StoreError
    from app.store.progress_sync import find_entry, unpin_entry

    url = open_store()
    try:
        with session_scope(url, repository_for(url)) as session:
            text = unpin_entry(session, find_entry(session, entry).id, who).text
    except StoreError as exc:
        fail(exc.message)
    typer.echo(f"unpinned '{text}'")


@cli.command("info")
def info_command(as_json: bool = typer.Option(False, "--json", help="One JSON object instead of lines.")) -> None:
    """Where Sawmill keeps things and what it tracks: database, data folder, repository, default branch, last scan, the job queue."""
    import json

    from sqlmodel import select

    from app.store.history import HistoryState
    from app.store.jobs import job_view, queue_state
    from app.store.scans import latest_scan
    from app.services.repos import tracked

    settings = get_settings()
    url = open_store(settings)
    repository = repository_for(url, settings)
    with session_scope(url, repository) as session:
        scan = latest_scan(session)
        state = session.exec(select(HistoryState).where(HistoryState.repository == repository)).first()
        queue = [
            {"id": j.id, "repository": j.repository, "state": j.state, "requested_by": j.requested_by,
             "phase": j.phase, "run_after": j.run_after.isoformat()}  # fmt: skip
            for j in queue_state(session)
        ]
        failed = job_view(session, repository)["failed"]
    remote = bool(settings.repo) and tracked(settings.repo).remote
    facts = {
        "database": _redacted_url(url),
        "data_dir": str(settings.data_dir),
        "repository": repository or None,
        "mirror": str(tracked(settings.repo).local(settings.data_dir)) if remote else None,
        "default_branch": settings.branch or (state.branch if state else None),
        "last_scan": {"commit": scan.commit_sha, "ref": scan.ref, "finished_at": scan.finished_at.isoformat() if scan.finished_at else None} if scan else None,
        "queue": queue,
        "last_failure": failed["error"] if failed else None,
        "fetch_interval": settings.fetch_interval,
    }
    if as_json:
        typer.echo(json.dumps(facts, indent=2))
        return
    for name, value in facts.items():
        if name == "queue":
            shown = ", ".join(f"#{j['id']} {j['state']} ({j['requested_by']})" for j in value) or "empty"
        elif name == "last_scan":
            shown = f"{value['commit'][:12]} on {value['ref']}, {value['finished_at']}" if value else "none yet"
        else:
            shown = "none" if value in (None, "") else str(value)
        typer.echo(f"{name.replace('_', ' ') + ':':16}{shown}")


def _database_name(url: str) -> str:
    """A SQLite file by its path, any other database by its URL without the password."""
    path = url.removeprefix("sqlite:///")
    return path if path != url and path and "?" not in path else _redacted_url(url)


SECRET_QUERY_KEYS = ("password", "sslpassword")  # libpq takes a password in the query string too


def _redacted_url(url: str) -> str:
    """A database URL without its password, whether in ``user:password@`` or in the query string."""
    from sqlalchemy.engine import make_url

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:  # a URL SQLAlchemy cannot read: whatever stands between "://" and the last "@" goes
        scheme, sep, rest = url.partition("://")
        shown = f"{scheme}{sep}***@{rest.rpartition('@')[2]}" if "@" in rest else url
    return re.sub(rf"(?i)([?&](?:{'|'.join(SECRET_QUERY_KEYS)})=)[^&#]*", r"\1***", shown)


from app.cli_badge import badge_command  # noqa: E402  (it imports this module's helpers when it runs)

cli.command("badge")(badge_command)

from app.cli_parity import next_command, parity_command  # noqa: E402  (the same: helpers imported when run)

cli.command("parity")(parity_command)
cli.command("next")(next_command)

from app.cli_draft import draft_command  # noqa: E402  (the same: helpers imported when run)

cli.command("draft")(draft_command)

from app.cli_reports import report_command  # noqa: E402  (the same: helpers imported when run)

cli.command("report")(report_command)


def main() -> None:
    # A command is one short process (serve aside: it starts the collector again). What its imports
    # and its work make lives until it exits, so the cyclic collector's passes over it find nothing
    # to free: it waits, and what is left is frozen at the end so that the passes the interpreter
    # makes on its way out skip it too. About 0.2 s of a 0.9 s `sawmill scan` went to those passes.
    gc.disable()
    try:
        cli()
    except Exception as exc:  # last line of defence: a message, not a traceback
        from app.store.errors import one_line

        typer.echo(f"error: {one_line(exc)}", err=True)
        raise SystemExit(1) from None
    finally:
        gc.freeze()
