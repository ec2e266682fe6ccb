"""Marlin-family printers over USB serial: the `PrinterBackend` the agent drives.

One thread per printer owns the serial port: it connects (hello, M115 and its `Cap:`
lines, temperature auto-report or M105 polling), streams the plate, and reconnects
when the port goes away. The agent's calls (start, pause, cancel, ...) only change
what the thread sends next, under a lock, and return at once.

What the firmware reports over the profile's defaults: `Cap:AUTOREPORT_TEMP`,
`Cap:BUILD_PERCENT` (M73) and `Cap:EMERGENCY_PARSER` (M108 breaks a heating wait on
cancel). Fatal errors put the printer in `error` until the agent restarts: the
firmware needs a person (and M999 or a reset) before it prints again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import serial

from agent.backends.base import (
    BackendError,
    BackendEvent,
    BackendStatus,
    EventSink,
    LinkChanged,
    ObjectCancelled,
    Phase,
    PlateStarted,
    PlateToRun,
)
from agent.backends.marlin.connection import HelloFailed, SerialSession, open_port
from agent.backends.marlin.firmware import FirmwareFeatures
from agent.backends.marlin.link import LineLink, LinkError
from agent.backends.marlin.plate_run import CONTROL, Marker, MarkerKind, PlateRun
from agent.backends.marlin.reactions import PrinterRestarted, Reactions
from agent.backends.marlin.responses import Response
from agent.backends.marlin.streamer import ProgramLine
from agent.journal import JournalEntry, PrintJournal
from firmware_profiles import Profile, render_template, template_values

log = logging.getLogger(__name__)

_RUN_PHASES = (Phase.HEATING, Phase.PRINTING, Phase.PAUSED, Phase.NEEDS_OPERATOR)


@dataclass(frozen=True)
class MarlinOptions:
    """How to reach the printer; the protocol figures come from the profile."""

    port: str  # /dev/serial/by-id/... (or any pyserial URL)
    baudrate: int | None = None  # the profile's when None
    connect_timeout_s: float = 30.0
    reconnect_s: float = 5.0
    temperature_interval_s: float = 2.0
    answer_timeout_s: float | None = None  # the profile's when None
    in_flight: int | None = None  # the profile's when None (without ADVANCED_OK)
    send_ahead: bool = True  # fill the receive buffer once the oks name their line
    pause_lift_mm: float = 10.0


class MarlinPrinter:
    """A PrinterBackend for one Marlin-family printer on a serial port."""

    def __init__(
        self,
        options: MarlinOptions,
        profile: Profile,
        on_event: EventSink,
        journal: PrintJournal,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options
        self.profile = profile
        self._emit_now = on_event
        self._journal = journal
        self._clock = clock
        self._lock = threading.RLock()
        self._events: list[BackendEvent] = []
        self._phase = Phase.CONNECTING
        self._error: str | None = None
        self.features = FirmwareFeatures.from_profile(profile)
        self.run: PlateRun | None = None
        self.hotend: tuple[float, float | None] | None = None  # current, target
        self.bed: tuple[float, float | None] | None = None
        self._internal: deque[tuple[str, object]] = deque()  # M115, M155, M105, M104 ...
        self._next_poll = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.session: SerialSession | None = None
        self.reactions = Reactions(self)

    # -- PrinterBackend ----------------------------------------------------------------

    def connect(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._serve, name=f"marlin {self.options.port}", daemon=True
        )
        self._thread.start()

    def start(self, program: Path, plate: PlateToRun) -> None:
        if not program.is_file():
            raise BackendError(f"the program {program} is not in the spool")
        with self._lock:
            if self._phase is not Phase.IDLE:
                raise BackendError(f"the printer is {self._phase.value}, not idle")
            self.run = PlateRun.open(program, plate)
            self._phase = Phase.HEATING
            self.queue_event(PlateStarted(plate.plate_id))
        self._journal.record(JournalEntry(plate.plate_id, plate.sha256, "started"))
        self._flush_events()

    def pause(self) -> None:
        with self._lock:
            run = self._require_run((Phase.HEATING, Phase.PRINTING), "pause")
            self.hold_and_park(run)
        self._flush_events()

    def resume(self) -> None:
        with self._lock:
            run = self._require_run((Phase.PAUSED, Phase.NEEDS_OPERATOR), "resume")
            if self._phase is Phase.NEEDS_OPERATOR:
                raise BackendError(
                    "the printer waits for a person at the printer "
                    f"({run.operator_message}); it goes on when they are done"
                )
            self.unpark_and_go_on(run)
        self._flush_events()

    def cancel(self) -> None:
        with self._lock:
            run = self._require_run(_RUN_PHASES, "cancel")
            self.cancel_run(run)
        self._flush_events()

    def cancel_object(self, label: str) -> None:
        with self._lock:
            run = self._require_run(_RUN_PHASES, "cancel an object")
            if label not in run.plate.objects:
                raise BackendError(
                    f"the plate has no object {label!r}; it has: " + ", ".join(run.plate.objects)
                )
            if label not in run.remaining_objects():
                raise BackendError(f"object {label!r} is already cancelled")
            run.cancelled.append(label)
            index = run.object_index(label)
            if self.features.m486 and index is not None:
                run.control.append((f"M486 P{index}", Marker(MarkerKind.OBJECT, label)))
            else:  # the firmware cannot: leave the object's moves out of the stream
                run.stream.skip_object(label)
                self.queue_event(
                    ObjectCancelled(
                        run.plate.plate_id, label, failed=False, reason="cancelled on request"
                    )
                )
        self._flush_events()

    def set_temperatures(self, hotend_c: float, bed_c: float) -> None:
        with self._lock:
            if self._phase is not Phase.IDLE:
                raise BackendError(
                    f"cannot change temperatures: the printer is {self._phase.value}"
                )
            self._internal.append((f"M104 S{hotend_c:g}", CONTROL))
            if self.profile.machine.heated_bed:
                self._internal.append((f"M140 S{bed_c:g}", CONTROL))

    def status(self) -> BackendStatus:
        with self._lock:
            phase = Phase.ERROR if self._error else self._phase
            run = self.run
            return BackendStatus(
                phase=phase,
                hotend_c=self.hotend[0] if self.hotend else None,
                hotend_target_c=self.hotend[1] if self.hotend else None,
                bed_c=self.bed[0] if self.bed else None,
                bed_target_c=self.bed[1] if self.bed else None,
                plate_id=run.plate.plate_id if run else None,
                progress=run.progress if run else 0.0,
                seconds_left=run.seconds_left if run else None,
                error=self._error,
            )

    def close(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    # -- plate control (called with the lock held) -------------------------------------

    @property
    def phase(self) -> Phase:
        return self._phase

    def set_phase(self, phase: Phase) -> None:
        self._phase = phase

    def hold_and_park(self, run: PlateRun) -> None:
        run.holding = True
        self._phase = Phase.PAUSED
        run.add(
            self._template("pause")
            or run.stream.position.park(
                self.options.pause_lift_mm, self._park_xy(run), self.profile.machine.max_z_mm
            ),
            Marker(MarkerKind.PAUSED),
        )

    def unpark_and_go_on(self, run: PlateRun) -> None:
        self._phase = Phase.PRINTING if run.printing else Phase.HEATING
        run.add(
            self._template("resume") or run.stream.position.restore(), Marker(MarkerKind.RESUMED)
        )
        run.holding = False

    def cancel_run(self, run: PlateRun) -> None:
        run.holding, run.ending = True, MarkerKind.CANCELLED
        run.control.clear()
        commands = ["M108"] if self.features.emergency_parser and not run.printing else []
        commands += self._template("cancel", run)
        run.add(commands, Marker(MarkerKind.CANCELLED))

    def _template(self, name: str, run: PlateRun | None = None) -> list[str]:
        text = getattr(self.profile.gcode, name)
        if not text.strip():
            return []
        run = run or self.run
        material = run.plate.material if run else next(iter(self.profile.materials), "")
        try:
            rendered = render_template(text, template_values(self.profile, material))
        except (KeyError, ValueError) as error:
            log.error("the profile's %s G-code cannot be rendered: %s", name, error)
            return []
        return [
            line.split(";", 1)[0].strip()
            for line in rendered.splitlines()
            if line.split(";", 1)[0].strip()
        ]

    def _park_xy(self, run: PlateRun) -> tuple[float, float]:
        values = template_values(self.profile, run.plate.material)
        return float(values["park_x"]), float(values["park_y"])  # type: ignore[arg-type]

    def queue_event(self, event: BackendEvent) -> None:
        self._events.append(event)

    def record(self, entry: JournalEntry) -> None:
        self._journal.record(entry)

    def fail(self, message: str) -> None:
        """A fatal printer error: report it, fail the plate, keep the error."""
        self._error = message
        self._phase = Phase.ERROR
        self.reactions.end_run_failed(message)

    def end_run(self) -> None:
        run, self.run = self.run, None
        if run is not None:
            run.close()
        if self._phase in _RUN_PHASES:
            self._phase = Phase.IDLE

    def _require_run(self, phases: tuple[Phase, ...], action: str) -> PlateRun:
        if self.run is None or self._phase not in phases or self._error:
            raise BackendError(
                f"cannot {action}: the printer is {self.status().phase.value}"
                + ("" if self.run else " with no plate")
            )
        return self.run

    def _flush_events(self) -> None:
        with self._lock:
            events, self._events = self._events, []
        for event in events:
            self._emit_now(event)

    # -- the serial thread -------------------------------------------------------------

    def _serve(self) -> None:
        connected_once = False
        while not self._stop.is_set():
            try:
                port = self._open()
            except (serial.SerialException, OSError) as error:
                self._lost(f"cannot open {self.options.port}: {error}", connected_once)
                self._stop.wait(self.options.reconnect_s)
                continue
            try:
                self._talk(port)
                connected_once = True
            except HelloFailed as error:
                self._lost(
                    f"the printer on {self.options.port} does not answer: {error}", connected_once
                )
            except (serial.SerialException, OSError) as error:
                self._lost(f"the printer dropped off {self.options.port}: {error}", True)
            except PrinterRestarted as error:
                self._lost(str(error), True)
            except LinkError as error:
                with self._lock:
                    self.reactions.end_run_failed(str(error))
                self._lost(str(error), True)
            finally:
                port.close()
            self._flush_events()
            self._stop.wait(self.options.reconnect_s)

    def _open(self) -> serial.Serial:
        with self._lock:
            if self._phase is not Phase.ERROR:
                self._phase = Phase.CONNECTING
        settings = self.profile.serial
        return open_port(
            self.options.port,
            self.options.baudrate or settings.baudrate,
            reset=settings.reset_on_connect,
        )

    def _talk(self, port: serial.Serial) -> None:
        settings = self.profile.serial
        link: LineLink[object] = LineLink(
            in_flight=self.options.in_flight or settings.in_flight,
            rx_buffer_bytes=settings.rx_buffer_bytes,
            history=settings.resend_history,
            answer_timeout_s=self.options.answer_timeout_s or settings.answer_timeout_s,
            resend_ok=settings.resend_style != "marlin-no-ok",
            send_ahead=self.options.send_ahead,
        )
        self.session = SerialSession(port, link, self, clock=self._clock)
        self.reactions.connected = False
        said = self.session.hello(self.options.connect_timeout_s)
        with self._lock:
            self.features = FirmwareFeatures.from_profile(self.profile)
            for response in said:
                self.reactions.on_response(response)
            self._internal.clear()
            self._internal.append(("M113", CONTROL))  # the busy: keep-alive interval
            self._internal.append(("M115", Marker(MarkerKind.CONNECTED)))
        while not self._stop.is_set():
            self.session.step()
            self._flush_events()

    def _lost(self, reason: str, was_connected: bool) -> None:
        log.warning("%s", reason)
        with self._lock:
            if self.run is not None:
                percent = round(self.run.progress * 100)
                self.reactions.end_run_failed(
                    f"{reason}; the plate stopped at {percent}% and is lost"
                )
            if self._phase is not Phase.ERROR:
                self._phase = Phase.DISCONNECTED
            if was_connected:
                self.queue_event(LinkChanged(False, reason))
        self._flush_events()

    def connected(self, reason: str) -> None:
        """The firmware answered M115 and is set up (called with the lock held)."""
        if self._phase is not Phase.ERROR:
            self._phase = Phase.IDLE
        self.queue_event(LinkChanged(True, reason))

    # -- Listener (the serial thread, from SerialSession.step) -------------------------

    def on_response(self, response: Response) -> None:
        with self._lock:
            self.reactions.on_response(response)

    def on_acked(self, tag: object) -> None:
        with self._lock:
            if isinstance(tag, ProgramLine):
                self.reactions.program_line_done(tag)
            elif isinstance(tag, Marker):
                self.reactions.marker_done(tag)

    def next_command(self) -> tuple[str, object] | None:
        with self._lock:
            if self._internal:
                return self._internal.popleft()
            if self._error or self._phase is Phase.CONNECTING:
                return None
            now = self._clock()
            if not self.features.autoreport and now >= self._next_poll:
                self._next_poll = now + self.options.temperature_interval_s
                return "M105", CONTROL
            if self.run is None:
                return None
            return self.run.next_command()

    def internal(self, command: str) -> None:
        """Send a command of the agent's own before the next program line."""
        self._internal.append((command, CONTROL))
