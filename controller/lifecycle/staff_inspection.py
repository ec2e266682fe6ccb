"""Staff commands about what came off a printer and what is queued: parts and plates failed
or passed, requeue, and cancelling jobs, plates and parts. Each handler applies one command
inside `apply_staff_command`'s savepoint and returns what it did, or raises LifecycleError
(the command is refused and nothing changes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from controller.db.tables import Part, Plate, PlatePart
from controller.lifecycle.jobs import cancel_job, get_job
from controller.lifecycle.plate_rules import (
    fail_plate,
    placements,
    request_part_cancel,
    requeue_part,
    return_plate,
)
from controller.lifecycle.printers import get_printer
from controller.lifecycle.states import JobState, PartState, PlacementState, PlateState
from controller.lifecycle.transitions import (
    AgentAction,
    AgentRequest,
    Changes,
    LifecycleError,
    NotFound,
)
from protocol.messages.staff import (
    StaffCancelJob,
    StaffCancelPart,
    StaffCancelPlate,
    StaffPartFailed,
    StaffPartPassed,
    StaffPlateFailed,
    StaffPlatePassed,
    StaffRequeue,
)


def site_plate(session: Session, site_id: str, plate_id: str) -> Plate:
    plate = session.get(Plate, plate_id)
    if plate is None:
        raise NotFound("plate", plate_id)
    get_printer(session, plate.printer_id, site_id=site_id)
    return plate


def _plate_parts(
    session: Session, plate: Plate, part_ids: tuple[str, ...]
) -> list[tuple[PlatePart, Part]]:
    found = {part.id: (placement, part) for placement, part in placements(session, plate.id)}
    missing = [part_id for part_id in part_ids if part_id not in found]
    if missing:
        raise LifecycleError(
            f"plate {plate.id} has no part(s) {', '.join(missing)}", code="not_on_plate"
        )
    return [found[part_id] for part_id in part_ids]


def on_part_failed(
    session: Session, site_id: str, command: Any, changes: Changes, actor: str, at: datetime
) -> str:
    assert isinstance(command, StaffPartFailed)
    plate = site_plate(session, site_id, command.plate_id)
    reason = command.reason or "failed inspection"
    for placement, part in _plate_parts(session, plate, command.part_ids):
        printed_here = placement.state in (PlacementState.PRINTED, PlacementState.PASSED)
        printing_here = (
            placement.state == PlacementState.PLACED
            and part.plate_id == plate.id
            and part.state in (PartState.DISPATCHED, PartState.PRINTING)
        )
        if printing_here:
            request_part_cancel(session, plate, part, changes, reason=reason)
        elif not printed_here or part.state != PartState.PRINTED:
            raise LifecycleError(
                f"part {part.id} is {part.state} and was not printed on plate "
                f"{plate.id}; nothing to fail",
                code="not_printed_here",
            )
        else:
            placement.state = PlacementState.FAILED
            session.add(placement)
        requeue_part(session, part, changes, failed=True, actor=actor, reason=reason, now=at)
    return f"{len(command.part_ids)} part(s) of plate {plate.id} go back to the queue"


def _pass_part(
    session: Session,
    plate: Plate,
    placement: PlatePart,
    part: Part,
    changes: Changes,
    actor: str,
    at: datetime,
) -> None:
    if (
        part.state in (PartState.SLICED, PartState.DISPATCHED, PartState.PRINTING)
        and part.plate_id != plate.id
    ):
        raise LifecycleError(
            f"part {part.id} is already {part.state} on plate {part.plate_id};"
            " cancel that copy first",
            code="printing_elsewhere",
        )
    if part.plate_id is not None and part.plate_id != plate.id:
        other = session.get(PlatePart, (part.plate_id, part.id))
        if other is not None:
            session.delete(other)
        part.plate_id = None
    placement.state = PlacementState.PASSED
    session.add(placement)
    if part.state != PartState.PRINTED:
        changes.move(
            session,
            part,
            PartState.PRINTED,
            actor=actor,
            now=at,
            kind="part.passed",
            details={"plate_id": plate.id},
        )
    else:
        changes.note(
            session, part, kind="part.passed", actor=actor, now=at, details={"plate_id": plate.id}
        )


def on_part_passed(
    session: Session, site_id: str, command: Any, changes: Changes, actor: str, at: datetime
) -> str:
    assert isinstance(command, StaffPartPassed)
    plate = site_plate(session, site_id, command.plate_id)
    if plate.state not in (
        PlateState.FINISHED,
        PlateState.CLEARED,
        PlateState.FAILED,
        PlateState.INTERRUPTED,
    ):
        raise LifecycleError(
            f"plate {plate.id} is {plate.state}; parts can be passed once it "
            "has finished, failed or been interrupted",
            code="not_finished",
        )
    for placement, part in _plate_parts(session, plate, command.part_ids):
        if part.state == PartState.CANCELLED:
            raise LifecycleError(f"part {part.id} was cancelled", code="cancelled")
        _pass_part(session, plate, placement, part, changes, actor, at)
    return f"{len(command.part_ids)} part(s) of plate {plate.id} passed"


def on_plate_failed(
    session: Session, site_id: str, command: Any, changes: Changes, actor: str, at: datetime
) -> str:
    assert isinstance(command, StaffPlateFailed)
    plate = site_plate(session, site_id, command.plate_id)
    on_printer = plate.state in (PlateState.DISPATCHED, PlateState.PRINTING)
    fail_plate(
        session,
        plate,
        changes,
        actor=actor,
        now=at,
        reason=command.reason or "failed, reported by staff",
    )
    if on_printer:
        printer = get_printer(session, plate.printer_id)
        changes.requests.append(
            AgentRequest(
                AgentAction.CANCEL_PLATE,
                printer.site_id,
                printer.id,
                plate_id=plate.id,
                reason=command.reason,
            )
        )
    return f"plate {plate.id} failed; its parts go back to the queue"


def on_plate_passed(
    session: Session, site_id: str, command: Any, changes: Changes, actor: str, at: datetime
) -> str:
    assert isinstance(command, StaffPlatePassed)
    plate = site_plate(session, site_id, command.plate_id)
    if plate.state not in (
        PlateState.FINISHED,
        PlateState.CLEARED,
        PlateState.FAILED,
        PlateState.INTERRUPTED,
    ):
        raise LifecycleError(
            f"plate {plate.id} is {plate.state}; it can be passed once it has "
            "finished, failed or been interrupted",
            code="not_finished",
        )
    for placement, part in placements(session, plate.id):
        if (
            placement.state in (PlacementState.CANCEL_REQUESTED, PlacementState.CANCELLED)
            or part.state == PartState.CANCELLED
        ):
            continue
        _pass_part(session, plate, placement, part, changes, actor, at)
    return f"plate {plate.id} passed"


def on_requeue(
    session: Session, site_id: str, command: Any, changes: Changes, actor: str, at: datetime
) -> str:
    assert isinstance(command, StaffRequeue)
    if command.job_id is not None:
        job = get_job(session, command.job_id)
        if job.state in (JobState.CANCELLED, JobState.REJECTED):
            raise LifecycleError(
                f"job {job.id} is {job.state}; it cannot be requeued", code="job_finished"
            )
        parts = list(
            session.exec(
                select(Part).where(Part.job_id == job.id, Part.state == PartState.FAILED.value)
            )
        )
    else:
        parts = [
            session.get(Part, part_id) or _missing_part(part_id) for part_id in command.part_ids
        ]
    for part in parts:
        if part.state != PartState.FAILED:
            raise LifecycleError(
                f"part {part.id} is {part.state}; only failed parts can be requeued",
                code="not_failed",
            )
        part.attempt = 0
        changes.move(session, part, PartState.QUEUED, actor=actor, now=at, kind="part.requeued")
    return f"{len(parts)} part(s) requeued"


def _missing_part(part_id: str) -> Part:
    raise NotFound("part", part_id)


def on_cancel_job(
    session: Session, site_id: str, command: Any, changes: Changes, actor: str, at: datetime
) -> str:
    assert isinstance(command, StaffCancelJob)
    changes.merge(
        cancel_job(
            session,
            command.job_id,
            actor=actor,
            now=at,
            reason=command.reason or "cancelled by staff",
        )
    )
    return f"job {command.job_id} cancelled"


def on_cancel_plate(
    session: Session, site_id: str, command: Any, changes: Changes, actor: str, at: datetime
) -> str:
    assert isinstance(command, StaffCancelPlate)
    plate = site_plate(session, site_id, command.plate_id)
    return_plate(
        session,
        plate,
        PlateState.CANCELLED,
        changes,
        actor=actor,
        now=at,
        reason=command.reason or "cancelled by staff",
    )
    return f"plate {plate.id} cancelled; its parts go back to the queue"


def on_cancel_part(
    session: Session, site_id: str, command: Any, changes: Changes, actor: str, at: datetime
) -> str:
    assert isinstance(command, StaffCancelPart)
    plate = site_plate(session, site_id, command.plate_id)
    ((placement, part),) = _plate_parts(session, plate, (command.part_id,))
    if (
        plate.state not in (PlateState.DISPATCHED, PlateState.PRINTING)
        or placement.state != PlacementState.PLACED
    ):
        raise LifecycleError(
            f"plate {plate.id} is {plate.state} and part {part.id} is not "
            "printing on it; cancel the plate or the job instead",
            code="not_printing",
        )
    reason = command.reason or "stopped by staff"
    request_part_cancel(session, plate, part, changes, reason=reason)
    requeue_part(session, part, changes, failed=True, actor=actor, reason=reason, now=at)
    return f"part {part.id} will be skipped on plate {plate.id} and printed again"
