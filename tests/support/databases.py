"""Fresh farm databases for tests: a SQLite file, or a PostgreSQL database made and dropped.

`db_url` is parametrised over both back-ends, so a test that takes it runs twice; it is an
empty database. `migrated_db_url` is the same but already migrated to the newest schema and
empty (a SQLite copy of a template migrated once per session; on PostgreSQL one database
migrated once per session and emptied before each test, which is much faster). The
PostgreSQL server is the local one (postgresql://postgres@127.0.0.1:5432/, trust auth; override
with MAKERFARM_TEST_POSTGRES); each test gets its own uniquely named, empty database, dropped
when the test ends. Without a reachable server the PostgreSQL runs are skipped loudly, and fail
when CI=true.

Other test packages use the same fixtures by importing them into their conftest:

    from tests.support.databases import db_url, migrated_db_url, farm_engine  # noqa: F401
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
_RUN_TOKEN = uuid.uuid4().hex[:8]
_counter = itertools.count()


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def postgres_admin_url() -> str:
    return os.environ.get("MAKERFARM_TEST_POSTGRES", DEFAULT_POSTGRES)


def _admin_engine() -> Engine:
    url = make_url(postgres_admin_url()).set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the server's maintenance database, or a loud skip."""
    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        engine.dispose()
        reason = (
            f"PostgreSQL is not reachable at {postgres_admin_url()} "
            f"({error.__class__.__name__}), so the PostgreSQL half of the database "
            "tests cannot run. Start it with "
            "`pg_ctlcluster 15 main start` or set MAKERFARM_TEST_POSTGRES"
        )
        if _in_ci():
            pytest.fail("CI=true and " + reason, pytrace=False)
        pytest.skip("*** SKIPPED: " + reason + " ***")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """A new empty PostgreSQL database for one test, dropped afterwards."""
    name = _new_postgres_database(postgres_admin)
    try:
        yield _postgres_url_for(name)
    finally:
        _drop_postgres_database(postgres_admin, name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file for one test (created on first connection)."""
    return f"sqlite:///{tmp_path / 'farm.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty farm database URL, once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


def _new_postgres_database(admin: Engine) -> str:
    name = f"makerfarm_test_{_RUN_TOKEN}_{os.getpid()}_{next(_counter)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return name


def _drop_postgres_database(admin: Engine, name: str) -> None:
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _postgres_url_for(name: str) -> str:
    return make_url(postgres_admin_url()).set(database=name).render_as_string(hide_password=False)


def _migrate(url: str) -> None:
    from controller.db import create_engine_for, migrate

    engine = create_engine_for(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session, copied for each test."""
    path = tmp_path_factory.mktemp("farm-template") / "farm.db"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated(postgres_admin: Engine) -> Iterator[str]:
    """A PostgreSQL database migrated to head once per session; tests empty it in turn."""
    name = _new_postgres_database(postgres_admin)
    try:
        _migrate(_postgres_url_for(name))
        yield _postgres_url_for(name)
    finally:
        _drop_postgres_database(postgres_admin, name)


def _empty_postgres_tables(url: str) -> None:
    # TRUNCATE does not fire the event log's row triggers, and is far faster than a new
    # database per test.
    from controller.db import create_engine_for
    from controller.db.tables import metadata

    engine = create_engine_for(url)
    try:
        with engine.begin() as connection:
            names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at the newest schema with no rows, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp_path / "farm.db")
        return f"sqlite:///{tmp_path / 'farm.db'}"
    url: str = request.getfixturevalue("postgres_migrated")
    _empty_postgres_tables(url)
    return url


@pytest.fixture
def farm_engine(migrated_db_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to the newest schema."""
    from controller.db import create_engine_for

    engine = create_engine_for(migrated_db_url)
    yield engine
    engine.dispose()
