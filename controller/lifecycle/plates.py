"""Plates after planning: slicing, the dispatch claim, and the rules for how a plate ends.

The rules every path shares (agent events, staff commands, the offline timer) live here:
- a finished plate's parts are printed, except those reported failed, which go back to the
  queue with their attempt counted;
- a failed plate returns every part on it that staff did not pass;
- a cancelled or interrupted plate returns its unprinted parts without counting a failure;
- a part that fails `MAX_ATTEMPTS` times stays failed (its job is failed until staff requeue).

`claim_plate_for_dispatch` is the only way a plate becomes `dispatched`: it claims the printer
(its bed must be confirmed clear) and the plate (by version, `FOR UPDATE SKIP LOCKED` on
PostgreSQL) in the caller's transaction, so two controllers never send the same plate or two
plates to one bed. Commit, then publish the G-code and `cmd.run_plate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, update
from sqlmodel import Session, col, select

from controller.db.tables import Part, Plate, PlatePart, Printer
from controller.db.types import utcnow
from controller.lifecycle.jobs import MAX_ATTEMPTS, refresh_job_state
from controller.lifecycle.states import (
    PARTS_WAITING,
    PartState,
    PlacementState,
    PlateState,
    PrinterStatus,
)
from controller.lifecycle.transitions import (
    AgentAction,
    AgentRequest,
    Changes,
    LifecycleError,
    NotFound,
)


def get_plate(session: Session, plate_id: str) -> Plate:
    plate = session.get(Plate, plate_id)
    if plate is None:
        raise NotFound("plate", plate_id)
    return plate


def placements(session: Session, plate_id: str) -> list[tuple[PlatePart, Part]]:
    """The parts placed on a plate with their placement rows, in label order."""
    query = (select(PlatePart, Part).join(Part, col(Part.id) == PlatePart.part_id)
             .where(PlatePart.plate_id == plate_id).order_by(col(PlatePart.object_label)))
    return [(placement, part) for placement, part in session.exec(query)]


def settle_jobs(session: Session, changes: Changes, *, actor: str,
                now: datetime | None = None) -> Changes:
    """Bring the state of every job the operation touched in line with its parts."""
    for job_id in sorted(changes.jobs):
        refresh_job_state(session, job_id, changes, actor=actor, now=now)
    return changes


# --- slicing --------------------------------------------------------------------------------


def mark_plate_slicing(session: Session, plate_id: str, *, actor: str = "slicer",
                       now: datetime | None = None) -> Changes:
    """A worker started slicing the plate: from now on the scheduler keeps it as it is.
    A plate already `slicing` (its slicing was cut short by a restart) stays so."""
    changes = Changes()
    plate = get_plate(session, plate_id)
    if plate.state != PlateState.SLICING:
        changes.move(session, plate, PlateState.SLICING, actor=actor, now=now)
    return changes


def mark_plate_sliced(session: Session, plate_id: str, *, gcode_sha256: str, gcode_path: str,
                      gcode_bytes: int, estimated_seconds: float,
                      stats: dict[str, Any] | None = None, actor: str = "slicer",
                      now: datetime | None = None) -> Changes:
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
    changes.move(session, plate, PlateState.SLICED, actor=actor, now=at,
                 details={"gcode_sha256": gcode_sha256, "estimated_seconds": estimated_seconds})
    for _placement, part in placements(session, plate_id):
        if part.plate_id == plate.id and part.state == PartState.PLANNED:
            changes.move(session, part, PartState.SLICED, actor=actor, now=at)
    return settle_jobs(session, changes, actor=actor, now=at)


def mark_plate_slice_failed(session: Session, plate_id: str, *, reason: str,
                            actor: str = "slicer", now: datetime | None = None) -> Changes:
    """The plate could not be sliced or its program failed the safety check: the plate fails
    and its parts go back to the queue, each failure counted (so a part that cannot be
    sliced ends failed instead of looping)."""
    at = now or utcnow()
    plate = get_plate(session, plate_id)
    changes = Changes()
    if plate.state == PlateState.PLANNED:
        changes.move(session, plate, PlateState.SLICING, actor=actor, now=at)
    plate.reason = reason[:1000]
    changes.move(session, plate, PlateState.FAILED, actor=actor, now=at,
                 details={"reason": plate.reason})
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


def claim_plate_for_dispatch(session: Session, printer_id: str, *, actor: str = "dispatcher",
                             now: datetime | None = None) -> Dispatch | None:
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
    # Claim the plate by its version, then the bed: only one transaction can turn bed_clear
    # from true to false. A lost race leaves at most a bumped version behind.
    claimed_plate: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Plate).where(col(Plate.id) == plate.id, col(Plate.version) == plate.version,
                            col(Plate.state) == PlateState.SLICED.value)
        .values(version=plate.version + 1).execution_options(synchronize_session=False))
    if claimed_plate.rowcount != 1:
        return None
    claimed_bed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Printer).where(col(Printer.id) == printer_id, col(Printer.bed_clear).is_(True),
                              col(Printer.maintenance).is_(False))
        .values(bed_clear=False).execution_options(synchronize_session=False))
    if claimed_bed.rowcount != 1:
        return None
    session.refresh(printer)
    session.refresh(plate)
    changes = Changes()
    plate.dispatched_at = at
    plate.acknowledged_at = None
    changes.move(session, plate, PlateState.DISPATCHED, actor=actor, now=at,
                 details={"printer_id": printer_id})
    parts: list[tuple[str, str]] = []
    for placement, part in placements(session, plate.id):
        if part.plate_id == plate.id and part.state == PartState.SLICED:
            changes.move(session, part, PartState.DISPATCHED, actor=actor, now=at)
            parts.append((part.id, placement.object_label))
    settle_jobs(session, changes, actor=actor, now=at)
    return Dispatch(plate, printer.site_id, printer.profile_id, parts, changes)


def printer_is_ready(session: Session, printer: Printer) -> bool:
    """Idle, online, not in maintenance, bed confirmed clear, and nothing on its bed."""
    if printer.maintenance or not printer.bed_clear or printer.state != PrinterStatus.IDLE:
        return False
    return plate_on_printer(session, printer.id) is None


def plate_on_printer(session: Session, printer_id: str) -> Plate | None:
    """The plate dispatched to, printing on, or finished on the printer's bed, if any."""
    query = select(Plate).where(Plate.printer_id == printer_id, col(Plate.state).in_(
        [PlateState.DISPATCHED.value, PlateState.PRINTING.value, PlateState.FINISHED.value]))
    return session.exec(query).first()


def next_sliced_plate(session: Session, printer: Printer) -> Plate | None:
    query = (select(Plate).where(Plate.printer_id == printer.id,
                                 Plate.state == PlateState.SLICED.value)
             .order_by(col(Plate.sequence), col(Plate.planned_start), col(Plate.id)).limit(1)
             .with_for_update(skip_locked=True))
    return session.exec(query).first()


def spool_matches(printer: Printer, plate: Plate) -> bool:
    material, colour = printer.loaded_material, printer.loaded_colour
    return (material is not None and material.upper() == plate.material.upper()
            and colour is not None and colour.lower() == plate.colour.lower())


# --- how plates end -------------------------------------------------------------------------


def requeue_part(session: Session, part: Part, changes: Changes, *, failed: bool, actor: str,
                 reason: str = "", now: datetime | None = None) -> None:
    """Send a part back to the queue; a failure counts an attempt and may end the part."""
    details = {"reason": reason} if reason else {}
    part.plate_id = None
    if failed:
        part.attempt += 1
        changes.move(session, part, PartState.FAILED, actor=actor, now=now,
                     details={**details, "attempt": part.attempt})
        if part.attempt >= MAX_ATTEMPTS:
            return
    changes.move(session, part, PartState.QUEUED, actor=actor, now=now, details=details,
                 kind="part.requeued")


def finish_plate(session: Session, plate: Plate, changes: Changes, *, failed_part_ids: set[str],
                 actor: str, now: datetime | None = None) -> None:
    """The plate printed: its parts are printed except those that failed on it."""
    at = now or utcnow()
    if plate.state == PlateState.DISPATCHED:
        changes.move(session, plate, PlateState.PRINTING, actor=actor, now=at)
    plate.finished_at, plate.progress, plate.seconds_left = at, 1.0, 0.0
    changes.move(session, plate, PlateState.FINISHED, actor=actor, now=at,
                 details={"failed_parts": sorted(failed_part_ids)})
    for placement, part in placements(session, plate.id):
        if placement.state == PlacementState.CANCEL_REQUESTED:
            placement.state = PlacementState.CANCELLED
        if placement.state != PlacementState.PLACED or part.plate_id != plate.id:
            continue
        if part.id in failed_part_ids:
            placement.state = PlacementState.FAILED
            requeue_part(session, part, changes, failed=True, actor=actor,
                         reason=f"failed on plate {plate.id}", now=at)
            continue
        placement.state = PlacementState.PRINTED
        if part.state == PartState.DISPATCHED:
            changes.move(session, part, PartState.PRINTING, actor=actor, now=at)
        if part.state == PartState.PRINTING:
            changes.move(session, part, PartState.PRINTED, actor=actor, now=at,
                         details={"plate_id": plate.id})
        session.add(placement)


def fail_plate(session: Session, plate: Plate, changes: Changes, *, reason: str, actor: str,
               now: datetime | None = None) -> None:
    """The whole plate failed: every part on it that staff did not pass goes back."""
    at = now or utcnow()
    plate.reason = reason[:1000] or None
    changes.move(session, plate, PlateState.FAILED, actor=actor, now=at, details={"reason": reason})
    for placement, part in placements(session, plate.id):
        printed_here = placement.state == PlacementState.PRINTED
        on_plate = placement.state == PlacementState.PLACED and part.plate_id == plate.id
        if not (printed_here or on_plate) or part.state == PartState.CANCELLED:
            continue
        placement.state = PlacementState.FAILED
        session.add(placement)
        requeue_part(session, part, changes, failed=True, actor=actor,
                     reason=f"plate {plate.id} failed: {reason}", now=at)


def return_plate(session: Session, plate: Plate, to_state: PlateState, changes: Changes, *,
                 reason: str, actor: str, now: datetime | None = None) -> None:
    """Cancel or interrupt a plate: its unprinted parts go back to the queue, no failure
    counted; a plate that was sent to the printer gets a cancel request."""
    at = now or utcnow()
    was_on_printer = plate.state in (PlateState.DISPATCHED, PlateState.PRINTING)
    plate.reason = reason[:1000] or None
    changes.move(session, plate, to_state, actor=actor, now=at, details={"reason": reason})
    for placement, part in placements(session, plate.id):
        if placement.state == PlacementState.CANCEL_REQUESTED:
            placement.state = PlacementState.CANCELLED
        if placement.state != PlacementState.PLACED or part.plate_id != plate.id:
            continue
        placement.state = PlacementState.RETURNED
        session.add(placement)
        if part.state != PartState.QUEUED:
            requeue_part(session, part, changes, failed=False, actor=actor, reason=reason, now=at)
    if was_on_printer and to_state == PlateState.CANCELLED:
        printer = session.get(Printer, plate.printer_id)
        if printer is not None:
            changes.requests.append(AgentRequest(AgentAction.CANCEL_PLATE, printer.site_id,
                                                 printer.id, plate_id=plate.id, reason=reason))


def release_untouched_bed(session: Session, plate: Plate, changes: Changes, *, actor: str,
                          now: datetime) -> None:
    """The agent said the plate never ran (it refused it, or cancelled it before starting):
    nothing is on the bed and the printer may take its next plate without staff. Only the
    agent's word counts: a plate merely sent, or lost with its printer, keeps the gate shut."""
    if plate.started_at is not None:
        return
    printer = session.get(Printer, plate.printer_id)
    if printer is None or printer.bed_clear or plate_on_printer(session, printer.id) is not None:
        return
    printer.bed_clear = True
    session.add(printer)
    changes.note(session, printer, kind="printer.bed_released", actor=actor, now=now,
                 details={"plate_id": plate.id, "reason": "the plate never started"})


def cancel_part_on_plate(session: Session, part: Part, changes: Changes, *, actor: str,
                         reason: str, now: datetime | None = None) -> None:
    """Cancel one part for good (its job was withdrawn) wherever it is."""
    at = now or utcnow()
    plate = session.get(Plate, part.plate_id) if part.plate_id else None
    if plate is not None and plate.state in (PlateState.SLICING, PlateState.SLICED):
        # Its program includes the part: re-plan the plate's other parts instead of printing it.
        return_plate(session, plate, PlateState.CANCELLED, changes, actor=actor, now=at,
                     reason=f"part {part.id} was cancelled")
    elif plate is not None and plate.state == PlateState.PLANNED:
        placement = session.get(PlatePart, (plate.id, part.id))
        if placement is not None:
            session.delete(placement)
        part.plate_id = None
    elif plate is not None and part.state in (PartState.DISPATCHED, PartState.PRINTING):
        request_part_cancel(session, plate, part, changes, reason=reason)
    changes.move(session, part, PartState.CANCELLED, actor=actor, now=at,
                 details={"reason": reason} if reason else None)


def request_part_cancel(session: Session, plate: Plate, part: Part, changes: Changes, *,
                        reason: str) -> None:
    """Ask the plate's agent to skip the part's object (M486 / EXCLUDE_OBJECT)."""
    placement = session.get(PlatePart, (plate.id, part.id))
    printer = session.get(Printer, plate.printer_id)
    if placement is None or printer is None:
        raise LifecycleError(f"part {part.id} is not on plate {plate.id}", code="not_on_plate")
    placement.state = PlacementState.CANCEL_REQUESTED
    session.add(placement)
    changes.requests.append(AgentRequest(AgentAction.CANCEL_PART, printer.site_id, printer.id,
                                         plate_id=plate.id, part_id=part.id,
                                         object_label=placement.object_label, reason=reason))


def pending_cancel_requests(session: Session) -> list[AgentRequest]:
    """cancel_part requests for objects on plates still on a printer (to resend after a
    restart; the agent ignores a repeat)."""
    query = (select(PlatePart, Plate, Printer)
             .join(Plate, col(Plate.id) == PlatePart.plate_id)
             .join(Printer, col(Printer.id) == Plate.printer_id)
             .where(PlatePart.state == PlacementState.CANCEL_REQUESTED.value,
                    col(Plate.state).in_([PlateState.DISPATCHED.value, PlateState.PRINTING.value]))
             .order_by(col(Plate.id), col(PlatePart.object_label)))
    return [AgentRequest(AgentAction.CANCEL_PART, printer.site_id, printer.id, plate_id=plate.id,
                         part_id=placement.part_id, object_label=placement.object_label)
            for placement, plate, printer in session.exec(query)]


def waiting_part(part: Part) -> bool:
    return PartState(part.state) in PARTS_WAITING
