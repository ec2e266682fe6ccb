"""Fixtures for the end-to-end tests: fresh databases on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.support.databases import (  # noqa: F401  (fixtures, found by name)
    db_url,
    postgres_admin,
    postgres_url,
    sqlite_url,
)
