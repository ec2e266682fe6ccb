"""What the Marlin back-end does with each thing the printer says or acknowledges.

Temperatures update the status; M115's lines say what the firmware can do; `//action:`
lines pause, resume or cancel the plate as the printer asks (a person pressed a
button on it); `busy: paused for user`, `//action:paused` the agent did not ask for,
prompts and filament runout mean the printer waits for a person; fatal errors stop
everything. Acknowledged program lines move the progress; acknowledged markers end
pause, resume, cancel and the plate itself. Called with the back-end's lock held.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agent.backends.base import (
    ObjectCancelled,
    OperatorNeeded,
    Phase,
    PlateCancelled,
    PlateFailed,
    PlateFinished,
    PlatePaused,
    PlateProgress,
    PlateResumed,
    PrinterFault,
)
from agent.backends.marlin.plate_run import CONTROL, Marker, MarkerKind
from agent.backends.marlin.responses import (
    Action,
    Busy,
    Capability,
    Echo,
    ErrorMessage,
    Fatal,
    FirmwareInfo,
    Response,
    Temperatures,
)
from agent.backends.marlin.streamer import ProgramLine
from agent.journal import JournalEntry

if TYPE_CHECKING:
    from agent.backends.marlin.backend import MarlinPrinter

log = logging.getLogger(__name__)

_OPERATOR_ACTIONS = ("paused", "prompt_begin", "out_of_filament")
_ACTIVE = (Phase.HEATING, Phase.PRINTING)


class PrinterRestarted(Exception):
    """The firmware said `start` in the middle of a session: the board was reset."""


class Reactions:
    def __init__(self, printer: MarlinPrinter) -> None:
        self.printer = printer
        self._handlers: dict[type, Callable[[Any], None]] = {
            Temperatures: self.temperatures,
            FirmwareInfo: self.firmware,
            Capability: self.capability,
            Fatal: self.fatal,
            Action: self.action,
            Busy: self.busy,
            ErrorMessage: self.error_message,
            Echo: self.echo,
        }
        self.connected = False

    def on_response(self, response: Response) -> None:
        handler = self._handlers.get(type(response))
        if handler is not None:
            handler(response)

    # -- what the printer says ---------------------------------------------------------

    def temperatures(self, report: Temperatures) -> None:
        if report.hotend is not None:
            self.printer.hotend = (report.hotend.current_c, report.hotend.target_c)
        if report.bed is not None:
            self.printer.bed = (report.bed.current_c, report.bed.target_c)

    def firmware(self, info: FirmwareInfo) -> None:
        self.printer.features = replace(self.printer.features, name=info.name)

    def capability(self, capability: Capability) -> None:
        self.printer.features = self.printer.features.with_capability(capability)

    def fatal(self, fatal: Fatal) -> None:
        message = (
            f"the printer stopped: {fatal.message}. It needs a person: check the "
            "printer, reset it (or send M999), then restart the agent"
        )
        log.error("%s", message)
        self.printer.queue_event(PrinterFault(message))
        self.printer.fail(message)

    def error_message(self, error: ErrorMessage) -> None:
        log.info("printer: %s", error.message)

    def echo(self, echo: Echo) -> None:
        if echo.text == "start" and self.connected:
            raise PrinterRestarted("the printer restarted (its board was reset)")
        if echo.text.lower().startswith("unknown command"):
            log.warning("printer: %s", echo.text)

    def busy(self, busy: Busy) -> None:
        if busy.waiting_for_operator:
            self.operator_needed(f"the printer waits for a person ({busy.reason})")

    def action(self, action: Action) -> None:
        printer, run = self.printer, self.printer.run
        name = action.name
        if name == "pause" and run is not None and printer.phase in _ACTIVE:
            printer.hold_and_park(run)
        elif name == "resume" and run is not None and printer.phase is Phase.PAUSED:
            printer.unpark_and_go_on(run)
        elif name == "cancel" and run is not None and run.ending is None:
            printer.cancel_run(run)
        elif name in ("resumed", "prompt_end"):
            self.operator_done()
        elif name in _OPERATOR_ACTIONS and not (
            name == "paused" and run is not None and run.holding
        ):
            text = action.argument or name.replace("_", " ")
            self.operator_needed(
                f"the printer waits for a person: {text}", detail=name == "prompt_begin"
            )
        else:
            log.info("printer action: %s %s", name, action.argument)

    def operator_needed(self, message: str, *, detail: bool = False) -> None:
        """The printer waits for a person. A prompt's text after `//action:paused` says
        what for, and is reported too."""
        printer, run = self.printer, self.printer.run
        if run is None:
            return
        waiting = printer.phase is Phase.NEEDS_OPERATOR
        if not (printer.phase in _ACTIVE or (waiting and detail)):
            return
        run.operator_message = message
        printer.set_phase(Phase.NEEDS_OPERATOR)
        log.warning("%s", message)
        printer.queue_event(OperatorNeeded(run.plate.plate_id, message))

    def operator_done(self) -> None:
        printer, run = self.printer, self.printer.run
        if run is None or printer.phase is not Phase.NEEDS_OPERATOR:
            return
        run.operator_message = None
        printer.set_phase(Phase.PRINTING if run.printing else Phase.HEATING)
        printer.queue_event(PlateResumed(run.plate.plate_id))

    # -- what the printer acknowledged -------------------------------------------------

    def program_line_done(self, line: ProgramLine) -> None:
        printer, run = self.printer, self.printer.run
        if run is None:
            return
        run.acknowledged(line)
        if printer.phase is Phase.NEEDS_OPERATOR:
            self.operator_done()
        if printer.phase is Phase.HEATING and run.printing:
            printer.set_phase(Phase.PRINTING)
        percent = int(run.progress * 100)
        if percent > run.reported_percent:
            run.reported_percent = percent
            printer.queue_event(PlateProgress(run.plate.plate_id, run.progress, run.seconds_left))
            if printer.features.m73 and run.ending is None:
                minutes = round(run.seconds_left / 60)
                run.control.append((f"M73 P{percent} R{minutes}", CONTROL))

    def marker_done(self, marker: Marker) -> None:
        printer, run = self.printer, self.printer.run
        if marker.kind is MarkerKind.CONNECTED:
            self._connected()
            return
        if run is None:
            return
        plate = run.plate
        if marker.kind is MarkerKind.PAUSED:
            printer.queue_event(PlatePaused(plate.plate_id))
        elif marker.kind is MarkerKind.RESUMED:
            printer.queue_event(PlateResumed(plate.plate_id))
        elif marker.kind is MarkerKind.OBJECT:
            printer.queue_event(
                ObjectCancelled(
                    plate.plate_id,
                    marker.argument,
                    failed=False,
                    reason="cancelled on request (M486)",
                )
            )
        elif marker.kind is MarkerKind.CANCELLED:
            cancelled = run.remaining_objects() + tuple(run.cancelled)
            printer.record(
                JournalEntry(
                    plate.plate_id,
                    plate.sha256,
                    "cancelled",
                    cancelled=cancelled,
                    failed=tuple(run.failed),
                    reason="cancelled",
                )
            )
            printer.queue_event(PlateCancelled(plate.plate_id, run.remaining_objects()))
            printer.end_run()
        elif marker.kind is MarkerKind.FINISHED:
            printed = run.remaining_objects()
            printer.record(
                JournalEntry(
                    plate.plate_id,
                    plate.sha256,
                    "finished",
                    printed=printed,
                    cancelled=tuple(run.cancelled),
                    failed=tuple(run.failed),
                )
            )
            printer.queue_event(
                PlateFinished(plate.plate_id, printed, tuple(run.cancelled), tuple(run.failed))
            )
            printer.end_run()

    def end_run_failed(self, reason: str) -> None:
        printer, run = self.printer, self.printer.run
        if run is None:
            return
        plate = run.plate
        lost = tuple(run.failed) + run.remaining_objects()
        printer.record(
            JournalEntry(
                plate.plate_id,
                plate.sha256,
                "failed",
                failed=lost,
                cancelled=tuple(run.cancelled),
                reason=reason,
            )
        )
        printer.queue_event(
            PlateFailed(plate.plate_id, reason, failed=lost, cancelled=tuple(run.cancelled))
        )
        printer.end_run()

    def _connected(self) -> None:
        printer = self.printer
        self.connected = True
        if printer.features.autoreport:
            interval = max(1, round(printer.options.temperature_interval_s))
            printer.internal(f"M155 S{interval}")
        else:
            printer.internal("M105")
        baud = printer.options.baudrate or printer.profile.serial.baudrate
        printer.connected(f"{printer.features.describe()} on {printer.options.port} at {baud} baud")
