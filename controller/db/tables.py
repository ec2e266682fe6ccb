"""The farm's tables (sqlmodel): fleet, shops and jobs, plates, and the event log.

States are stored as short strings; their meaning and the allowed transitions live in
`controller.lifecycle.states`. Every timestamp is a `UTCDateTime`. Ids that travel on the wire
(site, printer, shop, job, part, plate) are strings in protocol's id grammar; the event log and
the processed-message ledger use database-generated keys.

The schema is created and changed only by the migrations in `controller/db/migrations/`
(`controller.db.migrate`); a test checks that these models and the migrations agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from controller.db.types import UTCDateTime, utcnow

# Deterministic constraint names, so migrations can name what they alter on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING_CONVENTION)

ID_LENGTH = 64
STATE_LENGTH = 32


class FarmTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of every farm table: its own metadata, apart from any other SQLModel user."""


def _time(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _created() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def _json(*, nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(JSON, nullable=True))
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def _ref(target: str, *, nullable: bool = False, index: bool = True) -> Any:
    column = Column(String(ID_LENGTH), ForeignKey(target), nullable=nullable, index=index)
    return Field(default=None, sa_column=column)


# --- fleet ---------------------------------------------------------------------------------


class Site(FarmTable, table=True):
    """A makerspace: where its printers are and when staff are there to clear beds."""

    __tablename__ = "sites"

    id: str = Field(primary_key=True, max_length=ID_LENGTH)
    name: str = Field(default="", max_length=120)
    lat: float = 0.0
    lon: float = 0.0
    tz: str = Field(default="UTC", max_length=64)
    # weekday (0 = Monday) -> list of [start, end] local "HH:MM" spans
    staffed_hours: dict[str, Any] = _json()


class Printer(FarmTable, table=True):
    """A printer (ids are unique across the farm) and what the farm last knew of it."""

    __tablename__ = "printers"

    id: str = Field(primary_key=True, max_length=ID_LENGTH)
    site_id: str = _ref("sites.id")
    name: str = Field(default="", max_length=120)
    profile_id: str = Field(max_length=ID_LENGTH)
    # the spool on the printer: set by staff (spool_loaded) or by a change the agent reports
    loaded_material: str | None = Field(default=None, max_length=32)
    loaded_colour: str | None = Field(default=None, max_length=64)
    # the spool the agent last reported: only a change in its report is news
    reported_material: str | None = Field(default=None, max_length=32)
    reported_colour: str | None = Field(default=None, max_length=64)
    maintenance: bool = False
    # True only after staff confirmed the bed is empty; cleared when a plate is dispatched.
    bed_clear: bool = True
    state: str = Field(default="offline", max_length=STATE_LENGTH)
    # which agent report the state came from: newer reports supersede (PrinterState.supersedes)
    state_run_id: str | None = Field(default=None, max_length=ID_LENGTH)
    # 64-bit: a Last Will's sequence is the largest safe JSON integer (2**53 - 1)
    state_connection: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    state_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    state_at: datetime | None = _time()
    last_seen: datetime | None = _time()
    offline_since: datetime | None = _time()
    # When an offline printer's in-flight plate is declared interrupted (a durable timer).
    grace_deadline: datetime | None = _time(index=True)


# --- shops and jobs ------------------------------------------------------------------------


class Shop(FarmTable, table=True):
    """An online store that submits jobs; quotas bound what it may have open."""

    __tablename__ = "shops"

    id: str = Field(primary_key=True, max_length=ID_LENGTH)
    name: str = Field(default="", max_length=120)
    quotas: dict[str, Any] = _json()
    created_at: datetime = _created()


class Mesh(FarmTable, table=True):
    """A mesh stored once by content (bytes on disk under the data dir, facts here)."""

    __tablename__ = "meshes"

    sha256: str = Field(primary_key=True, min_length=64, max_length=64)
    format: str = Field(max_length=8)
    size_bytes: int
    stored_path: str = Field(max_length=500)
    triangles: int
    size_mm: list[float] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # outline on the bed as [[x, y], ...] in mm, for the scheduler's packing
    footprint: list[list[float]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    volume_mm3: float
    uploaded_by: str | None = _ref("shops.id", nullable=True, index=False)
    created_at: datetime = _created()


class Job(FarmTable, table=True):
    """A shop's order: `quantity` copies of one mesh in one material and colour."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("shop_id", "client_ref"),)

    id: str = Field(primary_key=True, max_length=ID_LENGTH)
    shop_id: str = _ref("shops.id")
    client_ref: str = Field(max_length=128)
    # no foreign key: a rejected job may name a mesh that never arrived
    mesh_sha256: str = Field(max_length=64)
    mesh_format: str = Field(max_length=8)
    scale: float = 1.0
    material: str = Field(max_length=32)
    colour: str = Field(max_length=64)
    quantity: int
    ship_lat: float
    ship_lon: float
    due: datetime | None = _time()
    priority: str = Field(default="normal", max_length=16)
    notes: str = Field(default="", max_length=2000)
    quality: str = Field(default="standard", max_length=16)
    state: str = Field(max_length=STATE_LENGTH, index=True)
    reason: str | None = Field(default=None, max_length=1000)
    reason_code: str | None = Field(default=None, max_length=64)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Part(FarmTable, table=True):
    """One unit of a job's quantity; printed exactly once (attempts count the retries)."""

    __tablename__ = "parts"
    __table_args__ = (UniqueConstraint("job_id", "index"),)

    id: str = Field(primary_key=True, max_length=ID_LENGTH)
    job_id: str = _ref("jobs.id")
    index: int
    state: str = Field(max_length=STATE_LENGTH, index=True)
    attempt: int = 0
    plate_id: str | None = _ref("plates.id", nullable=True)
    print_seconds_estimate: float = 0.0
    filament_g: float = 0.0


# --- plates --------------------------------------------------------------------------------


class Plate(FarmTable, table=True):
    """One build plate for one printer: parts placed on its bed, sliced into one program."""

    __tablename__ = "plates"

    id: str = Field(primary_key=True, max_length=ID_LENGTH)
    printer_id: str = _ref("printers.id")
    material: str = Field(max_length=32)
    colour: str = Field(max_length=64)
    state: str = Field(max_length=STATE_LENGTH, index=True)
    # order of this plate in its printer's queue (the scheduler's sequence)
    sequence: int = 0
    gcode_sha256: str | None = Field(default=None, max_length=64)
    gcode_path: str | None = Field(default=None, max_length=500)
    gcode_bytes: int | None = None
    sliced_stats: dict[str, Any] | None = _json(nullable=True)
    estimated_seconds: float = 0.0
    progress: float | None = None
    seconds_left: float | None = None
    planned_start: datetime | None = _time()
    planned_end: datetime | None = _time()
    dispatched_at: datetime | None = _time()
    # the agent confirmed it holds the program (plate_received); until then dispatch is resent
    acknowledged_at: datetime | None = _time()
    started_at: datetime | None = _time()
    finished_at: datetime | None = _time()
    cleared_at: datetime | None = _time()
    reason: str | None = Field(default=None, max_length=1000)
    # optimistic lock: every state change bumps it; dispatch claims a plate by its version
    version: int = 1
    created_at: datetime = _created()
    updated_at: datetime = _created()


class PlatePart(FarmTable, table=True):
    """Where a part sits on a plate, its object label in the G-code, and how it came out."""

    __tablename__ = "plate_parts"

    plate_id: str = Field(
        sa_column=Column(String(ID_LENGTH), ForeignKey("plates.id"), primary_key=True)
    )
    part_id: str = Field(
        sa_column=Column(String(ID_LENGTH), ForeignKey("parts.id"), primary_key=True, index=True)
    )
    x_mm: float
    y_mm: float
    rotation_deg: float = 0.0
    object_label: str = Field(max_length=64)
    state: str = Field(max_length=STATE_LENGTH)


# --- the event log and the de-duplication ledger -------------------------------------------


class Event(FarmTable, table=True):
    """One state change of a job, part, plate or printer. Append-only (database triggers)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_entity", "entity_kind", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _created()
    entity_kind: str = Field(max_length=16)
    entity_id: str = Field(max_length=ID_LENGTH)
    from_state: str | None = Field(default=None, max_length=STATE_LENGTH)
    to_state: str = Field(max_length=STATE_LENGTH)
    kind: str = Field(max_length=64)
    details: dict[str, Any] = _json()
    actor: str = Field(max_length=128)


class ProcessedMessage(FarmTable, table=True):
    """An agent event id or staff command id already applied, with the answer given."""

    __tablename__ = "processed_messages"

    source: str = Field(primary_key=True, max_length=16)
    message_id: str = Field(primary_key=True, max_length=160)
    processed_at: datetime = _created()
    result: dict[str, Any] = _json()
