"""The scheduler's view of the farm, read from the database: a `protocol.planning.PlanInstance`.

Sites with their staffed hours, printers with their beds, materials and loaded spools (and
whether they are free, busy until an estimate, waiting for a bed clear, in maintenance or
offline), every open part with its mesh's outline, and the plates already locked (being
sliced, sliced, dispatched or printing) that a re-plan must keep as they are.

The re-planner keeps one `InstanceBuilder`: printers are read as plain rows, and the
`PrinterSpec` of a printer whose inputs did not change since the last build is reused, so a
re-plan at 5,000 printers costs the store thread a few tens of milliseconds, not most of a
second.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from controller.db.tables import Job, Mesh, Part, Plate, PlatePart, Printer, Site
from controller.lifecycle.states import LOCKED_PLATES, OPEN_JOB_STATES, PARTS_WAITING, PartState
from controller.workers import profile
from firmware_profiles import Profile
from protocol.messages.jobs import Priority, ShipTo
from protocol.planning import (
    WEEKDAYS,
    BedSpec,
    LockedPlateSpec,
    PartSpec,
    Placement,
    PlanInstance,
    PrinterSpec,
    SiteSpec,
)

# A job without a due date is planned as if due this long after it was submitted.
DEFAULT_DUE = timedelta(days=7)
_BUSY_PLATE_STATES = ("dispatched", "printing")
# What the scheduler needs of a printer row: read as plain tuples, not ORM objects (at 5,000
# printers, loading the rows as objects was most of a re-plan's time on the store thread).
_PRINTERS: Table = Printer.__table__  # type: ignore[attr-defined]
_PRINTER_COLUMNS = sa_select(
    _PRINTERS.c.id,
    _PRINTERS.c.site_id,
    _PRINTERS.c.profile_id,
    _PRINTERS.c.state,
    _PRINTERS.c.maintenance,
    _PRINTERS.c.bed_clear,
    _PRINTERS.c.loaded_material,
    _PRINTERS.c.loaded_colour,
).order_by(_PRINTERS.c.id)


@dataclass(frozen=True)
class _PrinterRow:
    id: str
    site_id: str
    profile_id: str
    state: str
    maintenance: bool
    bed_clear: bool
    loaded_material: str | None
    loaded_colour: str | None


class InstanceBuilder:
    """Builds `PlanInstance`s, keeping each printer's `PrinterSpec` between builds.

    A re-plan reads every printer, but between two re-plans only a few change: a spec whose
    inputs (site, profile, spool, availability) are the same as last time is reused as it
    is, so a build validates only the printers that changed. One builder per re-planner."""

    def __init__(self) -> None:
        self._specs: dict[str, tuple[tuple[object, ...], PrinterSpec]] = {}
        self.printers_built = 0  # specs validated afresh (the rest were reused)

    def build(self, session: Session, now: datetime) -> PlanInstance | None:
        """The instance to plan now; None when no part is waiting or locked (nothing to
        plan, and the fleet is not read)."""
        return self._build(session, now, skip_when_idle=True)

    def build_always(self, session: Session, now: datetime) -> PlanInstance:
        instance = self._build(session, now, skip_when_idle=False)
        assert instance is not None
        return instance

    def _build(self, session: Session, now: datetime, skip_when_idle: bool) -> PlanInstance | None:
        locked = list(
            session.exec(
                select(Plate).where(col(Plate.state).in_([s.value for s in LOCKED_PLATES]))
            )
        )
        parts = _parts(session, {plate.id for plate in locked})
        if skip_when_idle and not parts:
            return None
        rows = [_PrinterRow(*row) for row in session.connection().execute(_PRINTER_COLUMNS)]
        busy: dict[str, list[Plate]] = defaultdict(list)
        for plate in locked:
            if plate.state in _BUSY_PLATE_STATES:
                busy[plate.printer_id].append(plate)
        placements = _placements(session, [plate.id for plate in locked])
        printers = [self._spec(row, busy.get(row.id, []), now) for row in rows]
        if len(self._specs) > len(rows):  # printers removed: forget their specs
            ids = {row.id for row in rows}
            self._specs = {k: v for k, v in self._specs.items() if k in ids}
        return PlanInstance(
            now=now,
            sites=[_site(site) for site in session.exec(select(Site).order_by(col(Site.id)))],
            printers=printers,
            parts=parts,
            locked_plates=[
                _locked(plate, placements[plate.id]) for plate in locked if placements[plate.id]
            ],
        )

    def _spec(self, row: _PrinterRow, busy: list[Plate], now: datetime) -> PrinterSpec:
        state, free_at = _availability(row, busy, now)
        key = (
            row.site_id,
            row.profile_id,
            row.loaded_material,
            row.loaded_colour,
            state,
            free_at,
        )
        known = self._specs.get(row.id)
        if known is not None and known[0] == key:
            return known[1]
        spec = _printer(row, state, free_at)
        self._specs[row.id] = (key, spec)
        self.printers_built += 1
        return spec


def build_instance(session: Session, now: datetime) -> PlanInstance:
    """The farm as the scheduler sees it now (a fresh builder: nothing reused)."""
    return InstanceBuilder().build_always(session, now)


def _site(site: Site) -> SiteSpec:
    hours: dict[str, list[str]] = {}
    for day, spans in site.staffed_hours.items():
        hours[WEEKDAYS[int(day)]] = [f"{start}-{end}" for start, end in spans]
    return SiteSpec.model_validate(
        {
            "id": site.id,
            "lat": site.lat,
            "lon": site.lon,
            "timezone": site.tz,
            "staffed_hours": hours,
        }
    )


def _bed(printer_profile: Profile) -> BedSpec:
    machine = printer_profile.machine
    if machine.bed_shape == "circle":
        return BedSpec(shape="circle", width_mm=machine.bed_x_mm)
    return BedSpec(shape="rectangle", width_mm=machine.bed_x_mm, depth_mm=machine.bed_y_mm)


def _printer(row: _PrinterRow, state: str, free_at: datetime | None) -> PrinterSpec:
    printer_profile = profile(row.profile_id)
    return PrinterSpec(
        id=row.id,
        site=row.site_id,
        bed=_bed(printer_profile),
        max_height_mm=printer_profile.machine.max_z_mm,
        materials=sorted({m.upper() for m in printer_profile.materials}),
        enclosed=printer_profile.machine.enclosed,
        loaded_material=row.loaded_material,
        loaded_colour=row.loaded_colour,
        state=state,
        free_at=free_at,
    )


def _availability(
    printer: _PrinterRow, busy: list[Plate], now: datetime
) -> tuple[str, datetime | None]:
    if printer.maintenance or printer.state == "maintenance":
        return "maintenance", None
    if printer.state == "offline" and not busy:
        return "offline", None
    if busy:
        plate = busy[0]
        started = plate.started_at or plate.dispatched_at or now
        end = max(now, started + timedelta(seconds=plate.estimated_seconds))
        return "printing", end
    if not printer.bed_clear or printer.state in ("awaiting_bed_clear", "error", "needs_operator"):
        return "bed_full", None
    return "idle", None


def _placements(session: Session, plate_ids: list[str]) -> dict[str, list[Placement]]:
    result: dict[str, list[Placement]] = defaultdict(list)
    if not plate_ids:
        return result
    rows = session.exec(
        select(PlatePart, Part)
        .join(Part, col(Part.id) == PlatePart.part_id)
        .where(col(PlatePart.plate_id).in_(plate_ids))
    )
    for placement, part in rows:
        if part.plate_id == placement.plate_id and part.state in _LOCKED_PART_STATES:
            result[placement.plate_id].append(
                Placement(
                    part=part.id,
                    x_mm=placement.x_mm,
                    y_mm=placement.y_mm,
                    rotation_deg=placement.rotation_deg % 360.0,
                )
            )
    return result


_LOCKED_PART_STATES = frozenset(
    {PartState.PLANNED, PartState.SLICED, PartState.DISPATCHED, PartState.PRINTING}
)


def _locked(plate: Plate, placements: list[Placement]) -> LockedPlateSpec:
    status = "sliced" if plate.state in ("slicing", "sliced") else plate.state
    return LockedPlateSpec.model_validate(
        {
            "id": plate.id,
            "printer": plate.printer_id,
            "status": status,
            "material": plate.material,
            "colour": plate.colour,
            "placements": placements,
            "print_seconds": plate.estimated_seconds,
            "started_at": plate.started_at,
        }
    )


def _parts(session: Session, locked_ids: set[str]) -> list[PartSpec]:
    open_states = [s.value for s in OPEN_JOB_STATES]
    wanted = [s.value for s in PARTS_WAITING | _LOCKED_PART_STATES]
    rows = session.exec(
        select(Part, Job, Mesh)
        .join(Job, col(Part.job_id) == Job.id)
        .join(Mesh, col(Job.mesh_sha256) == Mesh.sha256)
        .where(col(Job.state).in_(open_states), col(Part.state).in_(wanted))
        .order_by(col(Part.id))
    )
    parts = []
    for part, job, mesh in rows:
        on_locked = part.plate_id if part.plate_id in locked_ids else None
        if on_locked is None and part.state not in PARTS_WAITING:
            continue
        parts.append(
            PartSpec(
                id=part.id,
                job=job.id,
                shop=job.shop_id,
                material=job.material,
                colour=job.colour,
                footprint=[(float(x) * job.scale, float(y) * job.scale) for x, y in mesh.footprint],
                height_mm=max(0.01, float(mesh.size_mm[2]) * job.scale),
                print_seconds=part.print_seconds_estimate,
                due=job.due or (job.created_at + DEFAULT_DUE),
                ship_to=ShipTo(lat=job.ship_lat, lon=job.ship_lon),
                priority=Priority(job.priority),
                locked_plate=on_locked,
            )
        )
    return parts
