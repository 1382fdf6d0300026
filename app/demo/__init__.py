"""The demo: a GitOps repository with a believable migration history.

``sawmill demo PATH`` (and ``make run``) builds it once, imports the demo
progress document (``app/demo/progress.md``) and scans, so a new user sees a
living board within a minute of cloning.

The history starts like the seed repository (every suite legacy, then the
chainsaw PoC on ``infra-kubernetes``), then goes on for months the way a team
moves: a suite migrated every couple of weeks by pull request, an app born
with chainsaw tests, one suite half-way (chainsaw added, the old kustomize
suite not yet deleted), a new app nobody has tested yet, and a branch with
the next migration in flight. Dates end a few days before today, so the
burndown and the forecast look alive.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import git

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import GitOps, seed_history
from app.scanner.model import ScanError

DEMO_DOCUMENT = Path(__file__).with_name("progress.md")
DOCUMENT_PATH = "memory-bank/progress.md"
AUTHORS = [
    ("Ada Fischer", "ada@example.com"),
    ("Bram de Vries", "bram@example.com"),
    ("Chen Wei", "chen@example.com"),
]

# (days after the previous step, what happens); a suite name migrates it.
TIMELINE: list[tuple[int, str, int]] = [
    (18, "infra-networking", 1010),
    (13, "infra-security", 1043),
    (9, "born:apps/subsystems/paperless", 1051),
    (16, "infra-storage", 1066),
    (11, "apps-media", 1080),
    (8, "untested:apps/subsystems/wiki", 1088),
    (12, "half:infra-observability", 1102),
    (6, "apps-coder", 1110),
]
IN_FLIGHT = "infra-clusterops"  # migrated on a branch that is not merged yet


def is_repository(path: Path) -> bool:
    try:
        git.Repo(path).close()
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return False
    return True


def build_demo_repo(path: Path, *, today: datetime | None = None) -> None:
    """Write the demo history into a new repository at ``path`` and check it out."""
    today = today or datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    span = sum(days for days, _, _ in TIMELINE) + 60
    with RepoBuilder(path) as builder:
        repo = GitOps(builder)
        seed_history(repo, start=today - timedelta(days=span))
        clock = builder.head().date + timedelta(days=2)
        builder.write(DOCUMENT_PATH, DEMO_DOCUMENT.read_text(encoding="utf-8"))
        config = f"# Sawmill: where this repository keeps its progress document\nprogress_document: {DOCUMENT_PATH}\n"
        builder.write("sawmill.yaml", config)
        repo.commit("docs: track the chainsaw migration in memory-bank/progress.md", date=clock)
        for step, (days, action, pr) in enumerate(TIMELINE):
            clock += timedelta(days=days)
            _step(repo, action, pr, clock, AUTHORS[step % len(AUTHORS)])
        _branch_in_flight(repo, IN_FLIGHT, clock + timedelta(days=2))
        builder.checkout()


def _step(repo: GitOps, action: str, pr: int, date: datetime, author: tuple[str, str]) -> None:
    kind, _, target = action.rpartition(":")
    if kind == "born":  # a new app that arrives with chainsaw tests
        repo.add_module(target)
        repo.add_chainsaw_suite(f"apps-{Path(target).name}", [target], asserts=3)
        repo.commit(f"feat: add {Path(target).name} app with chainsaw tests (#{pr})", date=date, author=author)
    elif kind == "untested":
        repo.add_module(target)
        repo.commit(f"feat: add {Path(target).name} app (#{pr})", date=date, author=author)
    elif kind == "half":  # chainsaw test added, the legacy suite still there
        modules = repo.suites[target].modules
        legacy = repo.suites[target]
        repo.add_chainsaw_suite(target, modules, asserts=4)
        repo.suites[target] = legacy  # the kustomization and workflow are still in the tree
        names = "/".join(Path(m).name for m in modules)
        repo.commit(f"test: chainsaw tests for {names}, legacy suite kept for now (#{pr})", date=date, author=author)
    else:
        repo.migrate_suite(target, pr=pr, date=date, asserts=3)


def _branch_in_flight(repo: GitOps, suite: str, date: datetime) -> None:
    """Chainsaw tests for ``suite`` on a feature branch, not merged yet."""
    main = repo.builder.head()
    legacy = repo.suites[suite]
    repo.add_chainsaw_suite(suite, legacy.modules, asserts=3)
    repo.suites[suite] = legacy  # main still has only the legacy suite
    names = "/".join(Path(m).name for m in legacy.modules)
    repo.commit(f"wip: chainsaw tests for {names}", date=date, author=AUTHORS[0], branch=f"chainsaw/{suite}", parent=main)


def prepare_demo(path: Path, database_url: str) -> str:
    """Build the repository if it is not there, import the demo document into an empty store, scan.

    Returns the scan's summary line. Raises ``ScanError`` or ``StoreError``
    with a one-line message.
    """
    from app.services import scan_and_store
    from app.store.db import session_scope
    from app.store.progress_doc import has_document, import_document

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ScanError(f"{path} is a file, not a folder; give the demo an empty or new folder")
    if path.exists() and any(path.iterdir()) and not is_repository(path):
        raise ScanError(f"{path} exists and is not a git repository; give the demo an empty or new folder")
    if not is_repository(path):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ScanError(f"cannot create the demo folder {path} ({exc.filename}: {exc.strerror})") from None
        build_demo_repo(path)
    with session_scope(database_url) as session:
        # Only into an empty store: a second `make run` must not undo what people changed on the board.
        if not has_document(session):
            import_document(session, DEMO_DOCUMENT.read_bytes(), who="demo", source=str(DEMO_DOCUMENT))
    _scan, result = scan_and_store(database_url, path.resolve())
    return result.summary.line()
