"""``sawmill badge --out DIR``: the badges as files, for CI to publish where a README can reach them.

A server behind sign-in (or on a private network) cannot feed a public README;
CI runs ``sawmill scan`` and then this, and publishes the folder (GitHub Pages,
an artifact bucket). The files are the server's own answers: the same
``Snapshot`` draws them (``app.web.api``), so a file and ``/badge/...`` agree.
"""

from __future__ import annotations

import re
from pathlib import Path

import typer


def badge_command(
    out: Path = typer.Option(..., "--out", "-o", help="The folder to write into (made if missing)."),
) -> None:
    """Write the badges as files for CI to publish (SVG and shields endpoint JSON).

    migration.svg and .json, one pair per module group (migration-apps.svg ...), and
    blockers.svg and .json: what /badge/... and /api/badge/... answer."""
    from app.cli import fail, open_store, repository_for
    from app.store.db import session_scope
    from app.web.api import Snapshot, build_status

    url = open_store()
    with session_scope(url, repository_for(url)) as session:
        snapshot = Snapshot(build_status(session))
    files = badge_files(snapshot)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, body in files.items():
            (out / name).write_bytes(body)
    except OSError as exc:
        fail(f"cannot write the badges to {out}: {exc.strerror or exc}")
    if snapshot.status["last_scan"] is None:
        typer.echo("no scan yet: the migration badges say so (run `sawmill scan` first)", err=True)
    typer.echo(f"wrote {len(files)} files to {out}: {', '.join(files)}")


def badge_files(snapshot) -> dict[str, bytes]:
    """File name -> body, for every badge the server answers."""
    wanted = [("migration", None, "migration"), ("blockers", None, "blockers")]
    wanted += [("migration", group, f"migration-{slug(group)}") for group in snapshot.status["groups"]]
    files: dict[str, bytes] = {}
    for kind, group, stem in wanted:
        files[f"{stem}.svg"] = snapshot.badge(kind, group, "svg")[0]
        files[f"{stem}.json"] = snapshot.badge(kind, group, "json")[0]
    return files


def slug(group: str) -> str:
    # A group is a module root's name; nothing in it may climb out of the folder.
    return re.sub(r"[^A-Za-z0-9_-]+", "-", group).strip("-") or "group"
