"""Printers as the farm knows them: sites, registration, reported state, the offline timer,
and which printers may take their next plate.

An agent's retained `PrinterState` is applied with `record_printer_state` (older reports are
ignored using `PrinterState.supersedes`'s order). A printer that goes offline with a plate on
it gets a durable `grace_deadline`; when it passes (`expired_grace_deadlines`), the service
calls `interrupt_printer` and the plate's parts go back to the queue. A printer that comes
back in time just carries on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from controller.db.tables import Plate, Printer, Site
from controller.db.types import utcnow
from controller.lifecycle.plate_rules import get_plate, plate_on_printer, return_plate, settle_jobs
from controller.lifecycle.plates import next_sliced_plate, printer_is_ready, spool_matches
from controller.lifecycle.states import PlateState, PrinterStatus
from controller.lifecycle.transitions import (
    AgentAction,
    AgentRequest,
    Changes,
    LifecycleError,
    NotFound,
    can_transition,
    record_creation,
)
from protocol.messages.printer import PrinterState

DEFAULT_GRACE_SECONDS = 300.0


def upsert_site(
    session: Session,
    site_id: str,
    *,
    name: str = "",
    lat: float = 0.0,
    lon: float = 0.0,
    tz: str = "UTC",
    staffed_hours: dict[str, Any] | None = None,
) -> Site:
    """Create or update a site (from the controller's configuration or provisioning)."""
    site = session.get(Site, site_id) or Site(id=site_id)
    site.name, site.lat, site.lon, site.tz = name or site_id, lat, lon, tz
    site.staffed_hours = staffed_hours or {}
    session.add(site)
    session.flush()
    return site


def register_printer(
    session: Session,
    printer_id: str,
    *,
    site_id: str,
    profile_id: str,
    name: str = "",
    spool: tuple[str, str] | None = None,
    actor: str = "controller",
    now: datetime | None = None,
) -> Printer:
    """Create a printer (and a bare site if the site is new); an existing one is returned
    with its profile updated. A printer id belongs to one site.

    `spool` (material, colour) is what a new printer starts with loaded (from provisioning);
    for a printer the farm already knows it is ignored, since staff and the agent have said
    what is loaded since (provisioning on every start must not undo a spool change)."""
    printer = session.get(Printer, printer_id)
    if printer is not None:
        if printer.site_id != site_id:
            raise LifecycleError(
                f"printer {printer_id} belongs to site {printer.site_id}, "
                f"not {site_id}; printer ids are unique across the farm",
                code="wrong_site",
            )
        printer.profile_id = profile_id
        printer.name = name or printer.name
        session.add(printer)
        return printer
    if session.get(Site, site_id) is None:
        upsert_site(session, site_id)
    printer = Printer(
        id=printer_id, site_id=site_id, profile_id=profile_id, name=name or printer_id
    )
    if spool is not None:
        printer.loaded_material, printer.loaded_colour = spool[0].upper(), spool[1].lower()
    session.add(printer)
    record_creation(
        session,
        printer,
        actor=actor,
        now=now,
        details={"site_id": site_id, "profile_id": profile_id, "spool": spool},
    )
    session.flush()
    return printer


def get_printer(session: Session, printer_id: str, *, site_id: str | None = None) -> Printer:
    printer = session.get(Printer, printer_id)
    if printer is None or (site_id is not None and printer.site_id != site_id):
        where = f" at site {site_id}" if site_id else ""
        raise NotFound("printer", f"{printer_id}{where}")
    return printer


def record_printer_state(
    session: Session,
    site_id: str,
    printer_id: str,
    state: PrinterState,
    *,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    actor: str = "agent",
    now: datetime | None = None,
) -> Changes:
    """Apply an agent's state report; a stale one (older than the last applied) is ignored."""
    at = now or utcnow()
    changes = Changes()
    printer = session.get(Printer, printer_id)
    if printer is None:
        if state.profile_id is None:
            return changes  # a will from a printer never seen: nothing to record
        printer = register_printer(
            session, printer_id, site_id=site_id, profile_id=state.profile_id, actor=actor, now=at
        )
    elif printer.site_id != site_id:
        raise LifecycleError(
            f"printer {printer_id} belongs to site {printer.site_id}, not {site_id}",
            code="wrong_site",
        )
    if _is_stale(printer, state):
        return changes
    printer.state_run_id, printer.state_connection = state.run_id, state.connection
    printer.state_seq, printer.state_at = state.sequence, state.at
    if state.profile_id:
        printer.profile_id = state.profile_id
    if state.state != PrinterStatus.OFFLINE:
        printer.last_seen = at
        _take_reported_spool(session, printer, state, changes, actor, at)
    session.add(printer)
    if state.state == PrinterStatus.OFFLINE:
        changes.merge(
            printer_offline(session, printer_id, grace_seconds=grace_seconds, actor=actor, now=at)
        )
    else:
        changes.merge(
            printer_online(session, printer_id, PrinterStatus(state.state), actor=actor, now=at)
        )
        _repeat_bed_clear(session, printer, state, changes, actor, at)
    return changes


def _repeat_bed_clear(
    session: Session,
    printer: Printer,
    state: PrinterState,
    changes: Changes,
    actor: str,
    at: datetime,
) -> None:
    """The agent still waits for a bed clear that staff gave (the controller died between
    committing it and sending `cmd.bed_cleared`, say): send it again, for that plate."""
    if state.state != PrinterStatus.AWAITING_BED_CLEAR or state.plate_id is None:
        return
    plate = session.get(Plate, state.plate_id)
    if plate is None or plate.printer_id != printer.id or plate.cleared_at is None:
        return
    if not printer.bed_clear or plate_on_printer(session, printer.id) is not None:
        return
    changes.note(
        session,
        printer,
        kind="printer.bed_clear_repeated",
        actor=actor,
        now=at,
        details={"plate_id": plate.id},
    )
    changes.requests.append(
        AgentRequest(AgentAction.BED_CLEARED, printer.site_id, printer.id, plate_id=plate.id)
    )


def _take_reported_spool(
    session: Session,
    printer: Printer,
    state: PrinterState,
    changes: Changes,
    actor: str,
    at: datetime,
) -> None:
    """An agent's report of its spool counts only when it changes: an agent that keeps
    reporting the spool it was configured with must not undo a staff `spool_loaded`."""
    reported = (state.material, state.colour)
    if state.material is None or reported == (printer.reported_material, printer.reported_colour):
        return
    printer.reported_material, printer.reported_colour = reported
    if reported != (printer.loaded_material, printer.loaded_colour):
        printer.loaded_material, printer.loaded_colour = reported
        changes.note(
            session,
            printer,
            kind="printer.spool_reported",
            actor=actor,
            now=at,
            details={"material": state.material, "colour": state.colour},
        )


def _is_stale(printer: Printer, state: PrinterState) -> bool:
    if printer.state_run_id != state.run_id:
        return False
    return (state.connection, state.sequence) <= (printer.state_connection, printer.state_seq)


def printer_offline(
    session: Session,
    printer_id: str,
    *,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    actor: str = "agent",
    now: datetime | None = None,
) -> Changes:
    """The printer's agent is gone: start the grace timer if a plate is on the printer."""
    at = now or utcnow()
    printer = get_printer(session, printer_id)
    changes = Changes()
    if printer.state == PrinterStatus.OFFLINE:
        return changes
    printer.offline_since = at
    plate = plate_on_printer(session, printer_id)
    in_flight = plate is not None and plate.state != PlateState.FINISHED
    printer.grace_deadline = at + timedelta(seconds=grace_seconds) if in_flight else None
    details: dict[str, Any] = {}
    if in_flight and plate is not None and printer.grace_deadline is not None:
        details = {"plate_id": plate.id, "grace_deadline": printer.grace_deadline.isoformat()}
    changes.move(session, printer, PrinterStatus.OFFLINE, actor=actor, now=at, details=details)
    return changes


def printer_online(
    session: Session,
    printer_id: str,
    state: PrinterStatus,
    *,
    actor: str = "agent",
    now: datetime | None = None,
) -> Changes:
    """The printer reports `state`: the offline timer (if any) stops."""
    at = now or utcnow()
    printer = get_printer(session, printer_id)
    changes = Changes()
    was_offline = printer.state == PrinterStatus.OFFLINE
    printer.offline_since = None
    printer.grace_deadline = None
    if printer.state == state:
        session.add(printer)
        return changes
    if can_transition(printer, state):
        changes.move(
            session,
            printer,
            state,
            actor=actor,
            now=at,
            kind="printer.back_online" if was_offline else None,
        )
    else:
        # What an agent reports is a fact: record it, flagged as unexpected.
        changes.note(
            session,
            printer,
            kind="printer.unexpected_state",
            actor=actor,
            now=at,
            details={"from_state": printer.state, "to_state": state.value},
        )
        printer.state = state.value
        session.add(printer)
    return changes


def expired_grace_deadlines(session: Session, now: datetime | None = None) -> list[str]:
    """Printers still offline whose grace period has passed (oldest deadline first)."""
    at = now or utcnow()
    query = (
        select(Printer.id)
        .where(
            col(Printer.grace_deadline).is_not(None),
            col(Printer.grace_deadline) <= at,
            Printer.state == PrinterStatus.OFFLINE.value,
        )
        .order_by(col(Printer.grace_deadline))
    )
    return list(session.exec(query))


def interrupt_printer(
    session: Session, printer_id: str, *, actor: str = "controller", now: datetime | None = None
) -> Changes:
    """The grace period passed: the plate on the offline printer is interrupted and its
    unprinted parts go back to the queue."""
    at = now or utcnow()
    printer = get_printer(session, printer_id)
    changes = Changes()
    printer.grace_deadline = None
    session.add(printer)
    for plate in session.exec(
        select(Plate).where(
            Plate.printer_id == printer_id,
            col(Plate.state).in_([PlateState.DISPATCHED.value, PlateState.PRINTING.value]),
        )
    ):
        changes.merge(interrupt_plate(session, plate.id, actor=actor, now=at))
    return changes


def interrupt_plate(
    session: Session, plate_id: str, *, actor: str = "controller", now: datetime | None = None
) -> Changes:
    """Give up on a dispatched or printing plate whose printer is gone: its unprinted parts
    go back to the queue (no failure counted). If the agent reports the plate later, parts
    not yet sent elsewhere are taken back (see `printer_events`)."""
    at = now or utcnow()
    plate = get_plate(session, plate_id)
    printer = get_printer(session, plate.printer_id)
    changes = Changes()
    if plate.state not in (PlateState.DISPATCHED, PlateState.PRINTING):
        raise LifecycleError(
            f"plate {plate.id} is {plate.state}; only a dispatched or printing "
            "plate can be interrupted",
            code="not_on_printer",
        )
    since = printer.offline_since.isoformat() if printer.offline_since else "unknown"
    return_plate(
        session,
        plate,
        PlateState.INTERRUPTED,
        changes,
        actor=actor,
        now=at,
        reason=f"printer {printer.id} offline since {since}",
    )
    return settle_jobs(session, changes, actor=actor, now=at)


def printers_ready_for_dispatch(session: Session) -> list[Printer]:
    """Printers that may start their next sliced plate now: online and idle, not in
    maintenance, bed confirmed clear by staff, nothing on the bed, and the plate's material
    and colour loaded. Only printers with a sliced plate waiting are looked at (one query),
    so an idle farm of thousands costs no per-printer queries."""
    with_sliced_plate = select(Plate.printer_id).where(Plate.state == PlateState.SLICED.value)
    candidates = session.exec(
        select(Printer)
        .where(
            Printer.state == PrinterStatus.IDLE.value,
            col(Printer.bed_clear).is_(True),
            col(Printer.maintenance).is_(False),
            col(Printer.id).in_(with_sliced_plate),
        )
        .order_by(col(Printer.id))
    )
    ready: list[Printer] = []
    for printer in candidates:
        if not printer_is_ready(session, printer):
            continue
        plate = next_sliced_plate(session, printer)
        if plate is not None and spool_matches(printer, plate):
            ready.append(printer)
    return ready


def set_maintenance(
    session: Session,
    printer_id: str,
    on: bool,
    *,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
) -> Changes:
    """Take a printer out of service (its plates not yet sent are cancelled and re-planned)
    or put it back."""
    at = now or utcnow()
    printer = get_printer(session, printer_id)
    changes = Changes()
    printer.maintenance = on
    session.add(printer)
    changes.note(
        session,
        printer,
        kind="printer.maintenance_on" if on else "printer.maintenance_off",
        actor=actor,
        now=at,
        details={"reason": reason},
    )
    if on:
        waiting = session.exec(
            select(Plate).where(
                Plate.printer_id == printer_id,
                col(Plate.state).in_(
                    [PlateState.PLANNED.value, PlateState.SLICING.value, PlateState.SLICED.value]
                ),
            )
        )
        for plate in waiting:
            return_plate(
                session,
                plate,
                PlateState.CANCELLED,
                changes,
                actor=actor,
                now=at,
                reason=f"printer {printer_id} went into maintenance",
            )
    return settle_jobs(session, changes, actor=actor, now=at)
