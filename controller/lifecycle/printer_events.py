"""Agent events drive plates and parts: received, started, progress, finished, failed,
cancelled, part cancelled, rejected.

Each event is applied at most once: its id is written to the processed-message ledger in the
same transaction that applies it, so a QoS 1 redelivery or an event replayed from the
agent's disk queue changes nothing the second time. (Two controllers applying one event at
the same moment: the second commit fails on the ledger's primary key; roll back and treat
it as a duplicate.)

    outcome = apply_printer_event(session, site_id, printer_id, event)
    session.commit()
    publish job statuses for outcome.changes.jobs
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from controller.db.tables import Part, Plate, PlatePart, ProcessedMessage
from controller.db.types import utcnow
from controller.lifecycle.plate_rules import (
    fail_plate,
    finish_plate,
    placements,
    release_untouched_bed,
    requeue_part,
    return_plate,
    settle_jobs,
)
from controller.lifecycle.printers import get_printer
from controller.lifecycle.states import PartState, PlacementState, PlateState
from controller.lifecycle.transitions import Changes
from protocol.messages.printer import EventKind, PrinterEvent

AGENT_SOURCE = "agent"
ACTIVE_PLATE_STATES = (PlateState.DISPATCHED, PlateState.PRINTING, PlateState.INTERRUPTED)


@dataclass
class EventOutcome:
    """Whether the event changed anything (False for duplicates and stale events), and why."""

    applied: bool
    changes: Changes = field(default_factory=Changes)
    note: str = ""


def already_processed(session: Session, source: str, message_id: str) -> ProcessedMessage | None:
    return session.get(ProcessedMessage, (source, message_id))


def remember(
    session: Session, source: str, message_id: str, result: dict[str, object], now: datetime
) -> None:
    session.add(
        ProcessedMessage(source=source, message_id=message_id, processed_at=now, result=result)
    )


def apply_printer_event(
    session: Session,
    site_id: str,
    printer_id: str,
    event: PrinterEvent,
    *,
    now: datetime | None = None,
) -> EventOutcome:
    """Apply one agent event from `sites/{site_id}/printers/{printer_id}/events`."""
    at = now or utcnow()
    key = f"{printer_id}:{event.event_id}"
    if already_processed(session, AGENT_SOURCE, key) is not None:
        return EventOutcome(False, note=f"event {event.event_id} was already applied")
    printer = get_printer(session, printer_id, site_id=site_id)
    outcome = _dispatch(session, printer_id, event, at)
    if not outcome.applied:
        outcome.changes.note(
            session,
            printer,
            kind="printer.event_ignored",
            actor=printer_id,
            now=at,
            details={"event_id": event.event_id, "kind": event.kind, "why": outcome.note},
        )
    remember(session, AGENT_SOURCE, key, {"applied": outcome.applied, "note": outcome.note}, at)
    settle_jobs(session, outcome.changes, actor=printer_id, now=at)
    session.flush()
    return outcome


def _dispatch(session: Session, printer_id: str, event: PrinterEvent, at: datetime) -> EventOutcome:
    if event.plate_id is None:
        printer = get_printer(session, printer_id)
        changes = Changes()
        changes.note(
            session,
            printer,
            kind=f"agent.{event.kind.value}",
            actor=printer_id,
            now=at,
            details={"details": event.details, "command_id": event.command_id},
        )
        return EventOutcome(True, changes)
    plate = session.get(Plate, event.plate_id)
    if plate is None or plate.printer_id != printer_id:
        return EventOutcome(False, note=f"plate {event.plate_id} is not this printer's")
    handler = _HANDLERS.get(event.kind)
    if handler is None:
        changes = Changes()
        changes.note(
            session,
            plate,
            kind=f"agent.{event.kind.value}",
            actor=printer_id,
            now=at,
            details={"details": event.details},
        )
        return EventOutcome(True, changes)
    return handler(session, plate, event, at)


def _received(session: Session, plate: Plate, event: PrinterEvent, at: datetime) -> EventOutcome:
    if plate.state != PlateState.DISPATCHED:
        return EventOutcome(False, note=f"plate {plate.id} is {plate.state}, not awaiting receipt")
    plate.acknowledged_at = at
    changes = Changes()
    changes.note(session, plate, kind="plate.received", actor=plate.printer_id, now=at)
    return EventOutcome(True, changes)


def _rejected(session: Session, plate: Plate, event: PrinterEvent, at: datetime) -> EventOutcome:
    if plate.state != PlateState.DISPATCHED:
        return EventOutcome(False, note=f"plate {plate.id} is {plate.state}; rejection too late")
    changes = Changes()
    fail_plate(
        session,
        plate,
        changes,
        actor=plate.printer_id,
        now=at,
        reason=f"the agent refused the plate: {event.details or 'no reason given'}",
    )
    release_untouched_bed(session, plate, changes, actor=plate.printer_id, now=at)
    return EventOutcome(True, changes)


def _started(session: Session, plate: Plate, event: PrinterEvent, at: datetime) -> EventOutcome:
    changes = Changes()
    if plate.state in (PlateState.DISPATCHED, PlateState.INTERRUPTED):
        _start(session, plate, changes, at)
    elif plate.state != PlateState.PRINTING:
        return EventOutcome(False, note=f"plate {plate.id} is {plate.state}; cannot start")
    if event.kind is EventKind.PROGRESS:
        plate.progress, plate.seconds_left = event.progress, event.seconds_left
        session.add(plate)
    return EventOutcome(True, changes)


def _start(session: Session, plate: Plate, changes: Changes, at: datetime) -> None:
    reclaiming = plate.state == PlateState.INTERRUPTED
    plate.started_at = plate.started_at or at
    changes.move(
        session,
        plate,
        PlateState.PRINTING,
        actor=plate.printer_id,
        now=at,
        kind="plate.resumed_after_outage" if reclaiming else None,
    )
    for placement, part in placements(session, plate.id):
        if placement.state == PlacementState.PLACED and part.state == PartState.DISPATCHED:
            changes.move(session, part, PartState.PRINTING, actor=plate.printer_id, now=at)
        elif reclaiming and placement.state == PlacementState.RETURNED:
            _reclaim(session, plate, placement, part, PartState.PRINTING, changes, at)


def _reclaim(
    session: Session,
    plate: Plate,
    placement: PlatePart,
    part: Part,
    to_state: PartState,
    changes: Changes,
    at: datetime,
) -> None:
    """A part of an interrupted plate that was printing all along: take it back unless it
    was sent to a printer since (then the other copy is a duplicate, logged as such)."""
    other = session.get(Plate, part.plate_id) if part.plate_id else None
    if other is not None and other.state in (PlateState.SLICING, PlateState.SLICED):
        # Not on a printer yet: drop that plate (its other parts are re-planned).
        return_plate(
            session,
            other,
            PlateState.CANCELLED,
            changes,
            actor=plate.printer_id,
            now=at,
            reason=f"part {part.id} was printed on plate {plate.id} after all",
        )
    elif other is not None and other.state == PlateState.PLANNED:
        row = session.get(PlatePart, (other.id, part.id))
        if row is not None:
            session.delete(row)
    if part.state not in (PartState.QUEUED, PartState.PLANNED):
        changes.note(
            session,
            part,
            kind="part.printed_twice",
            actor=plate.printer_id,
            now=at,
            details={"plate_id": plate.id, "also_on": part.plate_id},
        )
        return
    part.plate_id = plate.id
    placement.state = PlacementState.PLACED
    session.add(placement)
    changes.move(
        session,
        part,
        to_state,
        actor=plate.printer_id,
        now=at,
        kind="part.reclaimed",
        details={"plate_id": plate.id},
    )


def _finished(session: Session, plate: Plate, event: PrinterEvent, at: datetime) -> EventOutcome:
    if plate.state not in ACTIVE_PLATE_STATES:
        return EventOutcome(False, note=f"plate {plate.id} is {plate.state}; cannot finish")
    changes = Changes()
    if plate.state == PlateState.INTERRUPTED:
        _start(session, plate, changes, at)
    finish_plate(
        session, plate, changes, failed_part_ids=set(event.part_ids), actor=plate.printer_id, now=at
    )
    return EventOutcome(True, changes)


def _failed(session: Session, plate: Plate, event: PrinterEvent, at: datetime) -> EventOutcome:
    if plate.state not in ACTIVE_PLATE_STATES:
        return EventOutcome(False, note=f"plate {plate.id} is {plate.state}; cannot fail")
    changes = Changes()
    fail_plate(
        session,
        plate,
        changes,
        actor=plate.printer_id,
        now=at,
        reason=event.details or "the printer reported the plate failed",
    )
    return EventOutcome(True, changes)


def _cancelled(session: Session, plate: Plate, event: PrinterEvent, at: datetime) -> EventOutcome:
    changes = Changes()
    if plate.state in ACTIVE_PLATE_STATES:
        return_plate(
            session,
            plate,
            PlateState.CANCELLED,
            changes,
            actor=plate.printer_id,
            now=at,
            reason=event.details or "cancelled on the printer",
        )
        changes.requests.clear()  # the agent cancelled it itself: nothing to ask
    elif plate.state != PlateState.CANCELLED:
        return EventOutcome(False, note=f"plate {plate.id} is {plate.state}; not cancellable")
    else:
        changes.note(session, plate, kind="plate.cancel_confirmed", actor=plate.printer_id, now=at)
    release_untouched_bed(session, plate, changes, actor=plate.printer_id, now=at)
    return EventOutcome(True, changes)


def _part_cancelled(
    session: Session, plate: Plate, event: PrinterEvent, at: datetime
) -> EventOutcome:
    changes = Changes()
    for part_id in event.part_ids:
        placement = session.get(PlatePart, (plate.id, part_id))
        part = session.get(Part, part_id)
        if placement is None or part is None:
            continue
        if placement.state == PlacementState.CANCEL_REQUESTED:
            placement.state = PlacementState.CANCELLED
        elif placement.state == PlacementState.PLACED and part.plate_id == plate.id:
            # The agent stopped the object itself (a failure it detected).
            placement.state = PlacementState.FAILED
            requeue_part(
                session,
                part,
                changes,
                failed=True,
                actor=plate.printer_id,
                now=at,
                reason=event.details or f"object cancelled on plate {plate.id}",
            )
        else:
            continue
        session.add(placement)
        changes.note(
            session,
            plate,
            kind="plate.part_cancelled",
            actor=plate.printer_id,
            now=at,
            details={"part_id": part_id},
        )
    return EventOutcome(
        bool(changes.events),
        changes,
        note="" if changes.events else "no such part awaiting cancellation",
    )


_Handler = Callable[[Session, Plate, PrinterEvent, datetime], EventOutcome]
_HANDLERS: dict[EventKind, _Handler] = {
    EventKind.PLATE_RECEIVED: _received,
    EventKind.PLATE_REJECTED: _rejected,
    EventKind.PLATE_STARTED: _started,
    EventKind.PROGRESS: _started,
    EventKind.PLATE_FINISHED: _finished,
    EventKind.PLATE_FAILED: _failed,
    EventKind.PLATE_CANCELLED: _cancelled,
    EventKind.PART_CANCELLED: _part_cancelled,
}
