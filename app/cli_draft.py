"""``sawmill draft [PATH] --module MODULE``: a patch adding a chainsaw test for a legacy module.

The patch goes to stdout (``sawmill draft ... | git apply``); what the draft
learned from the migrated suites, and what a reviewer must look at, go to
stderr. Nothing is written to the repository.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer


def draft_command(
    path: str | None = typer.Argument(
        None, metavar="PATH|URL", help="The repository: a path or a git URL (default SAWMILL_REPO, then the current folder)."
    ),
    module: str = typer.Option(..., "--module", "-m", metavar="MODULE", help="The legacy module: its path or its name."),
    ref: str | None = typer.Option(None, "--ref", metavar="REF", help="Branch, tag or commit to draft from (default HEAD)."),
    config: Path | None = typer.Option(
        None, "--config", metavar="FILE", help="A sawmill.yaml to use instead of the repository's own."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object (files, learned, notes, patch) instead of the patch."),
) -> None:
    """Print a patch (git apply takes it) adding a chainsaw test for a legacy module, and its pair."""
    from app.assistant.draft import draft
    from app.assistant.model import DraftError
    from app.cli import fail, get_settings
    from app.scanner import ScanError
    from app.services.jobs import local_copy
    from app.services.mirror import FetchError
    from app.services.repos import tracked

    settings = get_settings()
    repo = tracked(path or settings.repo or ".")
    try:
        local = local_copy(settings, repo, lambda line: typer.echo(line, err=True))
        result = draft(local, module, ref or settings.ref, config or settings.config)
    except (DraftError, ScanError, FetchError) as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps({**result.to_dict(), "patch": result.patch()}, indent=2))
        return
    for line in result.learned:
        typer.echo(f"following: {line}", err=True)
    for line in result.notes:
        typer.echo(f"note: {line}", err=True)
    typer.echo(result.patch(), nl=False)
