"""Stores that don't mix: every row of people's data belongs to one repository.

Tables holding what a team keeps about one repository (its progress document,
blockers, backlog, milestones, audit log, scans) inherit ``RepositoryScoped``.
A session is bound to one repository (``session_scope(url, repository=key)``);
on that session every ORM select, update and delete of a scoped table is
filtered to the repository, and every new scoped row is stamped with it. So the
store functions stay repository-agnostic, and no query can forget the filter.

A session opened without a repository is bound to the store's current one: the
repository scanned last, or ``""`` before any scan (a document imported before
its repository was first scanned; the first scan adopts it, see ``adopt``).
"""

from __future__ import annotations

from sqlalchemy import event, text, update
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import with_loader_criteria
from sqlmodel import Field, Session, SQLModel

UNSCANNED = ""  # the key of rows stored before any repository was scanned

class Table(SQLModel):
    """The base of every table model: its pydantic schema is built when first used, not at
    import. SQLAlchemy makes the rows and seldom asks pydantic for anything; building two dozen
    schemas up front was about a tenth of every command's start."""

    model_config = {"defer_build": True}


class RepositoryScoped(Table):
    """A table whose rows belong to one repository (its store key: an absolute path or a URL)."""

    repository: str = Field(default=UNSCANNED, index=True)


def scoped_tables() -> list[type[SQLModel]]:
    """Every table model that inherits ``RepositoryScoped``."""
    found, todo = [], list(RepositoryScoped.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if hasattr(cls, "__table__"):
            found.append(cls)
    return sorted(found, key=lambda cls: cls.__tablename__)


def bind(session: Session, repository: str | None) -> Session:
    """Bind ``session`` to ``repository`` (None: the store's current repository, looked up on first use)."""
    if repository is not None:
        session.info["repository"] = repository
    return session


def repository_of(session: Session) -> str:
    """The repository ``session`` is bound to."""
    key = session.info.get("repository")
    if key is None:
        key = session.info["repository"] = current_repository(session)
    return key


def current_repository(session: Session) -> str:
    """The repository scanned last, or ``UNSCANNED`` when nothing was scanned yet."""
    # Plain SQL: an ORM query here would come back through the scoping hook.
    row = session.connection().execute(text("SELECT repository FROM scan ORDER BY id DESC LIMIT 1")).first()
    return row[0] if row else UNSCANNED


def known_repositories(session: Session) -> list[str]:
    """Every repository the store holds scans or a document of, scanned ones first."""
    rows = session.connection().execute(
        text("SELECT repository FROM scan GROUP BY repository ORDER BY max(id) DESC")
    ).all()
    keys = [r[0] for r in rows]
    if session.connection().execute(text("SELECT 1 FROM progress_layout WHERE repository = :k LIMIT 1"), {"k": UNSCANNED}).first():
        keys.append(UNSCANNED)
    return keys


def adopt(session: Session, repository: str) -> bool:
    """Give ``repository`` the rows stored before any scan (a document imported first),
    when it has no document of its own. True when rows moved."""
    has_own = session.connection().execute(
        text("SELECT 1 FROM progress_layout WHERE repository = :k LIMIT 1"), {"k": repository}
    ).first()
    waiting = session.connection().execute(
        text("SELECT 1 FROM progress_layout WHERE repository = :k LIMIT 1"), {"k": UNSCANNED}
    ).first()
    if has_own or not waiting or repository == UNSCANNED:
        return False
    for table in scoped_tables():
        statement = update(table.__table__).where(table.__table__.c.repository == UNSCANNED).values(repository=repository)
        session.connection().execute(statement)
    return True


@event.listens_for(OrmSession, "do_orm_execute")
def _filter(state) -> None:
    if not (state.is_select or state.is_update or state.is_delete) or state.execution_options.get("all_repositories"):
        return
    involved = [m.class_ for m in state.all_mappers if issubclass(m.class_, RepositoryScoped)]
    if not involved:  # the queue, tokens, history: keyed by hand or not at all
        return
    key = repository_of(state.session)
    state.statement = state.statement.options(
        *(with_loader_criteria(table, table.repository == key, include_aliases=True) for table in involved)
    )


@event.listens_for(OrmSession, "before_flush")
def _stamp(session, _context, _instances) -> None:
    new = [obj for obj in session.new if isinstance(obj, RepositoryScoped)]
    if new:
        key = repository_of(session)
        for obj in new:
            if obj.repository == UNSCANNED:  # a row given its repository explicitly keeps it
                obj.repository = key
