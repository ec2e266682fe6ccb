"""Staff commands from a site's TUI: bed cleared, spool loaded, parts and plates failed or
passed, requeue, cancel, pause/resume, maintenance.

`apply_staff_command` answers every command with accepted or refused and a reason (the
service puts it in a `StaffReply`). An accepted `staff.bed_cleared` is for the service to
forward to the agent as `cmd.bed_cleared` (the agent keeps its own gate). A refused command
changes nothing. A command id seen before gets the same answer again without being applied
twice. Commands may only touch printers and plates of the site they came from.

    outcome = apply_staff_command(session, site_id, command)
    session.commit()
    reply(accepted=outcome.accepted, reason=outcome.reason); send outcome.changes.requests
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from controller.db.tables import Part, Plate, PlatePart
from controller.db.types import utcnow
from controller.lifecycle.jobs import cancel_job, get_job
from controller.lifecycle.plates import (
    fail_plate,
    placements,
    plate_on_printer,
    request_part_cancel,
    requeue_part,
    return_plate,
    settle_jobs,
)
from controller.lifecycle.printer_events import already_processed, remember
from controller.lifecycle.printers import get_printer, set_maintenance
from controller.lifecycle.states import JobState, PartState, PlacementState, PlateState
from controller.lifecycle.transitions import (
    AgentAction,
    AgentRequest,
    Changes,
    LifecycleError,
    NotFound,
)
from protocol.messages.staff import (
    StaffBedCleared,
    StaffCancelJob,
    StaffCancelPart,
    StaffCancelPlate,
    StaffCommand,
    StaffMaintenanceOff,
    StaffMaintenanceOn,
    StaffPartFailed,
    StaffPartPassed,
    StaffPause,
    StaffPlateFailed,
    StaffPlatePassed,
    StaffRequeue,
    StaffResume,
    StaffSpoolLoaded,
)

STAFF_SOURCE = "staff"


@dataclass
class StaffOutcome:
    accepted: bool
    reason: str
    changes: Changes = field(default_factory=Changes)
    replayed: bool = False  # the command id was seen before: this is the earlier answer


def apply_staff_command(session: Session, site_id: str, command: StaffCommand, *,
                        now: datetime | None = None) -> StaffOutcome:
    """Apply one staff command from `sites/{site_id}/staff/cmd` (see the module docstring)."""
    at = now or utcnow()
    key = f"{site_id}:{command.command_id}"
    seen = already_processed(session, STAFF_SOURCE, key)
    if seen is not None:
        return StaffOutcome(bool(seen.result.get("accepted")), str(seen.result.get("reason", "")),
                            replayed=True)
    actor = f"staff:{command.staff_user}"
    handler = _HANDLERS[type(command)]
    savepoint = session.begin_nested()
    try:
        changes = Changes()
        reason = handler(session, site_id, command, changes, actor, at)
        settle_jobs(session, changes, actor=actor, now=at)
        session.flush()
        savepoint.commit()
        outcome = StaffOutcome(True, reason, changes)
    except LifecycleError as refusal:
        savepoint.rollback()
        outcome = StaffOutcome(False, refusal.reason)
    remember(session, STAFF_SOURCE, key, {"accepted": outcome.accepted, "reason": outcome.reason,
                                          "action": command.type}, at)
    session.flush()
    return outcome


def _site_plate(session: Session, site_id: str, plate_id: str) -> Plate:
    plate = session.get(Plate, plate_id)
    if plate is None:
        raise NotFound("plate", plate_id)
    get_printer(session, plate.printer_id, site_id=site_id)
    return plate


def _bed_cleared(session: Session, site_id: str, command: Any, changes: Changes, actor: str,
                 at: datetime) -> str:
    assert isinstance(command, StaffBedCleared)
    printer = get_printer(session, command.printer_id, site_id=site_id)
    on_bed = plate_on_printer(session, printer.id)
    if on_bed is not None and on_bed.state != PlateState.FINISHED:
        raise LifecycleError(f"printer {printer.id} has plate {on_bed.id} {on_bed.state}; "
                             "its bed cannot be clear yet", code="plate_on_bed")
    cleared = []
    if on_bed is not None:
        on_bed.cleared_at = at
        changes.move(session, on_bed, PlateState.CLEARED, actor=actor, now=at)
        cleared.append(on_bed.id)
    leftovers = session.exec(select(Plate).where(
        Plate.printer_id == printer.id, col(Plate.cleared_at).is_(None),
        col(Plate.started_at).is_not(None)))
    for plate in leftovers:  # failed, cancelled or interrupted prints taken off the bed
        if plate.state != PlateState.CLEARED:
            plate.cleared_at = at
            session.add(plate)
            cleared.append(plate.id)
    was_clear = printer.bed_clear
    printer.bed_clear = True
    session.add(printer)
    changes.note(session, printer, kind="printer.bed_cleared", actor=actor, now=at,
                 details={"plates": cleared})
    if not cleared and was_clear:
        return f"printer {printer.id}: bed was already clear"
    return f"printer {printer.id}: bed clear, it may start its next plate"


def _spool_loaded(session: Session, site_id: str, command: Any, changes: Changes, actor: str,
                  at: datetime) -> str:
    assert isinstance(command, StaffSpoolLoaded)
    printer = get_printer(session, command.printer_id, site_id=site_id)
    printer.loaded_material, printer.loaded_colour = command.material, command.colour
    session.add(printer)
    changes.note(session, printer, kind="printer.spool_loaded", actor=actor, now=at,
                 details={"material": command.material, "colour": command.colour,
                          "grams": command.grams})
    return f"printer {printer.id}: {command.material} {command.colour} loaded"


def _plate_parts(session: Session, plate: Plate, part_ids: tuple[str, ...]
                 ) -> list[tuple[PlatePart, Part]]:
    found = {part.id: (placement, part) for placement, part in placements(session, plate.id)}
    missing = [part_id for part_id in part_ids if part_id not in found]
    if missing:
        raise LifecycleError(f"plate {plate.id} has no part(s) {', '.join(missing)}",
                             code="not_on_plate")
    return [found[part_id] for part_id in part_ids]


def _part_failed(session: Session, site_id: str, command: Any, changes: Changes, actor: str,
                 at: datetime) -> str:
    assert isinstance(command, StaffPartFailed)
    plate = _site_plate(session, site_id, command.plate_id)
    reason = command.reason or "failed inspection"
    for placement, part in _plate_parts(session, plate, command.part_ids):
        printed_here = placement.state in (PlacementState.PRINTED, PlacementState.PASSED)
        printing_here = (placement.state == PlacementState.PLACED and part.plate_id == plate.id
                         and part.state in (PartState.DISPATCHED, PartState.PRINTING))
        if printing_here:
            request_part_cancel(session, plate, part, changes, reason=reason)
        elif not printed_here or part.state != PartState.PRINTED:
            raise LifecycleError(f"part {part.id} is {part.state} and was not printed on plate "
                                 f"{plate.id}; nothing to fail", code="not_printed_here")
        else:
            placement.state = PlacementState.FAILED
            session.add(placement)
        requeue_part(session, part, changes, failed=True, actor=actor, reason=reason, now=at)
    return f"{len(command.part_ids)} part(s) of plate {plate.id} go back to the queue"


def _pass_part(session: Session, plate: Plate, placement: PlatePart, part: Part,
               changes: Changes, actor: str, at: datetime) -> None:
    if part.state in (PartState.SLICED, PartState.DISPATCHED, PartState.PRINTING) and \
            part.plate_id != plate.id:
        raise LifecycleError(f"part {part.id} is already {part.state} on plate {part.plate_id};"
                             " cancel that copy first", code="printing_elsewhere")
    if part.plate_id is not None and part.plate_id != plate.id:
        other = session.get(PlatePart, (part.plate_id, part.id))
        if other is not None:
            session.delete(other)
        part.plate_id = None
    placement.state = PlacementState.PASSED
    session.add(placement)
    if part.state != PartState.PRINTED:
        changes.move(session, part, PartState.PRINTED, actor=actor, now=at, kind="part.passed",
                     details={"plate_id": plate.id})
    else:
        changes.note(session, part, kind="part.passed", actor=actor, now=at,
                     details={"plate_id": plate.id})


def _part_passed(session: Session, site_id: str, command: Any, changes: Changes, actor: str,
                 at: datetime) -> str:
    assert isinstance(command, StaffPartPassed)
    plate = _site_plate(session, site_id, command.plate_id)
    if plate.state not in (PlateState.FINISHED, PlateState.CLEARED, PlateState.FAILED,
                           PlateState.INTERRUPTED):
        raise LifecycleError(f"plate {plate.id} is {plate.state}; parts can be passed once it "
                             "has finished, failed or been interrupted", code="not_finished")
    for placement, part in _plate_parts(session, plate, command.part_ids):
        if part.state == PartState.CANCELLED:
            raise LifecycleError(f"part {part.id} was cancelled", code="cancelled")
        _pass_part(session, plate, placement, part, changes, actor, at)
    return f"{len(command.part_ids)} part(s) of plate {plate.id} passed"


def _plate_failed(session: Session, site_id: str, command: Any, changes: Changes, actor: str,
                  at: datetime) -> str:
    assert isinstance(command, StaffPlateFailed)
    plate = _site_plate(session, site_id, command.plate_id)
    on_printer = plate.state in (PlateState.DISPATCHED, PlateState.PRINTING)
    fail_plate(session, plate, changes, actor=actor, now=at,
               reason=command.reason or "failed, reported by staff")
    if on_printer:
        printer = get_printer(session, plate.printer_id)
        changes.requests.append(AgentRequest(AgentAction.CANCEL_PLATE, printer.site_id,
                                             printer.id, plate_id=plate.id,
                                             reason=command.reason))
    return f"plate {plate.id} failed; its parts go back to the queue"


def _plate_passed(session: Session, site_id: str, command: Any, changes: Changes, actor: str,
                  at: datetime) -> str:
    assert isinstance(command, StaffPlatePassed)
    plate = _site_plate(session, site_id, command.plate_id)
    if plate.state not in (PlateState.FINISHED, PlateState.CLEARED, PlateState.FAILED,
                           PlateState.INTERRUPTED):
        raise LifecycleError(f"plate {plate.id} is {plate.state}; it can be passed once it has "
                             "finished, failed or been interrupted", code="not_finished")
    for placement, part in placements(session, plate.id):
        if placement.state in (PlacementState.CANCEL_REQUESTED, PlacementState.CANCELLED) or \
                part.state == PartState.CANCELLED:
            continue
        _pass_part(session, plate, placement, part, changes, actor, at)
    return f"plate {plate.id} passed"


def _requeue(session: Session, site_id: str, command: Any, changes: Changes, actor: str,
             at: datetime) -> str:
    assert isinstance(command, StaffRequeue)
    if command.job_id is not None:
        job = get_job(session, command.job_id)
        if job.state in (JobState.CANCELLED, JobState.REJECTED):
            raise LifecycleError(f"job {job.id} is {job.state}; it cannot be requeued",
                                 code="job_finished")
        parts = list(session.exec(select(Part).where(Part.job_id == job.id,
                                                     Part.state == PartState.FAILED.value)))
    else:
        parts = [session.get(Part, part_id) or _missing_part(part_id)
                 for part_id in command.part_ids]
    for part in parts:
        if part.state != PartState.FAILED:
            raise LifecycleError(f"part {part.id} is {part.state}; only failed parts can be "
                                 "requeued", code="not_failed")
        part.attempt = 0
        changes.move(session, part, PartState.QUEUED, actor=actor, now=at, kind="part.requeued")
    return f"{len(parts)} part(s) requeued"


def _missing_part(part_id: str) -> Part:
    raise NotFound("part", part_id)


def _cancel_job(session: Session, site_id: str, command: Any, changes: Changes, actor: str,
                at: datetime) -> str:
    assert isinstance(command, StaffCancelJob)
    changes.merge(cancel_job(session, command.job_id, actor=actor, now=at,
                             reason=command.reason or "cancelled by staff"))
    return f"job {command.job_id} cancelled"


def _cancel_plate(session: Session, site_id: str, command: Any, changes: Changes, actor: str,
                  at: datetime) -> str:
    assert isinstance(command, StaffCancelPlate)
    plate = _site_plate(session, site_id, command.plate_id)
    return_plate(session, plate, PlateState.CANCELLED, changes, actor=actor, now=at,
                 reason=command.reason or "cancelled by staff")
    return f"plate {plate.id} cancelled; its parts go back to the queue"


def _cancel_part(session: Session, site_id: str, command: Any, changes: Changes, actor: str,
                 at: datetime) -> str:
    assert isinstance(command, StaffCancelPart)
    plate = _site_plate(session, site_id, command.plate_id)
    ((placement, part),) = _plate_parts(session, plate, (command.part_id,))
    if plate.state not in (PlateState.DISPATCHED, PlateState.PRINTING) or \
            placement.state != PlacementState.PLACED:
        raise LifecycleError(f"plate {plate.id} is {plate.state} and part {part.id} is not "
                             "printing on it; cancel the plate or the job instead",
                             code="not_printing")
    reason = command.reason or "stopped by staff"
    request_part_cancel(session, plate, part, changes, reason=reason)
    requeue_part(session, part, changes, failed=True, actor=actor, reason=reason, now=at)
    return f"part {part.id} will be skipped on plate {plate.id} and printed again"


def _pause_or_resume(session: Session, site_id: str, command: Any, changes: Changes,
                     actor: str, at: datetime) -> str:
    assert isinstance(command, StaffPause | StaffResume)
    printer = get_printer(session, command.printer_id, site_id=site_id)
    plate = plate_on_printer(session, printer.id)
    if plate is None or plate.state not in (PlateState.DISPATCHED, PlateState.PRINTING):
        raise LifecycleError(f"printer {printer.id} is not printing", code="not_printing")
    action = AgentAction.PAUSE if isinstance(command, StaffPause) else AgentAction.RESUME
    changes.requests.append(AgentRequest(action, printer.site_id, printer.id, plate_id=plate.id))
    changes.note(session, printer, kind=f"printer.{action.value}_requested", actor=actor, now=at)
    return f"printer {printer.id}: {action.value} sent"


def _maintenance(session: Session, site_id: str, command: Any, changes: Changes, actor: str,
                 at: datetime) -> str:
    assert isinstance(command, StaffMaintenanceOn | StaffMaintenanceOff)
    printer = get_printer(session, command.printer_id, site_id=site_id)
    on = isinstance(command, StaffMaintenanceOn)
    reason = command.reason if isinstance(command, StaffMaintenanceOn) else ""
    changes.merge(set_maintenance(session, printer.id, on, actor=actor, reason=reason, now=at))
    changes.requests.append(AgentRequest(AgentAction.SET_MAINTENANCE, printer.site_id,
                                         printer.id, on=on, reason=reason))
    return f"printer {printer.id}: maintenance {'on' if on else 'off'}"


_Handler = Callable[[Session, str, Any, Changes, str, datetime], str]
_HANDLERS: dict[type, _Handler] = {
    StaffBedCleared: _bed_cleared,
    StaffSpoolLoaded: _spool_loaded,
    StaffPartFailed: _part_failed,
    StaffPartPassed: _part_passed,
    StaffPlateFailed: _plate_failed,
    StaffPlatePassed: _plate_passed,
    StaffRequeue: _requeue,
    StaffCancelJob: _cancel_job,
    StaffCancelPlate: _cancel_plate,
    StaffCancelPart: _cancel_part,
    StaffPause: _pause_or_resume,
    StaffResume: _pause_or_resume,
    StaffMaintenanceOn: _maintenance,
    StaffMaintenanceOff: _maintenance,
}
