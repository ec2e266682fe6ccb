"""The scheduler's view of the farm, read from the database: a `protocol.planning.PlanInstance`.

Sites with their staffed hours, printers with their beds, materials and loaded spools (and
whether they are free, busy until an estimate, waiting for a bed clear, in maintenance or
offline), every open part with its mesh's outline, and the plates already locked (being
sliced, sliced, dispatched or printing) that a re-plan must keep as they are.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

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


def build_instance(session: Session, now: datetime) -> PlanInstance:
    printers = list(session.exec(select(Printer).order_by(col(Printer.id))))
    locked = list(
        session.exec(select(Plate).where(col(Plate.state).in_([s.value for s in LOCKED_PLATES])))
    )
    placements = _placements(session, [plate.id for plate in locked])
    return PlanInstance(
        now=now,
        sites=[_site(site) for site in session.exec(select(Site).order_by(col(Site.id)))],
        printers=[_printer(p, locked, now) for p in printers],
        parts=_parts(session, {plate.id for plate in locked}),
        locked_plates=[
            _locked(plate, placements[plate.id]) for plate in locked if placements[plate.id]
        ],
    )


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


def _printer(printer: Printer, locked: list[Plate], now: datetime) -> PrinterSpec:
    printer_profile = profile(printer.profile_id)
    busy = [p for p in locked if p.printer_id == printer.id and p.state in _BUSY_PLATE_STATES]
    state, free_at = _availability(printer, busy, now)
    return PrinterSpec(
        id=printer.id,
        site=printer.site_id,
        bed=_bed(printer_profile),
        max_height_mm=printer_profile.machine.max_z_mm,
        materials=sorted({m.upper() for m in printer_profile.materials}),
        enclosed=printer_profile.machine.enclosed,
        loaded_material=printer.loaded_material,
        loaded_colour=printer.loaded_colour,
        state=state,
        free_at=free_at,
    )


def _availability(
    printer: Printer, busy: list[Plate], now: datetime
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
