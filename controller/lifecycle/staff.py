"""Staff commands from a site's TUI: bed cleared, spool loaded, parts and plates failed or
passed, requeue, cancel, pause/resume, maintenance.

`apply_staff_command` answers every command with accepted or refused and a reason (the
service puts it in a `StaffReply`). An accepted `staff.bed_cleared` is for the service to
forward to the agent as `cmd.bed_cleared`, naming the plate taken off the bed
(`last_cleared_plate`; the agent keeps its own gate and refuses a clear meant for an older
plate). A refused command
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

from sqlmodel import Session, col, or_, select

from controller.db.tables import Plate
from controller.db.types import utcnow
from controller.lifecycle import staff_inspection
from controller.lifecycle.plate_rules import (
    plate_on_printer,
    settle_jobs,
)
from controller.lifecycle.printer_events import already_processed, remember
from controller.lifecycle.printers import get_printer, set_maintenance
from controller.lifecycle.states import PlateState
from controller.lifecycle.transitions import (
    AgentAction,
    AgentRequest,
    Changes,
    LifecycleError,
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


def apply_staff_command(
    session: Session, site_id: str, command: StaffCommand, *, now: datetime | None = None
) -> StaffOutcome:
    """Apply one staff command from `sites/{site_id}/staff/cmd` (see the module docstring)."""
    at = now or utcnow()
    key = f"{site_id}:{command.command_id}"
    seen = already_processed(session, STAFF_SOURCE, key)
    if seen is not None:
        return StaffOutcome(
            bool(seen.result.get("accepted")), str(seen.result.get("reason", "")), replayed=True
        )
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
    remember(
        session,
        STAFF_SOURCE,
        key,
        {"accepted": outcome.accepted, "reason": outcome.reason, "action": command.type},
        at,
    )
    session.flush()
    return outcome


def _bed_cleared(
    session: Session, site_id: str, command: Any, changes: Changes, actor: str, at: datetime
) -> str:
    assert isinstance(command, StaffBedCleared)
    printer = get_printer(session, command.printer_id, site_id=site_id)
    on_bed = plate_on_printer(session, printer.id)
    if on_bed is not None and on_bed.state != PlateState.FINISHED:
        raise LifecycleError(
            f"printer {printer.id} has plate {on_bed.id} {on_bed.state}; "
            "its bed cannot be clear yet",
            code="plate_on_bed",
        )
    cleared = []
    if on_bed is not None:
        on_bed.cleared_at = at
        changes.move(session, on_bed, PlateState.CLEARED, actor=actor, now=at)
        cleared.append(on_bed.id)
    leftovers = session.exec(
        select(Plate).where(
            Plate.printer_id == printer.id,
            col(Plate.cleared_at).is_(None),
            # started, or received by the agent (which may have started it and died before
            # it could say so)
            or_(col(Plate.started_at).is_not(None), col(Plate.acknowledged_at).is_not(None)),
        )
    )
    for plate in leftovers:  # failed, cancelled or interrupted prints taken off the bed
        if plate.state != PlateState.CLEARED:
            plate.cleared_at = at
            session.add(plate)
            cleared.append(plate.id)
    was_clear = printer.bed_clear
    printer.bed_clear = True
    session.add(printer)
    changes.note(
        session,
        printer,
        kind="printer.bed_cleared",
        actor=actor,
        now=at,
        details={"plates": cleared},
    )
    if not cleared and was_clear:
        return f"printer {printer.id}: bed was already clear"
    return f"printer {printer.id}: bed clear, it may start its next plate"


def last_cleared_plate(session: Session, printer_id: str) -> str | None:
    """The plate staff most recently took off the printer's bed (None: never one)."""
    query = (
        select(Plate.id)
        .where(Plate.printer_id == printer_id, col(Plate.cleared_at).is_not(None))
        .order_by(col(Plate.cleared_at).desc(), col(Plate.acknowledged_at).desc().nulls_last())
        .limit(1)
    )
    return session.exec(query).first()


def _spool_loaded(
    session: Session, site_id: str, command: Any, changes: Changes, actor: str, at: datetime
) -> str:
    assert isinstance(command, StaffSpoolLoaded)
    printer = get_printer(session, command.printer_id, site_id=site_id)
    printer.loaded_material, printer.loaded_colour = command.material, command.colour
    session.add(printer)
    changes.note(
        session,
        printer,
        kind="printer.spool_loaded",
        actor=actor,
        now=at,
        details={"material": command.material, "colour": command.colour, "grams": command.grams},
    )
    return f"printer {printer.id}: {command.material} {command.colour} loaded"


def _pause_or_resume(
    session: Session, site_id: str, command: Any, changes: Changes, actor: str, at: datetime
) -> str:
    assert isinstance(command, StaffPause | StaffResume)
    printer = get_printer(session, command.printer_id, site_id=site_id)
    plate = plate_on_printer(session, printer.id)
    if plate is None or plate.state not in (PlateState.DISPATCHED, PlateState.PRINTING):
        raise LifecycleError(f"printer {printer.id} is not printing", code="not_printing")
    action = AgentAction.PAUSE if isinstance(command, StaffPause) else AgentAction.RESUME
    changes.requests.append(AgentRequest(action, printer.site_id, printer.id, plate_id=plate.id))
    changes.note(session, printer, kind=f"printer.{action.value}_requested", actor=actor, now=at)
    return f"printer {printer.id}: {action.value} sent"


def _maintenance(
    session: Session, site_id: str, command: Any, changes: Changes, actor: str, at: datetime
) -> str:
    assert isinstance(command, StaffMaintenanceOn | StaffMaintenanceOff)
    printer = get_printer(session, command.printer_id, site_id=site_id)
    on = isinstance(command, StaffMaintenanceOn)
    reason = command.reason if isinstance(command, StaffMaintenanceOn) else ""
    changes.merge(set_maintenance(session, printer.id, on, actor=actor, reason=reason, now=at))
    changes.requests.append(
        AgentRequest(AgentAction.SET_MAINTENANCE, printer.site_id, printer.id, on=on, reason=reason)
    )
    return f"printer {printer.id}: maintenance {'on' if on else 'off'}"


_Handler = Callable[[Session, str, Any, Changes, str, datetime], str]
_HANDLERS: dict[type, _Handler] = {
    StaffBedCleared: _bed_cleared,
    StaffSpoolLoaded: _spool_loaded,
    StaffPartFailed: staff_inspection.on_part_failed,
    StaffPartPassed: staff_inspection.on_part_passed,
    StaffPlateFailed: staff_inspection.on_plate_failed,
    StaffPlatePassed: staff_inspection.on_plate_passed,
    StaffRequeue: staff_inspection.on_requeue,
    StaffCancelJob: staff_inspection.on_cancel_job,
    StaffCancelPlate: staff_inspection.on_cancel_plate,
    StaffCancelPart: staff_inspection.on_cancel_part,
    StaffPause: _pause_or_resume,
    StaffResume: _pause_or_resume,
    StaffMaintenanceOn: _maintenance,
    StaffMaintenanceOff: _maintenance,
}
