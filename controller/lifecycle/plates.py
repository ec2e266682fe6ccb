"""Plates after planning: slicing, and the dispatch claim.

`claim_plate_for_dispatch` is the only way a plate becomes `dispatched`: it claims the printer
(its bed must be confirmed clear) and the plate (by version, `FOR UPDATE SKIP LOCKED` on
PostgreSQL) in the caller's transaction, so two controllers never send the same plate or two
plates to one bed. Commit, then publish the G-code and `cmd.run_plate`. How plates end
(finished, failed, cancelled, interrupted) is in `controller.lifecycle.plate_rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, update
from sqlmodel import Session, col, select

from controller.db.tables import Plate, Printer
from controller.db.types import utcnow
from controller.lifecycle.plate_rules import (
    get_plate,
    placements,
    plate_on_printer,
    requeue_part,
    settle_jobs,
)
from controller.lifecycle.states import PartState, PlacementState, PlateState, PrinterStatus
from controller.lifecycle.transitions import Changes

__all__ = [
    "Dispatch",
    "claim_plate_for_dispatch",
    "get_plate",
    "mark_plate_slice_failed",
    "mark_plate_sliced",
    "mark_plate_slicing",
    "next_sliced_plate",
    "placements",
    "plate_on_printer",
    "printer_is_ready",
    "settle_jobs",
    "spool_matches",
]


# --- slicing --------------------------------------------------------------------------------


def mark_plate_slicing(
    session: Session, plate_id: str, *, actor: str = "slicer", now: datetime | None = None
) -> Changes:
    """A worker started slicing the plate: from now on the scheduler keeps it as it is.
    A plate already `slicing` (its slicing was cut short by a restart) stays so."""
    changes = Changes()
    plate = get_plate(session, plate_id)
    if plate.state != PlateState.SLICING:
        changes.move(session, plate, PlateState.SLICING, actor=actor, now=now)
    return changes


def mark_plate_sliced(
    session: Session,
    plate_id: str,
    *,
    gcode_sha256: str,
    gcode_path: str,
    gcode_bytes: int,
    estimated_seconds: float,
    stats: dict[str, Any] | None = None,
    actor: str = "slicer",
    now: datetime | None = None,
) -> Changes:
    """Store the checked program of a plate; its parts become `sliced`.

    Raises TransitionRefused when the plate was cancelled while it was being sliced (a
    re-plan, a cancelled job): the caller drops the program."""
    at = now or utcnow()
    plate = get_plate(session, plate_id)
    changes = Changes()
    if plate.state == PlateState.PLANNED:
        changes.move(session, plate, PlateState.SLICING, actor=actor, now=at)
    plate.gcode_sha256, plate.gcode_path, plate.gcode_bytes = gcode_sha256, gcode_path, gcode_bytes
    plate.estimated_seconds = estimated_seconds
    plate.sliced_stats = stats or {}
    changes.move(
        session,
        plate,
        PlateState.SLICED,
        actor=actor,
        now=at,
        details={"gcode_sha256": gcode_sha256, "estimated_seconds": estimated_seconds},
    )
    for _placement, part in placements(session, plate_id):
        if part.plate_id == plate.id and part.state == PartState.PLANNED:
            changes.move(session, part, PartState.SLICED, actor=actor, now=at)
    return settle_jobs(session, changes, actor=actor, now=at)


def mark_plate_slice_failed(
    session: Session,
    plate_id: str,
    *,
    reason: str,
    actor: str = "slicer",
    now: datetime | None = None,
) -> Changes:
    """The plate could not be sliced or its program failed the safety check: the plate fails
    and its parts go back to the queue, each failure counted (so a part that cannot be
    sliced ends failed instead of looping)."""
    at = now or utcnow()
    plate = get_plate(session, plate_id)
    changes = Changes()
    if plate.state == PlateState.PLANNED:
        changes.move(session, plate, PlateState.SLICING, actor=actor, now=at)
    plate.reason = reason[:1000]
    changes.move(
        session, plate, PlateState.FAILED, actor=actor, now=at, details={"reason": plate.reason}
    )
    for placement, part in placements(session, plate_id):
        if part.plate_id == plate.id:
            placement.state = PlacementState.FAILED
            requeue_part(session, part, changes, failed=True, actor=actor, reason=reason, now=at)
    return settle_jobs(session, changes, actor=actor, now=at)


# --- dispatch -------------------------------------------------------------------------------


@dataclass
class Dispatch:
    """A plate claimed for its printer: everything `cmd.run_plate` needs."""

    plate: Plate
    site_id: str
    profile_id: str
    parts: list[tuple[str, str]]  # (part id, object label)
    changes: Changes = field(default_factory=Changes)


def claim_plate_for_dispatch(
    session: Session, printer_id: str, *, actor: str = "dispatcher", now: datetime | None = None
) -> Dispatch | None:
    """Claim the printer's next sliced plate and mark it dispatched, or None when the printer
    is not ready (bed not confirmed clear, busy, offline, maintenance, wrong spool) or another
    controller got there first. The claim holds once the caller commits."""
    at = now or utcnow()
    printer = session.get(Printer, printer_id)
    if printer is None or not printer_is_ready(session, printer):
        return None
    plate = next_sliced_plate(session, printer)
    if plate is None or not spool_matches(printer, plate):
        return None
    if not _claim_rows(session, printer_id, plate):
        return None
    session.refresh(printer)
    session.refresh(plate)
    changes = Changes()
    plate.dispatched_at = at
    plate.acknowledged_at = None
    changes.move(
        session,
        plate,
        PlateState.DISPATCHED,
        actor=actor,
        now=at,
        details={"printer_id": printer_id},
    )
    parts: list[tuple[str, str]] = []
    for placement, part in placements(session, plate.id):
        if part.plate_id == plate.id and part.state == PartState.SLICED:
            changes.move(session, part, PartState.DISPATCHED, actor=actor, now=at)
            parts.append((part.id, placement.object_label))
    settle_jobs(session, changes, actor=actor, now=at)
    return Dispatch(plate, printer.site_id, printer.profile_id, parts, changes)


def _claim_rows(session: Session, printer_id: str, plate: Plate) -> bool:
    """Claim the plate by its version, then the bed: only one transaction can turn bed_clear
    from true to false. A lost race leaves at most a bumped plate version behind."""
    claimed_plate: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Plate)
        .where(
            col(Plate.id) == plate.id,
            col(Plate.version) == plate.version,
            col(Plate.state) == PlateState.SLICED.value,
        )
        .values(version=plate.version + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed_plate.rowcount != 1:
        return False
    claimed_bed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Printer)
        .where(
            col(Printer.id) == printer_id,
            col(Printer.bed_clear).is_(True),
            col(Printer.maintenance).is_(False),
        )
        .values(bed_clear=False)
        .execution_options(synchronize_session=False)
    )
    return claimed_bed.rowcount == 1


def printer_is_ready(session: Session, printer: Printer) -> bool:
    """Idle, online, not in maintenance, bed confirmed clear, and nothing on its bed."""
    if printer.maintenance or not printer.bed_clear or printer.state != PrinterStatus.IDLE:
        return False
    return plate_on_printer(session, printer.id) is None


def next_sliced_plate(session: Session, printer: Printer) -> Plate | None:
    query = (
        select(Plate)
        .where(Plate.printer_id == printer.id, Plate.state == PlateState.SLICED.value)
        .order_by(col(Plate.sequence), col(Plate.planned_start), col(Plate.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return session.exec(query).first()


def spool_matches(printer: Printer, plate: Plate) -> bool:
    material, colour = printer.loaded_material, printer.loaded_colour
    return (
        material is not None
        and material.upper() == plate.material.upper()
        and colour is not None
        and colour.lower() == plate.colour.lower()
    )
