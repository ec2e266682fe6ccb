"""Printers remember the spool their agent last reported, apart from the loaded one.

A staff `spool_loaded` sets the loaded spool; an agent that keeps reporting the spool it was
configured with must not undo it, so only a change in the agent's report counts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("printers") as batch:
        batch.add_column(sa.Column("reported_material", sa.String(32), nullable=True))
        batch.add_column(sa.Column("reported_colour", sa.String(64), nullable=True))
    # What the agents reported so far is what is loaded now.
    op.execute(
        "UPDATE printers SET reported_material = loaded_material, reported_colour = loaded_colour"
    )


def downgrade() -> None:
    with op.batch_alter_table("printers") as batch:
        batch.drop_column("reported_colour")
        batch.drop_column("reported_material")
