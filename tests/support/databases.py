"""Fresh farm databases for tests: a SQLite file, or a PostgreSQL database made and dropped.

`db_url` is parametrised over both back-ends, so a test that takes it runs twice. The
PostgreSQL server is the local one (postgresql://postgres@127.0.0.1:5432/, trust auth; override
with MAKERFARM_TEST_POSTGRES); each test gets its own uniquely named, empty database, dropped
when the test ends. Without a reachable server the PostgreSQL runs are skipped loudly, and fail
when CI=true.

Other test packages use the same fixtures by importing them into their conftest:

    from tests.support.databases import db_url, farm_engine  # noqa: F401
"""

from __future__ import annotations

import itertools
import os
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
        reason = (f"PostgreSQL is not reachable at {postgres_admin_url()} "
                  f"({error.__class__.__name__}), so the PostgreSQL half of the database "
                  "tests cannot run. Start it with "
                  "`pg_ctlcluster 15 main start` or set MAKERFARM_TEST_POSTGRES")
        if _in_ci():
            pytest.fail("CI=true and " + reason, pytrace=False)
        pytest.skip("*** SKIPPED: " + reason + " ***")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """A new empty PostgreSQL database for one test, dropped afterwards."""
    name = f"makerfarm_test_{_RUN_TOKEN}_{os.getpid()}_{next(_counter)}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_admin_url()).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with postgres_admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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


@pytest.fixture
def farm_engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to the newest schema."""
    from controller.db import create_engine_for, migrate

    engine = create_engine_for(db_url)
    migrate(engine)
    yield engine
    engine.dispose()
