"""What the service must pick up again after a start or a crash, read from the database.

The database is the whole state: nothing in the service's memory is needed to go on.
`recover(session)` reads (and changes nothing):
- dispatches the agents never acknowledged (resend the G-code and `cmd.run_plate`; the agent
  ignores a plate it already has),
- offline printers' grace deadlines (re-arm the timers; interrupt the ones already past),
- plates to slice (planned, and those whose slicing the crash cut short),
- cancel_part requests for objects on plates still printing (resend; repeats are harmless),
- printers ready for their next plate, and open jobs (republish their status).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from controller.db.tables import Job, Plate, Printer
from controller.lifecycle.plate_rules import pending_cancel_requests, placements
from controller.lifecycle.plates import Dispatch
from controller.lifecycle.printers import printers_ready_for_dispatch
from controller.lifecycle.states import OPEN_JOB_STATES, PlateState, PrinterStatus
from controller.lifecycle.transitions import AgentRequest


@dataclass
class Recovery:
    unacknowledged_dispatches: list[Dispatch]
    grace_deadlines: list[tuple[str, datetime]]  # (printer id, deadline)
    plates_to_slice: list[str]
    cancel_requests: list[AgentRequest]
    ready_printers: list[str]
    open_jobs: list[str]


def dispatch_of(session: Session, plate: Plate) -> Dispatch:
    """The run_plate contents of a plate already dispatched (to send it again)."""
    printer = session.get(Printer, plate.printer_id)
    if printer is None:
        raise LookupError(f"plate {plate.id} names missing printer {plate.printer_id}")
    parts = [
        (part.id, placement.object_label)
        for placement, part in placements(session, plate.id)
        if part.plate_id == plate.id
    ]
    return Dispatch(plate, printer.site_id, printer.profile_id, parts)


def recover(session: Session) -> Recovery:
    """Everything in flight, as stored (see the module docstring)."""
    unacknowledged = session.exec(
        select(Plate)
        .where(Plate.state == PlateState.DISPATCHED.value, col(Plate.acknowledged_at).is_(None))
        .order_by(col(Plate.dispatched_at), col(Plate.id))
    )
    timers = session.exec(
        select(Printer.id, Printer.grace_deadline)
        .where(
            Printer.state == PrinterStatus.OFFLINE.value, col(Printer.grace_deadline).is_not(None)
        )
        .order_by(col(Printer.grace_deadline))
    )
    to_slice = session.exec(
        select(Plate.id)
        .where(col(Plate.state).in_([PlateState.PLANNED.value, PlateState.SLICING.value]))
        .order_by(col(Plate.sequence), col(Plate.planned_start), col(Plate.id))
    )
    jobs = session.exec(
        select(Job.id)
        .where(col(Job.state).in_([state.value for state in OPEN_JOB_STATES]))
        .order_by(col(Job.created_at))
    )
    return Recovery(
        unacknowledged_dispatches=[dispatch_of(session, plate) for plate in unacknowledged],
        grace_deadlines=[
            (printer_id, deadline) for printer_id, deadline in timers if deadline is not None
        ],
        plates_to_slice=list(to_slice),
        cancel_requests=pending_cancel_requests(session),
        ready_printers=[printer.id for printer in printers_ready_for_dispatch(session)],
        open_jobs=list(jobs),
    )
