"""Engines and sessions for the farm database: SQLite (WAL) by default, PostgreSQL by URL.

    engine = create_engine_for("sqlite:///makerfarm-data/farm.db")   # or postgresql://...
    with unit_of_work(engine) as session:      # one transaction: commit on success
        ...

`postgresql://` and `postgres://` URLs use the psycopg 3 driver. SQLite connections run in
WAL mode with foreign keys enforced and a busy timeout, so the service's readers never block
its writer and a second process waits instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseUrlError(ValueError):
    """A database URL the farm cannot use, with what to write instead."""


def normalise_url(url: str | URL) -> URL:
    """The SQLAlchemy URL for a user's database URL (driver filled in for PostgreSQL)."""
    try:
        parsed = make_url(url)
    except Exception as error:
        raise DatabaseUrlError(
            f"cannot read database URL {str(url)!r}: {error}; use sqlite:///path/farm.db "
            "or postgresql://user@host:5432/dbname"
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
            return parsed.set(drivername="postgresql+psycopg")
        raise DatabaseUrlError(
            f"database driver {parsed.drivername!r} is not supported; "
            "write postgresql://... (the farm uses psycopg 3)"
        )
    if backend == "sqlite":
        return parsed
    raise DatabaseUrlError(
        f"database {backend!r} is not supported; use sqlite:///path/farm.db or postgresql://..."
    )


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (below), so
    # SAVEPOINTs and transactional DDL behave as on PostgreSQL.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def create_engine_for(
    url: str | URL, *, echo: bool = False, isolation_level: str | None = None
) -> Engine:
    """An engine for `url`, configured for the farm (see the module docstring);
    `isolation_level` (PostgreSQL only) e.g. "REPEATABLE READ" for several controllers."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:":
            raise DatabaseUrlError(
                "an in-memory SQLite database loses everything on exit and cannot be shared "
                "between connections; give a file: sqlite:///path/farm.db"
            )
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        event.listen(engine, "connect", _enable_sqlite_pragmas)
        event.listen(engine, "begin", _begin_sqlite_transaction)
        return engine
    if isolation_level is not None:
        return create_engine(parsed, echo=echo, pool_pre_ping=True, isolation_level=isolation_level)
    return create_engine(parsed, echo=echo, pool_pre_ping=True)


def new_session(engine: Engine) -> Session:
    """A session whose objects stay readable after commit (the service publishes them)."""
    return Session(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """One transaction: commits when the block ends normally, rolls back on any exception."""
    session = new_session(engine)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
