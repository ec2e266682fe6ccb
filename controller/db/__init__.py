"""The farm database: tables, engines and schema migrations.

    from controller.db import create_engine_for, migrate, unit_of_work

    migrate(url)                       # on every start: brings the schema to head
    engine = create_engine_for(url)    # sqlite:///data/farm.db or postgresql://...
    with unit_of_work(engine) as session:
        ...                            # controller.lifecycle operations take this session

The tables are in `controller.db.tables`; state changes go through `controller.lifecycle`,
never by assigning `state` directly, so the event log stays complete.
"""

from controller.db.engine import (
    DatabaseUrlError,
    create_engine_for,
    new_session,
    normalise_url,
    unit_of_work,
)
from controller.db.migrate import (
    SchemaTooNew,
    current_revision,
    head_revision,
    migrate,
    schema_differences,
)
from controller.db.types import UTCDateTime, utcnow

# The identity tables (controller.security's) share the farm's metadata and migrations.
import controller.db.identity_tables  # noqa: F401  isort: skip

__all__ = [
    "DatabaseUrlError",
    "SchemaTooNew",
    "UTCDateTime",
    "create_engine_for",
    "current_revision",
    "head_revision",
    "migrate",
    "new_session",
    "normalise_url",
    "schema_differences",
    "unit_of_work",
    "utcnow",
]
