"""API tokens and the session-signing secret.

A token is shown once, when it is made; the store keeps only its SHA-256.
Tokens are long random strings, so a fast hash is enough: there is nothing to
guess that a slow hash would protect.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, delete, select, update

from app.store.errors import Conflict, Invalid, NotFound
from app.store.scope import Table

TOKEN_PREFIX = "sawmill_"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def utcnow() -> datetime:
    return datetime.now(UTC)


class ApiToken(Table, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    token_hash: str = Field(unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None  # noted at most every few minutes per process


class AuthSecret(Table, table=True):
    """The key that signs session cookies when Settings names none; one row, id 1."""

    __tablename__ = "auth_secret"

    id: int | None = Field(default=None, primary_key=True)
    value: str
    created_at: datetime = Field(default_factory=utcnow)


@dataclass(frozen=True)
class ActiveToken:
    id: int
    name: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(session: Session, name: str) -> str:
    """Make a token for ``name`` and return it; only its hash is stored."""
    if not NAME_PATTERN.fullmatch(name):
        raise Invalid("a token name is 1 to 64 letters, digits, '.', '_', '@' or '-'", field="name")
    if _active(session, name):
        raise Conflict(f"a token named {name!r} already exists; revoke it first")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=hash_token(token)))
    session.flush()
    return token


def revoke_token(session: Session, name: str) -> None:
    rows = _active(session, name)
    if not rows:
        raise NotFound(f"no active token named {name!r}")
    for row in rows:
        row.revoked_at = utcnow()
        session.add(row)
    session.flush()


ADMIN = "admin"


def ensure_admin_token(session: Session, token: str) -> bool:
    """Make the configured admin token (SAWMILL_ADMIN_TOKEN) the active token named ``admin``:
    a changed secret revokes the old one. True when a row was written."""
    digest = hash_token(token)
    rows = _active(session, ADMIN)
    if [row.token_hash for row in rows] == [digest]:
        return False
    for row in rows:
        row.revoked_at = utcnow()
        session.add(row)
    session.add(ApiToken(name=ADMIN, token_hash=digest))
    session.flush()
    return True


def note_use(session: Session, token_id: int, at: datetime | None = None) -> None:
    session.exec(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=at or utcnow()))


def list_tokens(session: Session) -> list[ApiToken]:
    """Every active token (never its value: only its hash is kept), oldest first."""
    query = (
        select(ApiToken)
        .where(ApiToken.revoked_at.is_(None), ~ApiToken.token_hash.startswith(SESSION))
        .order_by(ApiToken.created_at, ApiToken.id)
    )
    return list(session.exec(query))


# A browser sign-in is a row here too, so every server sees it end: its token_hash is SESSION
# and the hash of a random key the signed cookie carries (never a hex digest, so never a
# bearer token's), its name SESSION and the identity's (':' is in no token's name).
SESSION = "session:"


def session_hash(key: str) -> str:
    return SESSION + hash_token(key)


def open_session(session: Session, name: str, max_age: int) -> str:
    """Record a sign-in of ``name`` and return the key its cookie carries; sessions older
    than ``max_age`` seconds are swept on the way, so the table holds only live ones."""
    cutoff = utcnow() - timedelta(seconds=max_age)
    session.exec(delete(ApiToken).where(ApiToken.token_hash.startswith(SESSION), ApiToken.created_at < cutoff))
    key = secrets.token_urlsafe(32)
    session.add(ApiToken(name=SESSION + name, token_hash=session_hash(key)))
    session.flush()
    return key


def session_open(session: Session, key: str) -> bool:
    return session.exec(select(ApiToken.id).where(ApiToken.token_hash == session_hash(key))).first() is not None


def end_session(session: Session, key: str) -> None:
    """Sign-out: the session's cookie no longer reads or writes, on any server."""
    session.exec(delete(ApiToken).where(ApiToken.token_hash == session_hash(key)))


def active_tokens(session: Session) -> dict[str, ActiveToken]:
    """Every token still valid, by hash: small enough to hold in memory."""
    rows = session.exec(select(ApiToken).where(ApiToken.revoked_at.is_(None)))
    return {row.token_hash: ActiveToken(row.id, row.name) for row in rows}


def session_secret(session: Session) -> str:
    """The stored signing secret, made on first use; every worker reads the same one."""
    row = session.get(AuthSecret, 1)
    if row is not None:
        return row.value
    try:
        with session.begin_nested():
            session.add(AuthSecret(id=1, value=secrets.token_urlsafe(48)))
    except IntegrityError:  # another process made it first: use theirs
        pass
    return session.get(AuthSecret, 1).value


def _active(session: Session, name: str) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
    return list(session.exec(query))
