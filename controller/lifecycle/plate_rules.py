"""How plates end, the rules every path shares (agent events, staff commands, the timer):

- a finished plate's parts are printed, except those reported failed, which go back to the
  queue with their attempt counted;
- a failed plate returns every part on it that staff did not pass;
- a cancelled or interrupted plate returns its unprinted parts without counting a failure;
- a part that fails `MAX_ATTEMPTS` times stays failed (its job is failed until staff requeue);
- the bed gate opens without staff only when the agent says a plate never ran.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from controller.db.tables import Part, Plate, PlatePart, Printer
from controller.db.types import utcnow
from controller.lifecycle.jobs import MAX_ATTEMPTS, refresh_job_state
from controller.lifecycle.states import PartState, PlacementState, PlateState
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
    query = (
        select(PlatePart, Part)
        .join(Part, col(Part.id) == PlatePart.part_id)
        .where(PlatePart.plate_id == plate_id)
        .order_by(col(PlatePart.object_label))
    )
    return [(placement, part) for placement, part in session.exec(query)]


def settle_jobs(
    session: Session, changes: Changes, *, actor: str, now: datetime | None = None
) -> Changes:
    """Bring the state of every job the operation touched in line with its parts."""
    for job_id in sorted(changes.jobs):
        refresh_job_state(session, job_id, changes, actor=actor, now=now)
    return changes


def plate_on_printer(session: Session, printer_id: str) -> Plate | None:
    """The plate dispatched to, printing on, or finished on the printer's bed, if any."""
    query = select(Plate).where(
        Plate.printer_id == printer_id,
        col(Plate.state).in_(
            [PlateState.DISPATCHED.value, PlateState.PRINTING.value, PlateState.FINISHED.value]
        ),
    )
    return session.exec(query).first()


def requeue_part(
    session: Session,
    part: Part,
    changes: Changes,
    *,
    failed: bool,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
) -> None:
    """Send a part back to the queue; a failure counts an attempt and may end the part."""
    details = {"reason": reason} if reason else {}
    part.plate_id = None
    if failed:
        part.attempt += 1
        changes.move(
            session,
            part,
            PartState.FAILED,
            actor=actor,
            now=now,
            details={**details, "attempt": part.attempt},
        )
        if part.attempt >= MAX_ATTEMPTS:
            return
    changes.move(
        session, part, PartState.QUEUED, actor=actor, now=now, details=details, kind="part.requeued"
    )


def finish_plate(
    session: Session,
    plate: Plate,
    changes: Changes,
    *,
    failed_part_ids: set[str],
    actor: str,
    now: datetime | None = None,
) -> None:
    """The plate printed: its parts are printed except those that failed on it."""
    at = now or utcnow()
    if plate.state == PlateState.DISPATCHED:
        changes.move(session, plate, PlateState.PRINTING, actor=actor, now=at)
    plate.finished_at, plate.progress, plate.seconds_left = at, 1.0, 0.0
    changes.move(
        session,
        plate,
        PlateState.FINISHED,
        actor=actor,
        now=at,
        details={"failed_parts": sorted(failed_part_ids)},
    )
    for placement, part in placements(session, plate.id):
        if placement.state == PlacementState.CANCEL_REQUESTED:
            placement.state = PlacementState.CANCELLED
        if placement.state != PlacementState.PLACED or part.plate_id != plate.id:
            continue
        if part.id in failed_part_ids:
            placement.state = PlacementState.FAILED
            requeue_part(
                session,
                part,
                changes,
                failed=True,
                actor=actor,
                reason=f"failed on plate {plate.id}",
                now=at,
            )
            continue
        placement.state = PlacementState.PRINTED
        if part.state == PartState.DISPATCHED:
            changes.move(session, part, PartState.PRINTING, actor=actor, now=at)
        if part.state == PartState.PRINTING:
            changes.move(
                session,
                part,
                PartState.PRINTED,
                actor=actor,
                now=at,
                details={"plate_id": plate.id},
            )
        session.add(placement)


def fail_plate(
    session: Session,
    plate: Plate,
    changes: Changes,
    *,
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> None:
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
        requeue_part(
            session,
            part,
            changes,
            failed=True,
            actor=actor,
            reason=f"plate {plate.id} failed: {reason}",
            now=at,
        )


def return_plate(
    session: Session,
    plate: Plate,
    to_state: PlateState,
    changes: Changes,
    *,
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> None:
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
            changes.requests.append(
                AgentRequest(
                    AgentAction.CANCEL_PLATE,
                    printer.site_id,
                    printer.id,
                    plate_id=plate.id,
                    reason=reason,
                )
            )


def release_untouched_bed(
    session: Session, plate: Plate, changes: Changes, *, actor: str, now: datetime
) -> None:
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
    changes.note(
        session,
        printer,
        kind="printer.bed_released",
        actor=actor,
        now=now,
        details={"plate_id": plate.id, "reason": "the plate never started"},
    )


def cancel_part_on_plate(
    session: Session,
    part: Part,
    changes: Changes,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> None:
    """Cancel one part for good (its job was withdrawn) wherever it is."""
    at = now or utcnow()
    plate = session.get(Plate, part.plate_id) if part.plate_id else None
    if plate is not None and plate.state in (PlateState.SLICING, PlateState.SLICED):
        # Its program includes the part: re-plan the plate's other parts instead of printing it.
        return_plate(
            session,
            plate,
            PlateState.CANCELLED,
            changes,
            actor=actor,
            now=at,
            reason=f"part {part.id} was cancelled",
        )
    elif plate is not None and plate.state == PlateState.PLANNED:
        placement = session.get(PlatePart, (plate.id, part.id))
        if placement is not None:
            session.delete(placement)
        part.plate_id = None
    elif plate is not None and part.state in (PartState.DISPATCHED, PartState.PRINTING):
        request_part_cancel(session, plate, part, changes, reason=reason)
    changes.move(
        session,
        part,
        PartState.CANCELLED,
        actor=actor,
        now=at,
        details={"reason": reason} if reason else None,
    )


def request_part_cancel(
    session: Session, plate: Plate, part: Part, changes: Changes, *, reason: str
) -> None:
    """Ask the plate's agent to skip the part's object (M486 / EXCLUDE_OBJECT)."""
    placement = session.get(PlatePart, (plate.id, part.id))
    printer = session.get(Printer, plate.printer_id)
    if placement is None or printer is None:
        raise LifecycleError(f"part {part.id} is not on plate {plate.id}", code="not_on_plate")
    placement.state = PlacementState.CANCEL_REQUESTED
    session.add(placement)
    changes.requests.append(
        AgentRequest(
            AgentAction.CANCEL_PART,
            printer.site_id,
            printer.id,
            plate_id=plate.id,
            part_id=part.id,
            object_label=placement.object_label,
            reason=reason,
        )
    )


def pending_cancel_requests(session: Session) -> list[AgentRequest]:
    """cancel_part requests for objects on plates still on a printer (to resend after a
    restart; the agent ignores a repeat)."""
    query = (
        select(PlatePart, Plate, Printer)
        .join(Plate, col(Plate.id) == PlatePart.plate_id)
        .join(Printer, col(Printer.id) == Plate.printer_id)
        .where(
            PlatePart.state == PlacementState.CANCEL_REQUESTED.value,
            col(Plate.state).in_([PlateState.DISPATCHED.value, PlateState.PRINTING.value]),
        )
        .order_by(col(Plate.id), col(PlatePart.object_label))
    )
    return [
        AgentRequest(
            AgentAction.CANCEL_PART,
            printer.site_id,
            printer.id,
            plate_id=plate.id,
            part_id=placement.part_id,
            object_label=placement.object_label,
        )
        for placement, plate, printer in session.exec(query)
    ]
