"""Initial schema: fleet, shops and jobs, plates, the append-only event log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id(name: str = "id") -> sa.Column:
    return sa.Column(name, sa.String(64), nullable=False)


def _ref(name: str, target: str, table: str, *, nullable: bool = False) -> list[SchemaItem]:
    return [
        sa.Column(name, sa.String(64), nullable=nullable),
        sa.ForeignKeyConstraint(
            [name], [target], name=op.f(f"fk_{table}_{name}_{target.split('.')[0]}")
        ),
    ]


def _text(name: str, length: int, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _time(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _number(name: str, kind: type[sa.types.TypeEngine] = sa.Float) -> sa.Column:
    return sa.Column(name, kind(), nullable=False)


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{columns[0]}"), table, list(columns))


def upgrade() -> None:
    op.create_table(
        "sites",
        _id(),
        _text("name", 120),
        _number("lat"),
        _number("lon"),
        _text("tz", 64),
        sa.Column("staffed_hours", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
    )
    op.create_table(
        "printers",
        _id(),
        *_ref("site_id", "sites.id", "printers"),
        _text("name", 120),
        _text("profile_id", 64),
        _text("loaded_material", 32, nullable=True),
        _text("loaded_colour", 64, nullable=True),
        sa.Column("maintenance", sa.Boolean(), nullable=False),
        sa.Column("bed_clear", sa.Boolean(), nullable=False),
        _text("state", 32),
        _text("state_run_id", 64, nullable=True),
        _number("state_connection", sa.BigInteger),
        _number("state_seq", sa.BigInteger),
        _time("state_at"),
        _time("last_seen"),
        _time("offline_since"),
        _time("grace_deadline"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_printers")),
    )
    _index("printers", "site_id")
    _index("printers", "grace_deadline")
    op.create_table(
        "shops",
        _id(),
        _text("name", 120),
        sa.Column("quotas", sa.JSON(), nullable=False),
        _time("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shops")),
    )
    op.create_table(
        "meshes",
        sa.Column("sha256", sa.String(64), nullable=False),
        _text("format", 8),
        _number("size_bytes", sa.Integer),
        _text("stored_path", 500),
        _number("triangles", sa.Integer),
        sa.Column("size_mm", sa.JSON(), nullable=False),
        sa.Column("footprint", sa.JSON(), nullable=False),
        _number("volume_mm3"),
        *_ref("uploaded_by", "shops.id", "meshes", nullable=True),
        _time("created_at", nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_meshes")),
    )
    _create_jobs_and_parts()
    _create_plates()
    _create_event_log()


def _create_jobs_and_parts() -> None:
    op.create_table(
        "jobs",
        _id(),
        *_ref("shop_id", "shops.id", "jobs"),
        _text("client_ref", 128),
        _text("mesh_sha256", 64),
        _text("mesh_format", 8),
        _number("scale"),
        _text("material", 32),
        _text("colour", 64),
        _number("quantity", sa.Integer),
        _number("ship_lat"),
        _number("ship_lon"),
        _time("due"),
        _text("priority", 16),
        _text("notes", 2000),
        _text("quality", 16),
        _text("state", 32),
        _text("reason", 1000, nullable=True),
        _text("reason_code", 64, nullable=True),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("shop_id", "client_ref", name=op.f("uq_jobs_shop_id_client_ref")),
    )
    _index("jobs", "shop_id")
    _index("jobs", "state")


def _create_plates() -> None:
    op.create_table(
        "plates",
        _id(),
        *_ref("printer_id", "printers.id", "plates"),
        _text("material", 32),
        _text("colour", 64),
        _text("state", 32),
        _number("sequence", sa.Integer),
        _text("gcode_sha256", 64, nullable=True),
        _text("gcode_path", 500, nullable=True),
        sa.Column("gcode_bytes", sa.Integer(), nullable=True),
        sa.Column("sliced_stats", sa.JSON(), nullable=True),
        _number("estimated_seconds"),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("seconds_left", sa.Float(), nullable=True),
        *(_time(name) for name in ("planned_start", "planned_end", "dispatched_at")),
        *(_time(name) for name in ("acknowledged_at", "started_at", "finished_at")),
        _time("cleared_at"),
        _text("reason", 1000, nullable=True),
        _number("version", sa.Integer),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plates")),
    )
    _index("plates", "printer_id")
    _index("plates", "state")
    op.create_table(
        "parts",
        _id(),
        *_ref("job_id", "jobs.id", "parts"),
        _number("index", sa.Integer),
        _text("state", 32),
        _number("attempt", sa.Integer),
        *_ref("plate_id", "plates.id", "parts", nullable=True),
        _number("print_seconds_estimate"),
        _number("filament_g"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parts")),
        sa.UniqueConstraint("job_id", "index", name=op.f("uq_parts_job_id_index")),
    )
    _index("parts", "job_id")
    _index("parts", "plate_id")
    _index("parts", "state")
    op.create_table(
        "plate_parts",
        *_ref("plate_id", "plates.id", "plate_parts"),
        *_ref("part_id", "parts.id", "plate_parts"),
        _number("x_mm"),
        _number("y_mm"),
        _number("rotation_deg"),
        _text("object_label", 64),
        _text("state", 32),
        sa.PrimaryKeyConstraint("plate_id", "part_id", name=op.f("pk_plate_parts")),
    )
    _index("plate_parts", "part_id")


# The event log refuses UPDATE and DELETE in the database itself, whoever connects.
_SQLITE_GUARDS = [
    "CREATE TRIGGER events_append_only_{verb} BEFORE {verb} ON events "
    "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END"
]
_POSTGRES_GUARD_FUNCTION = """
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only';
END;
$$
"""
_POSTGRES_GUARD = (
    "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
    "FOR EACH ROW EXECUTE FUNCTION events_append_only()"
)


def _create_event_log() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        _time("at", nullable=False),
        _text("entity_kind", 16),
        _text("entity_id", 64),
        _text("from_state", 32, nullable=True),
        _text("to_state", 32),
        _text("kind", 64),
        sa.Column("details", sa.JSON(), nullable=False),
        _text("actor", 128),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_entity", "events", ["entity_kind", "entity_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_GUARD_FUNCTION)
        op.execute(_POSTGRES_GUARD)
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(_SQLITE_GUARDS[0].format(verb=verb))
    op.create_table(
        "processed_messages",
        _text("source", 16),
        _text("message_id", 160),
        _time("processed_at", nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("source", "message_id", name=op.f("pk_processed_messages")),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
        op.execute("DROP FUNCTION IF EXISTS events_append_only()")
    for table in (
        "processed_messages",
        "events",
        "plate_parts",
        "parts",
        "plates",
        "jobs",
        "meshes",
        "shops",
        "printers",
        "sites",
    ):
        op.drop_table(table)
