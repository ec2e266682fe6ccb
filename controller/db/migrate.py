"""Schema migrations, run from code: `migrate(url)` brings any farm database to the newest
schema; `schema_differences(url)` lists where the models and the migrated database disagree.

The migrations live in `controller/db/migrations/versions/` (alembic, no alembic.ini). To
write a new one after changing `tables.py`:

    .venv/bin/python -c "from controller.db.migrate import new_revision; \\
        new_revision('sqlite:///tmp/farm.db', 'add printer nozzle')"

then read and correct the generated file (autogenerate misses renames and data moves).
The database is never dropped and recreated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData
from sqlalchemy.engine import URL

from controller.db.engine import create_engine_for
from controller.db.tables import metadata

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the farm, pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer makerfarm than this one."""


def migrate(url: str | URL | Engine, revision: str = "head") -> str:
    """Upgrade the database to the newest schema (or to `revision`); returns the revision it
    is now at.

    Safe to call on every start and from several processes at once (PostgreSQL serialises
    them with an advisory lock; SQLite with its write lock). Raises SchemaTooNew when the
    database is at a revision this code does not know."""
    engine = url if isinstance(url, Engine) else create_engine_for(url)
    try:
        _refuse_unknown_revision(engine)
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
        reached = current_revision(engine)
    finally:
        if not isinstance(url, Engine):
            engine.dispose()
    if reached is None:
        raise RuntimeError("the migrations ran but the database records no revision")
    return reached


def _refuse_unknown_revision(engine: Engine) -> None:
    revision = current_revision(engine)
    if revision is None:
        return
    scripts = ScriptDirectory.from_config(alembic_config())
    known = {script.revision for script in scripts.walk_revisions()}
    if revision not in known:
        raise SchemaTooNew(
            f"the database is at schema revision {revision}, which this makerfarm does not "
            f"know (it knows up to {head_revision()}): it was upgraded by a newer makerfarm. "
            "Run that version, or restore a backup taken before the upgrade."
        )


def schema_differences(engine: Engine, target: MetaData = metadata) -> list[Any]:
    """Differences between the models (`target`) and the database; empty when they agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, target))


def new_revision(url: str, message: str) -> None:
    """Autogenerate a migration from the models against a database migrated to head."""
    engine = create_engine_for(url)
    try:
        migrate(engine)
        with engine.begin() as connection:
            command.revision(alembic_config(connection), message=message, autogenerate=True)
    finally:
        engine.dispose()
