"""Alembic environment for the farm database: runs on the connection `migrate()` passes in.

Only online migrations on a given connection are supported; `controller.db.migrate` is the
entry point (there is no alembic.ini). On PostgreSQL a transaction-scoped advisory lock makes
two controllers starting at once migrate one after the other.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from controller.db.tables import metadata

# an arbitrary constant naming "the makerfarm schema migration" lock
MIGRATION_LOCK_ID = 0x6D616B6572

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "run the farm's migrations with controller.db.migrate.migrate(url), not the alembic CLI"
    )
if connection.dialect.name == "postgresql":
    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})

context.configure(
    connection=connection,
    target_metadata=metadata,
    compare_type=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
