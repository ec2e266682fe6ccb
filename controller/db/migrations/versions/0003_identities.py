"""Identities: broker logins of shops, agents, staff, bridges and controllers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OWNERS = (("shop_id", "shops"), ("printer_id", "printers"), ("site_id", "sites"))


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        *(sa.Column(column, sa.String(64), nullable=True) for column, _ in _OWNERS),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_changed_at", sa.DateTime(timezone=True), nullable=False),
        *(
            sa.ForeignKeyConstraint(
                [column], [f"{table}.id"], name=op.f(f"fk_identities_{column}_{table}")
            )
            for column, table in _OWNERS
        ),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_identities")),
    )
    for column in ("role", *(column for column, _ in _OWNERS)):
        op.create_index(op.f(f"ix_identities_{column}"), "identities", [column])


def downgrade() -> None:
    op.drop_table("identities")
