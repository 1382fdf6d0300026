"""A real PostgreSQL server for tests: Debian's ``postgresql`` binaries, run in a temp folder.

One server starts for the whole session (``initdb`` + ``pg_ctl start``, listening
on a unix socket in its own folder only, no TCP) and is stopped when the session
ends, failed or not. Each test asks for a fresh database::

    from tests.postgres import postgres_db, postgres_server  # noqa: F401  (fixtures)

    def test_x(postgres_db):  # "postgresql://sawmill@/t_7?host=/tmp/sawmill-pg-.../socket"
        ...

A database is a copy (``CREATE DATABASE ... TEMPLATE``) of one migrated once per
session with ``app.store.db.migrate``, as the SQLite files are: a copy takes
0.05 s where migrating takes 0.2 s. It is dropped after the test. The URL is
the plain ``postgresql://`` a user writes.

Without the binaries the tests skip, and the session's summary says how many
and how to get them; under ``CI=true`` they fail instead: CI installs them (.ci/run).
``initdb`` and ``postgres`` refuse to run as root: as root, the server runs as
``nobody`` in a folder that user owns.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SUPERUSER = "sawmill"
TEMPLATE = "sawmill_template"
SKIPPED = "no PostgreSQL for the tests: "  # how every skip reason here starts: the summary counts them


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's newest /usr/lib/postgresql/N/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent  # the real folder: pg_ctl finds postgres beside itself
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl") if p.parts[-3].isdigit()]
    return max(versions, key=lambda p: int(p.parts[-3])).parent if versions else None


@dataclass
class PostgresServer:
    """A running server whose data and socket live in ``root``."""

    root: Path
    bin: Path
    owner: pwd.struct_passwd | None  # the user the server runs as, when we are root
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def socket(self) -> Path:
        return self.root / "socket"

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket}"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket.mkdir()
        if self.owner is not None:
            for path in (self.root, self.socket):
                os.chown(path, self.owner.pw_uid, self.owner.pw_gid)
        self._run("initdb", "--pgdata", self.root / "data", "--username", SUPERUSER, "--auth", "trust",
                  "--encoding", "UTF8", "--locale", "C.UTF-8", "--no-sync")  # fmt: skip
        options = " ".join((
            f"-c listen_addresses='' -c unix_socket_directories={self.socket} -c max_connections=200",
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",  # a test server: speed over durability
        ))  # fmt: skip
        self._run("pg_ctl", "start", "--wait", "--pgdata", self.root / "data", "--log", self.root / "server.log",
                  "--options", options)  # fmt: skip

    def stop(self) -> None:
        if (self.root / "data" / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "--wait", "--mode", "immediate", "--pgdata", self.root / "data", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def execute(self, *statements: str) -> None:
        """Run statements outside a transaction (CREATE and DROP DATABASE need that)."""
        import psycopg

        with psycopg.connect(dbname="postgres", user=SUPERUSER, host=str(self.socket), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def make_template(self) -> None:
        """The database every test's is copied from: migrated to head once."""
        from app.store.db import migrate

        self.execute(f"CREATE DATABASE {TEMPLATE}")
        migrate(self.url(TEMPLATE))  # Alembic's own engine has no pool: nothing stays connected

    def create_database(self) -> str:
        """A fresh migrated database; returns its name."""
        name = f"t_{next(self._numbers)}"
        self.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return name

    def drop_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _run(self, program: str, *args: object, check: bool = True) -> None:
        drop = {"user": self.owner.pw_uid, "group": self.owner.pw_gid, "extra_groups": []} if self.owner else {}
        done = subprocess.run(
            [str(self.bin / program), *map(str, args)], capture_output=True, text=True, cwd=self.root, **drop
        )
        if check and done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr or done.stdout}{tail}")


def unavailable() -> str | None:
    """Why a PostgreSQL server cannot be started here, or None."""
    if binaries() is None:
        return f"{SKIPPED}install Debian's postgresql (apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return f"{SKIPPED}install psycopg (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One server for the session, in a temp folder; stopped and removed at the end."""
    reason = unavailable()
    if reason is not None:
        # Only here (and for chromium) does a test read the environment: CI must never skip these.
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}; .ci/run installs it")
        pytest.skip(reason)
    owner = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
    # Not under pytest's tmp folder: as root that is private to root, and the server runs as nobody.
    server = PostgresServer(Path(tempfile.mkdtemp(prefix="sawmill-pg-")), binaries(), owner)
    try:
        server.start()
        server.make_template()
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database migrated to the newest schema, dropped after the test; its URL."""
    from app.store.db import get_engine
    from app.web.status_cache import forget

    name = postgres_server.create_database()
    url = postgres_server.url(name)
    yield url
    forget(url)  # its poll of the server stops
    get_engine(url).dispose()
    postgres_server.drop_database(name)


def summary_line(skipped_reports: list) -> str | None:
    """The line pytest's summary ends with when PostgreSQL tests skipped for want of the server."""
    reasons = [r.longrepr[2] for r in skipped_reports if isinstance(r.longrepr, tuple) and SKIPPED in r.longrepr[2]]
    if not reasons:
        return None
    how = reasons[0].split(SKIPPED, 1)[1]
    return f"{len(reasons)} PostgreSQL tests were skipped, they did NOT run: {how} to run them"
