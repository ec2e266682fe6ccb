"""What the agent does with each command from the controller.

One handler per command type, registered in `HANDLERS`. Each answers with an
event carrying the command's id: the event that shows it done, `command_accepted`,
or `command_refused` / `plate_rejected` with the reason. Commands the printer
confirms later (pause, resume, cancel, cancel one part) are answered when the
printer reports it, by the matching event in `printer_events.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agent.backends.base import BackendError
from agent.intake import PlateIntake, PlateRefused
from agent.ledger import PlateRecord, PlateStatus
from agent.session import PrinterSession
from firmware_profiles import Profile
from protocol import (
    BedCleared,
    CancelPart,
    CancelPlate,
    Cooldown,
    EventKind,
    Message,
    Pause,
    Preheat,
    Resume,
    RunPlate,
    SetMaintenance,
)

log = logging.getLogger(__name__)


class CommandRefused(Exception):
    """The command cannot be carried out; `str()` is the reason sent back."""


class CommandHandlers:
    def __init__(self, session: PrinterSession, intake: PlateIntake, profile: Profile) -> None:
        self.session = session
        self.intake = intake
        self.profile = profile
        self._handlers: dict[type[Message], Callable[[Any], None]] = {
            RunPlate: self.run_plate,
            Pause: self.pause,
            Resume: self.resume,
            CancelPlate: self.cancel_plate,
            CancelPart: self.cancel_part,
            Preheat: self.preheat,
            Cooldown: self.cooldown,
            SetMaintenance: self.set_maintenance,
            BedCleared: self.bed_cleared,
        }

    def handle(self, command: Message) -> None:
        """Carry out one command; a refusal is reported, never raised."""
        handler = self._handlers.get(type(command))
        command_id: str = getattr(command, "command_id", "")
        try:
            if handler is None:
                raise CommandRefused(f"this agent does not know the command {command.type}")
            handler(command)
        except (CommandRefused, BackendError) as error:
            log.warning("refused %s %s: %s", command.type, command_id, error)
            self.session.reporter.report(
                EventKind.COMMAND_REFUSED, command_id=command_id, details=str(error)
            )

    # -- plates ------------------------------------------------------------------------

    def run_plate(self, command: RunPlate) -> None:
        session = self.session
        known = session.ledger.get(command.plate_id)
        if known is not None and known.status.ran:
            # Idempotent by plate id: a re-sent plate is acknowledged, never run twice.
            session.reporter.report(
                EventKind.PLATE_RECEIVED,
                plate_id=command.plate_id,
                command_id=command.command_id,
                details=f"already received; the plate is {known.status.value} and is not run again",
            )
            return
        try:
            reason = session.why_not_ready()
            if reason is not None:
                raise PlateRefused(reason)
            accepted = self.intake.accept(command)
        except PlateRefused as refusal:
            self.reject(command, str(refusal))
            return
        record = PlateRecord(
            command.plate_id, command.gcode_sha256, PlateStatus.PRINTING, parts=accepted.parts
        )
        session.begin_plate(record, command.command_id)
        try:
            session.backend.start(accepted.program, accepted.plate)
        except BackendError as error:
            session.ledger.set_bed_clear(True)  # nothing touched the bed
            session.end_plate(
                PlateStatus.FAILED,
                EventKind.PLATE_FAILED,
                record.parts,
                f"the printer did not start the plate: {error}",
            )

    def reject(self, command: RunPlate, reason: str) -> None:
        """Refuse a plate: it never runs, and the controller learns why."""
        session = self.session
        log.warning("plate %s rejected: %s", command.plate_id, reason)
        with session.store.transaction():
            session.ledger.put(
                PlateRecord(command.plate_id, command.gcode_sha256, PlateStatus.REJECTED, reason)
            )
            session.reporter.report(
                EventKind.PLATE_REJECTED,
                plate_id=command.plate_id,
                command_id=command.command_id,
                details=reason,
            )
        session.spool.discard(command.gcode_sha256)

    def cancel_plate(self, command: CancelPlate) -> None:
        self._require_plate(command.plate_id)
        self.session.awaiting["cancel"] = command.command_id
        self.session.backend.cancel()

    def cancel_part(self, command: CancelPart) -> None:
        plate = self._require_plate(command.plate_id)
        label = plate.parts.get(command.part_id)
        if label is None:
            raise CommandRefused(f"part {command.part_id} is not on plate {plate.plate_id}")
        self.session.awaiting[f"object:{label}"] = command.command_id
        self.session.backend.cancel_object(label)

    def _require_plate(self, plate_id: str) -> PlateRecord:
        plate = self.session.plate
        if plate is None or plate.plate_id != plate_id:
            running = plate.plate_id if plate else "no plate"
            raise CommandRefused(f"plate {plate_id} is not on the printer (it runs {running})")
        return plate

    # -- printer -----------------------------------------------------------------------

    def pause(self, command: Pause) -> None:
        self.session.awaiting["pause"] = command.command_id
        self.session.backend.pause()

    def resume(self, command: Resume) -> None:
        self.session.awaiting["resume"] = command.command_id
        self.session.backend.resume()

    def preheat(self, command: Preheat) -> None:
        try:
            material = self.profile.material(command.material)
        except KeyError as error:
            raise CommandRefused(str(error.args[0])) from error
        self.session.backend.set_temperatures(material.hotend_c, material.bed_c)
        self._accepted(command.command_id, f"preheating for {command.material}")

    def cooldown(self, command: Cooldown) -> None:
        self.session.backend.set_temperatures(0.0, 0.0)
        self._accepted(command.command_id, "heaters off")

    def set_maintenance(self, command: SetMaintenance) -> None:
        self.session.ledger.set_maintenance(command.on)
        state = "in maintenance" if command.on else "back in service"
        self._accepted(command.command_id, f"printer {state}")

    def bed_cleared(self, command: BedCleared) -> None:
        session = self.session
        if session.plate is not None:
            raise CommandRefused(f"plate {session.plate.plate_id} is still on the printer")
        cleared, on_bed = command.plate_id, session.last_plate_id
        if cleared is not None and on_bed is not None and cleared != on_bed:
            # A late or repeated clear for an earlier plate: the bed now holds another.
            raise CommandRefused(
                f"the bed clear is for plate {cleared}, but plate {on_bed} was printed "
                "since; staff must confirm the bed clear again"
            )
        session.ledger.set_bed_clear(True)
        session.last_plate_id = None
        self._accepted(command.command_id, "bed confirmed clear")

    def _accepted(self, command_id: str, details: str) -> None:
        self.session.reporter.report(
            EventKind.COMMAND_ACCEPTED, command_id=command_id, details=details
        )
