"""Recording the scheduler's plan: planned plates are created, updated or superseded.

Only plates in state `planned` are the plan's to change. Locked plates (being sliced, sliced,
dispatched, printing) stay exactly as they are, and a part on one is never moved by a plan.
A planned plate the new plan no longer has is cancelled (`plate.superseded`); a part the new
plan leaves out goes back to `queued`.

    plan = scheduler.plan(planning_instance(session, now=now, profiles=profiles), previous)
    outcome = record_plan(session, plan)
    session.commit()
    for plate_id in outcome.plates_to_slice: ...
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from controller.db.tables import Part, Plate, PlatePart, Printer
from controller.db.types import utcnow
from controller.leadership import plan_fence
from controller.lifecycle.plate_rules import settle_jobs
from controller.lifecycle.states import LOCKED_PLATES, PartState, PlacementState, PlateState
from controller.lifecycle.transitions import Changes
from protocol.planning import Placement, Plan, PlannedPlate, UnplacedPart


@dataclass
class PlanOutcome:
    """What recording a plan did."""

    changes: Changes = field(default_factory=Changes)
    plates_to_slice: list[str] = field(default_factory=list)  # planned plates, in run order
    skipped: list[str] = field(default_factory=list)  # plan entries ignored, and why
    unplaced: list[UnplacedPart] = field(default_factory=list)


def new_plate_id() -> str:
    return "pl" + uuid.uuid4().hex[:14]


def record_plan(
    session: Session, plan: Plan, *, actor: str = "scheduler", now: datetime | None = None
) -> PlanOutcome:
    """Make the planned plates match `plan` (see the module docstring)."""
    at = now or utcnow()
    plan_fence(session)  # several controllers: one plan is recorded at a time
    outcome = PlanOutcome(unplaced=list(plan.unplaced))
    previous = {
        plate.id: plate
        for plate in session.exec(select(Plate).where(Plate.state == PlateState.PLANNED.value))
    }
    sequence = {
        plate_id: index for queue in plan.queues for index, plate_id in enumerate(queue.plates)
    }
    kept: dict[str, Plate] = {}
    placed: set[str] = set()
    _load_parts(session, [p.part for plate in plan.plates for p in plate.placements])
    for planned in plan.plates:
        if planned.locked:
            continue
        plate = _record_plate(
            session, planned, previous, sequence.get(planned.id, 0), placed, outcome, actor, at
        )
        if plate is not None:
            kept[plate.id] = plate
    _supersede(session, [p for pid, p in previous.items() if pid not in kept], outcome, actor, at)
    _unplan_leftovers(session, placed, outcome.changes, actor, at)
    settle_jobs(session, outcome.changes, actor=actor, now=at)
    outcome.plates_to_slice = sorted(kept, key=lambda pid: (kept[pid].sequence, pid))
    session.flush()
    return outcome


def _load_parts(session: Session, part_ids: list[str], chunk: int = 5000) -> None:
    """Bring the plan's parts into the session in a few queries instead of one per part."""
    for start in range(0, len(part_ids), chunk):
        list(session.exec(select(Part).where(col(Part.id).in_(part_ids[start : start + chunk]))))


def _record_plate(
    session: Session,
    planned: PlannedPlate,
    previous: dict[str, Plate],
    sequence: int,
    placed: set[str],
    outcome: PlanOutcome,
    actor: str,
    at: datetime,
) -> Plate | None:
    if session.get(Printer, planned.printer) is None:
        outcome.skipped.append(f"plate {planned.id}: unknown printer {planned.printer}")
        return None
    parts = _placeable_parts(session, planned.placements, previous, placed, outcome)
    if not parts:
        outcome.skipped.append(f"plate {planned.id}: none of its parts can be placed now")
        return None
    plate = previous.get(planned.id)
    created = plate is None
    if plate is None:
        taken = session.get(Plate, planned.id) is not None
        plate = Plate(
            id=new_plate_id() if taken else planned.id,
            printer_id=planned.printer,
            material=planned.material,
            colour=planned.colour,
            state=PlateState.PLANNED.value,
            created_at=at,
            updated_at=at,
        )
    plate.printer_id = planned.printer
    plate.material, plate.colour = planned.material, planned.colour
    plate.sequence = sequence
    plate.planned_start, plate.planned_end = planned.start, planned.end
    plate.estimated_seconds = planned.print_seconds
    session.add(plate)
    details = {"printer_id": planned.printer, "parts": len(parts)}
    if created:
        outcome.changes.created(session, plate, actor=actor, now=at, details=details)
    moved = _place_parts(session, plate, parts, outcome.changes, actor, at)
    if not created and moved:
        outcome.changes.note(
            session, plate, kind="plate.replanned", actor=actor, now=at, details=details
        )
    return plate


def _placeable_parts(
    session: Session,
    placements: list[Placement],
    previous: dict[str, Plate],
    placed: set[str],
    outcome: PlanOutcome,
) -> list[tuple[Part, Placement]]:
    found: list[tuple[Part, Placement]] = []
    for placement in placements:
        part = session.get(Part, placement.part)
        if part is None or placement.part in placed:
            outcome.skipped.append(f"part {placement.part}: unknown or placed twice")
            continue
        movable = part.state == PartState.QUEUED or (
            part.state == PartState.PLANNED and part.plate_id in previous
        )
        if not movable:
            outcome.skipped.append(f"part {part.id}: is {part.state}, not waiting for a plate")
            continue
        placed.add(part.id)
        found.append((part, placement))
    return found


def _place_parts(
    session: Session,
    plate: Plate,
    parts: list[tuple[Part, Placement]],
    changes: Changes,
    actor: str,
    at: datetime,
) -> bool:
    """Make the plate's placement rows match `parts`; True when any part came or went."""
    rows = {
        row.part_id: row
        for row in session.exec(select(PlatePart).where(PlatePart.plate_id == plate.id))
    }
    wanted = {part.id for part, _ in parts}
    changed = False
    for part_id, row in rows.items():
        if part_id not in wanted:
            session.delete(row)
            changed = True
    for part, placement in parts:
        existing = rows.get(part.id)
        row = existing or PlatePart(
            plate_id=plate.id,
            part_id=part.id,
            x_mm=0.0,
            y_mm=0.0,
            object_label=part.id,
            state=PlacementState.PLACED.value,
        )
        changed = changed or existing is None
        row.x_mm, row.y_mm = placement.x_mm, placement.y_mm
        row.rotation_deg = placement.rotation_deg
        session.add(row)
        _assign(session, part, plate, changes, actor, at)
    session.flush()
    return changed


def _assign(
    session: Session, part: Part, plate: Plate, changes: Changes, actor: str, at: datetime
) -> None:
    """Put a queued part on the plate (planned), or note that a planned part moved to it."""
    if part.state == PartState.QUEUED:
        part.plate_id = plate.id
        changes.move(
            session, part, PartState.PLANNED, actor=actor, now=at, details={"plate_id": plate.id}
        )
    elif part.plate_id != plate.id:
        changes.note(
            session,
            part,
            kind="part.moved",
            actor=actor,
            now=at,
            details={"from_plate": part.plate_id, "to_plate": plate.id},
        )
        part.plate_id = plate.id
    session.add(part)


def _supersede(
    session: Session, plates: list[Plate], outcome: PlanOutcome, actor: str, at: datetime
) -> None:
    for plate in plates:
        for row in session.exec(select(PlatePart).where(PlatePart.plate_id == plate.id)):
            session.delete(row)
        outcome.changes.move(
            session, plate, PlateState.CANCELLED, actor=actor, now=at, kind="plate.superseded"
        )
    session.flush()


def _unplan_leftovers(
    session: Session, placed: set[str], changes: Changes, actor: str, at: datetime
) -> None:
    """Planned parts this plan did not place (and not on a locked plate) go back to queued."""
    query = select(Part).where(Part.state == PartState.PLANNED.value)
    for part in session.exec(query):
        if part.id in placed:
            continue
        plate = session.get(Plate, part.plate_id) if part.plate_id else None
        if plate is not None and plate.state in LOCKED_PLATES:
            continue
        part.plate_id = None
        changes.move(session, part, PartState.QUEUED, actor=actor, now=at, kind="part.unplanned")


def planned_plate_ids(session: Session) -> list[str]:
    """Planned plates waiting to be sliced, in run order."""
    query = (
        select(Plate.id)
        .where(Plate.state == PlateState.PLANNED.value)
        .order_by(col(Plate.sequence), col(Plate.planned_start), col(Plate.id))
    )
    return list(session.exec(query))
