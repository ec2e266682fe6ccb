"""The planning contract: the JSON of a farm instance (`makerfarm plan INSTANCE.json`) and a plan.

`PlanInstance` is everything the scheduler needs to decide what each printer prints next:
sites with their staffed hours, printers with their beds and loaded spools, open parts with
their outlines, plates already locked (sliced, dispatched or printing), costs and packing
rules. `Plan` is the answer: plates with every part's position on the bed, the order of
plates per printer, the parts it could not place with a reason, and metrics.

Coordinates on a bed: millimetres from the bed's front-left corner (a round bed's centre is
at (diameter/2, diameter/2)). A part's `footprint` is its outline on the bed in the part's
own coordinates; a placement rotates that outline by `rotation_deg` counter-clockwise about
the part's origin and then moves it by (`x_mm`, `y_mm`). Times are UTC.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from protocol.base import SCHEMA_VERSION
from protocol.fields import Colour, Id, Line, Material, UtcDateTime
from protocol.messages.jobs import Priority, ShipTo
from protocol.schema import register_schema

MAX_SITES = 1_000
MAX_PRINTERS = 10_000
MAX_PARTS = 200_000
MAX_FOOTPRINT_POINTS = 512
MAX_BED_MM = 2_000.0
MAX_PLAN_SECONDS = 366 * 24 * 3600
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Rotation steps the packer supports: divisors of 360 on its 5-degree direction grid.
ROTATION_STEPS = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 360)

_HOURS_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# "09:00-17:30", local time of the site; "24:00" ends a day.
StaffedInterval = Annotated[str, Field(pattern=_HOURS_RE.pattern, max_length=11)]
Mm = Annotated[float, Field(gt=0.0, le=MAX_BED_MM)]
PlanSeconds = Annotated[float, Field(ge=0.0, le=MAX_PLAN_SECONDS)]
Point = tuple[
    Annotated[float, Field(ge=-MAX_BED_MM, le=MAX_BED_MM)],
    Annotated[float, Field(ge=-MAX_BED_MM, le=MAX_BED_MM)],
]


def staffed_minutes(interval: str) -> tuple[int, int]:
    """("09:00-17:30") -> (540, 1050): minutes after local midnight."""
    match = _HOURS_RE.match(interval)
    if match is None:
        raise ValueError(f"staffed hours {interval!r} are not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(group) for group in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end > 24 * 60 or end <= start:
        raise ValueError(
            f"staffed hours {interval!r} must end after they start, by 24:00 "
            "(split a night shift into two days)"
        )
    return start, end


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _Output(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SiteSpec(_Input):
    """A makerspace: where it is, its time zone and when staff are there."""

    id: Id
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    timezone: str = Field(
        "UTC",
        pattern=r"^[A-Za-z0-9_+\-/]{1,64}$",
        description="IANA time zone name, e.g. Europe/Berlin",
    )
    staffed_hours: dict[Weekday, list[StaffedInterval]] = Field(
        default_factory=dict, description='local hours per weekday, e.g. {"mon": ["09:00-17:00"]}'
    )
    operators: int = Field(1, ge=1, le=100, description="staff who clear beds at the same time")

    @field_validator("staffed_hours")
    @classmethod
    def _intervals_are_ordered(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, intervals in value.items():
            if len(intervals) > 8:
                raise ValueError(f"{day}: at most 8 staffed intervals a day")
            spans = sorted(staffed_minutes(interval) for interval in intervals)
            for (_, end), (start, _) in pairwise(spans):
                if start < end:
                    raise ValueError(f"{day}: staffed intervals overlap")
        return value


class BedSpec(_Input):
    """A build plate: a rectangle `width_mm` x `depth_mm`, or a circle `width_mm` across."""

    shape: Literal["rectangle", "circle"] = "rectangle"
    width_mm: Mm
    depth_mm: Mm | None = Field(None, description="rectangle only; defaults to width_mm")


PrinterStateName = Literal["idle", "printing", "bed_full", "maintenance", "offline"]


class PrinterSpec(_Input):
    """A printer as the scheduler sees it.

    `state`: idle (bed clear, can start any time), printing (busy until `free_at`, then its
    bed must be cleared), bed_full (finished, waiting for staff), maintenance (unavailable
    until `free_at`), offline (unavailable).
    """

    id: Id
    site: Id
    bed: BedSpec
    max_height_mm: Mm
    materials: list[Material] = Field(min_length=1, max_length=64)
    enclosed: bool = False
    loaded_material: Material | None = None
    loaded_colour: Colour | None = None
    state: PrinterStateName = "idle"
    free_at: UtcDateTime | None = None


class PartSpec(_Input):
    """One unit of a job's quantity, still to be printed (or locked on a plate)."""

    id: Id
    job: Id
    shop: Id
    material: Material
    colour: Colour
    footprint: list[Point] = Field(
        min_length=3,
        max_length=MAX_FOOTPRINT_POINTS,
        description="outline on the bed in mm (its convex hull is used)",
    )
    height_mm: Mm
    print_seconds: PlanSeconds
    due: UtcDateTime
    ship_to: ShipTo
    priority: Priority = Priority.NORMAL
    needs_enclosure: bool = Field(False, description="material needs an enclosed printer")
    locked_plate: Id | None = Field(None, description="a plate in `locked_plates` this part is on")


class Placement(_Input):
    """Where one part sits on its plate (see the module docstring for the convention)."""

    part: Id
    x_mm: float = Field(ge=-MAX_BED_MM, le=MAX_BED_MM)
    y_mm: float = Field(ge=-MAX_BED_MM, le=MAX_BED_MM)
    rotation_deg: float = Field(ge=0.0, lt=360.0)


class LockedPlateSpec(_Input):
    """A plate already sliced, dispatched or printing: it stays exactly as it is.

    Plates on one printer run in the order they are listed.
    """

    id: Id
    printer: Id
    status: Literal["sliced", "dispatched", "printing"]
    material: Material
    colour: Colour
    placements: list[Placement] = Field(min_length=1, max_length=2_000)
    print_seconds: PlanSeconds
    started_at: UtcDateTime | None = None


class CostSpec(_Input):
    """What operator time, distance and lateness cost (cost units are arbitrary but shared)."""

    spool_change_minutes: float = Field(10.0, ge=0.0, le=240.0)
    bed_clear_minutes: float = Field(5.0, ge=0.0, le=240.0)
    plate_overhead_seconds: float = Field(
        600.0, ge=0.0, le=7200.0, description="heat-up, bed levelling and purge per plate"
    )
    max_ship_km: float = Field(80.0, gt=0.0, le=20_000.0)
    cost_per_km: float = Field(0.02, ge=0.0, le=1_000.0, description="per part and km shipped")
    lateness_cost_per_hour: float = Field(1.0, ge=0.0, le=1_000.0, description="per part-hour late")
    waiting_cost_per_hour: float = Field(
        0.02, ge=0.0, le=1_000.0, description="per part-hour until printed, due or not"
    )
    spool_change_cost: float = Field(2.0, ge=0.0, le=1_000.0)
    makespan_cost_per_hour: float = Field(
        2.0,
        ge=0.0,
        le=1_000.0,
        description="per hour until the last plate ends: finishing the "
        "farm's work early leaves room for the next jobs",
    )
    bed_clear_cost: float = Field(0.5, ge=0.0, le=1_000.0)


class PackingSpec(_Input):
    """How parts are nested on a plate."""

    spacing_mm: float = Field(6.0, ge=0.0, le=100.0, description="gap between parts")
    edge_margin_mm: float = Field(3.0, ge=0.0, le=100.0, description="gap to the bed's edge")
    rotation_step_deg: int = Field(90, description="rotations tried: multiples of this step")

    @field_validator("rotation_step_deg")
    @classmethod
    def _supported_step(cls, value: int) -> int:
        if value not in ROTATION_STEPS:
            raise ValueError(f"rotation_step_deg must be one of {ROTATION_STEPS}")
        return value


class PlanInstance(_Input):
    """Input of `makerfarm plan`: the farm now and the work to plan."""

    type: Literal["plan.instance"] = "plan.instance"
    schema_version: Literal[1] = Field(SCHEMA_VERSION, alias="schema")
    now: UtcDateTime
    sites: list[SiteSpec] = Field(min_length=1, max_length=MAX_SITES)
    printers: list[PrinterSpec] = Field(max_length=MAX_PRINTERS)
    parts: list[PartSpec] = Field(max_length=MAX_PARTS)
    locked_plates: list[LockedPlateSpec] = Field(default_factory=list, max_length=MAX_PRINTERS * 8)
    costs: CostSpec = Field(default_factory=CostSpec)
    packing: PackingSpec = Field(default_factory=PackingSpec)
    freeze_hours: float = Field(
        24.0, ge=0.0, le=24 * 60, description="plates of the previous plan starting this soon stay"
    )

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )

    @model_validator(mode="after")
    def _references_resolve(self) -> PlanInstance:
        problems: list[str] = []
        site_ids = _unique("site", [site.id for site in self.sites], problems)
        printer_ids = _unique("printer", [printer.id for printer in self.printers], problems)
        _unique("part", [part.id for part in self.parts], problems)
        plate_ids = _unique("locked plate", [plate.id for plate in self.locked_plates], problems)
        for printer in self.printers:
            if printer.site not in site_ids:
                problems.append(f"printer {printer.id} names unknown site {printer.site}")
        for plate in self.locked_plates:
            if plate.printer not in printer_ids:
                problems.append(f"locked plate {plate.id} names unknown printer {plate.printer}")
        for part in self.parts:
            if part.locked_plate is not None and part.locked_plate not in plate_ids:
                problems.append(f"part {part.id} is locked on unknown plate {part.locked_plate}")
        if problems:
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise ValueError("; ".join(problems[:5]) + more)
        return self


def _unique(kind: str, ids: list[str], problems: list[str]) -> set[str]:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            problems.append(f"{kind} id {item} appears twice")
        seen.add(item)
    return seen


# ---- the plan ---------------------------------------------------------------------------


class PlannedPlate(_Output):
    """One plate: which printer runs it, what is on it, and when."""

    id: Id
    printer: Id
    site: Id
    material: Material
    colour: Colour
    placements: list[Placement]
    print_seconds: PlanSeconds = Field(description="parts plus per-plate overhead")
    start: UtcDateTime | None = Field(None, description="None while the printer is unavailable")
    end: UtcDateTime | None = None
    locked: bool = Field(False, description="sliced, dispatched or printing: not re-planned")
    promised: bool = Field(False, description="kept from the previous plan")
    spool_change: bool = Field(False, description="staff must load this material first")
    utilisation: float = Field(ge=0.0, le=1.0, description="part area over bed area")
    bed_full: bool = Field(False, description="closed because no further part fitted the bed")


class PrinterQueue(_Output):
    printer: Id
    plates: list[Id]


UnplacedCode = Literal[
    "material", "enclosure", "distance", "height", "bed_size", "printer_unavailable", "capacity"
]


class UnplacedPart(_Output):
    """A part the plan could not place, with a reason a person can act on."""

    part: Id
    job: Id
    code: UnplacedCode
    reason: Line


class PlanMetrics(_Output):
    parts: int = Field(ge=0)
    placed_parts: int = Field(ge=0)
    unplaced_parts: int = Field(ge=0)
    plates: int = Field(ge=0)
    makespan_hours: float = Field(ge=0.0, description="from `now` to the end of the last plate")
    mean_tardiness_hours: float = Field(ge=0.0)
    late_parts: int = Field(ge=0)
    spool_changes: int = Field(ge=0)
    operator_visits: int = Field(ge=0, description="bed clears and spool changes")
    mean_plate_utilisation: float = Field(ge=0.0, le=1.0)
    full_plate_utilisation: float | None = Field(None, ge=0.0, le=1.0)
    mean_ship_km: float = Field(ge=0.0)
    idle_full_bed_hours: float = Field(ge=0.0, description="printers finished, waiting for staff")
    cost: float = Field(ge=0.0, description="the objective: lateness, distance, operator work")


class Plan(_Output):
    """Output of `makerfarm plan`: plates in run order per printer, and what could not be placed."""

    type: Literal["plan"] = "plan"
    schema_version: Literal[1] = Field(SCHEMA_VERSION, alias="schema")
    now: UtcDateTime
    seed: int
    plates: list[PlannedPlate]
    queues: list[PrinterQueue]
    unplaced: list[UnplacedPart]
    warnings: list[Line] = Field(default_factory=list)
    metrics: PlanMetrics

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )


register_schema("plan.instance", PlanInstance, direction="controller -> scheduler")
register_schema("plan", Plan, direction="scheduler -> controller")
