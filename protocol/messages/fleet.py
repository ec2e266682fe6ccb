"""Retained summaries the controller publishes for the staff TUI under `fleet/`.

- `fleet/printers/{site}/{printer}`: `FleetPrinterSummary`, one per printer.
- `fleet/queue`: `QueueSummary`, the farm's open jobs (counts plus the most urgent jobs).
- `fleet/plates/{site}`: `PlateList`, the current and next plates at one site, with each
  part's place and outline so the TUI can draw the bed.
- `fleet/sites/{site}`: `SiteSummary`, one line per makerspace.
- `fleet/alerts`: `AlertList`, the alerts open now (an empty list clears them).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from protocol.base import Message, register_message
from protocol.fields import (
    MAX_PARTS_PER_PLATE,
    ClientRef,
    Colour,
    Count,
    Fraction,
    Id,
    Label,
    Line,
    Material,
    Millimetres,
    ProfileId,
    Seconds,
    UtcDateTime,
)
from protocol.messages.jobs import PartCounts, Priority
from protocol.messages.printer import PrinterStatus
from protocol.states import JobState, PartState, PlateState

WAITING_FOR_STAFF = frozenset({PrinterStatus.AWAITING_BED_CLEAR, PrinterStatus.NEEDS_OPERATOR})


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


class _Summary(Message):
    direction = "controller -> TUI"


@register_message
class FleetPrinterSummary(_Summary):
    type: Literal["fleet.printer"] = "fleet.printer"
    site_id: Id
    printer_id: Id
    name: Label
    profile_id: ProfileId
    state: PrinterStatus
    material: Material | None = None
    colour: Colour | None = None
    plate_id: Id | None = None
    progress: Fraction | None = None
    seconds_left: Seconds | None = None
    queued_plates: Count = 0
    error: Line = ""
    last_seen_at: UtcDateTime | None = None
    updated_at: UtcDateTime

    @property
    def waiting_for_staff(self) -> bool:
        return self.state in WAITING_FOR_STAFF


class QueuedJob(_Part):
    job_id: Id
    shop_id: Id
    client_ref: ClientRef
    state: JobState
    material: Material
    colour: Colour
    quantity: int = Field(ge=1, le=1000)
    parts: PartCounts
    priority: Priority
    due: UtcDateTime | None = None
    estimated_completion: UtcDateTime | None = None
    site_id: Id | None = Field(default=None, description="where its parts are planned, if one site")
    late: bool = Field(default=False, description="due date passed or estimated after it")
    at_risk: bool = Field(default=False, description="estimated to finish close to its due date")


@register_message
class QueueSummary(_Summary):
    max_bytes = 512 * 1024
    type: Literal["fleet.queue"] = "fleet.queue"
    jobs_by_state: dict[JobState, Count] = Field(default_factory=dict, max_length=16)
    parts_by_material: dict[Material, Count] = Field(default_factory=dict, max_length=64)
    jobs_by_shop: dict[Id, Count] = Field(default_factory=dict, max_length=2000)
    late: Count = 0
    at_risk: Count = 0
    jobs: tuple[QueuedJob, ...] = Field(
        default=(), max_length=200, description="open jobs, most urgent first (late, at risk, due)"
    )
    updated_at: UtcDateTime


Point = tuple[Millimetres, Millimetres]


class PlacedPart(_Part):
    """A part on a plate, placed as the scheduler's plan does (see `protocol.planning`): its
    `footprint` (in the part's own coordinates) is rotated `rotation_deg` counter-clockwise
    about the part's origin, then moved by (`x_mm`, `y_mm`) from the bed's front-left corner.
    """

    part_id: Id
    job_id: Id
    x_mm: Millimetres = Field(description="where the part's origin is on the bed")
    y_mm: Millimetres
    rotation_deg: float = Field(default=0.0, ge=-360.0, le=360.0)
    footprint: tuple[Point, ...] = Field(
        default=(),
        max_length=64,
        description="outline [x, y] in mm, part coordinates, simplified to at most 64 points",
    )
    state: PartState


class PlateSummary(_Part):
    plate_id: Id
    site_id: Id
    printer_id: Id | None = None
    material: Material
    colour: Colour
    state: PlateState
    bed_width_mm: Annotated[float, Field(gt=0.0, le=10_000.0)]
    bed_depth_mm: Annotated[float, Field(gt=0.0, le=10_000.0)]
    parts: tuple[PlacedPart, ...] = Field(default=(), max_length=MAX_PARTS_PER_PLATE)
    starts_at: UtcDateTime | None = Field(
        default=None, description="actual once started, else estimate"
    )
    ends_at: UtcDateTime | None = Field(
        default=None, description="actual once ended, else estimate"
    )


@register_message
class PlateList(_Summary):
    max_bytes = 2 * 1024 * 1024
    type: Literal["fleet.plates"] = "fleet.plates"
    site_id: Id
    plates: tuple[PlateSummary, ...] = Field(default=(), max_length=200)
    updated_at: UtcDateTime


class MaterialNeed(_Part):
    """A spool staff will have to load soon."""

    material: Material
    colour: Colour
    printer_id: Id | None = None
    needed_at: UtcDateTime | None = None


@register_message
class SiteSummary(_Summary):
    type: Literal["fleet.site"] = "fleet.site"
    site_id: Id
    name: Label
    timezone: str = Field(
        default="UTC",
        pattern=r"^[A-Za-z0-9_+/-]{1,64}$",
        description="IANA time zone; the TUI shows local times in it",
    )
    printers: Count = 0
    printing: Count = 0
    idle: Count = 0
    waiting_for_staff: Count = 0
    offline: Count = 0
    error: Count = 0
    maintenance: Count = 0
    parts_queued: Count = 0
    parts_moved_in: Count = Field(default=0, description="parts planned here for other sites' area")
    parts_moved_out: Count = Field(default=0, description="parts of this area planned elsewhere")
    materials_needed_next: tuple[MaterialNeed, ...] = Field(default=(), max_length=32)
    updated_at: UtcDateTime


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Alert(_Part):
    alert_id: Id
    severity: Severity
    message: Line = Field(min_length=1)
    site_id: Id | None = None
    printer_id: Id | None = None
    job_id: Id | None = None
    raised_at: UtcDateTime


@register_message
class AlertList(_Summary):
    max_bytes = 512 * 1024
    type: Literal["fleet.alerts"] = "fleet.alerts"
    alerts: tuple[Alert, ...] = Field(default=(), max_length=500)
    updated_at: UtcDateTime
