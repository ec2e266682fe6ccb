"""A simulated printer: heats up, prints for the program's estimated time divided by a
speed factor, and fails on purpose when told to.

It behaves like a printer seen from the agent: temperatures ramp to their targets,
progress runs from 0 to 1, pause/resume/cancel and cancelling one object work, and
faults (a plate coming loose, one part failing, a thermal runaway, the USB link
dropping) strike at a chosen point of the print. Everything it runs is written to
the print journal, so tests and the demo can prove each part was printed once.

The printer advances on its own small thread (`tick_s`); `advance()` is public so a
process that runs thousands of simulated printers can drive them from one thread.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent.backends.base import (
    BackendError,
    BackendEvent,
    BackendStatus,
    EventSink,
    LinkChanged,
    ObjectCancelled,
    Phase,
    PlateCancelled,
    PlateFailed,
    PlateFinished,
    PlatePaused,
    PlateProgress,
    PlateResumed,
    PlateStarted,
    PlateToRun,
    PrinterFault,
)
from agent.config import FaultSettings, SimulatedBackendSettings
from agent.journal import JournalEntry, PrintJournal

_AT_TARGET_C = 1.0


@dataclass
class _Run:
    """The plate on the simulated printer."""

    plate: PlateToRun
    faults: list[FaultSettings]
    printed_s: float = 0.0
    reported_percent: int = -1
    cancelled: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def progress(self) -> float:
        if self.plate.estimated_seconds <= 0:
            return 1.0
        return min(1.0, self.printed_s / self.plate.estimated_seconds)

    def remaining_objects(self) -> tuple[str, ...]:
        gone = set(self.cancelled) | set(self.failed)
        return tuple(label for label in self.plate.objects if label not in gone)


class SimulatedPrinter:
    """A PrinterBackend with no hardware behind it."""

    def __init__(
        self,
        settings: SimulatedBackendSettings,
        on_event: EventSink,
        journal: PrintJournal,
        *,
        clock: Callable[[], float] = time.monotonic,
        tick_s: float = 0.02,
        own_thread: bool = True,
    ) -> None:
        self.settings = settings
        self._emit = on_event
        self._journal = journal
        self._clock = clock
        self._tick_s = tick_s
        self._random = random.Random(settings.seed)
        self._strikes_left = {index: fault.plates for index, fault in enumerate(settings.faults)}
        self._extra_faults: list[FaultSettings] = []
        self._lock = threading.RLock()
        self._phase = Phase.CONNECTING
        self._hotend_c = self._bed_c = settings.ambient_c
        self._hotend_target_c = self._bed_target_c = 0.0
        self._run: _Run | None = None
        self._error: str | None = None
        self._reconnect_at: float | None = None
        self._last_tick = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._own_thread = own_thread

    # -- PrinterBackend ----------------------------------------------------------------

    def connect(self) -> None:
        with self._lock:
            self._phase = Phase.IDLE
            self._last_tick = self._clock()
        if self._own_thread and self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name="simulated-printer", daemon=True
            )
            self._thread.start()
        self._emit(LinkChanged(True, "simulated printer ready"))

    def start(self, program: Path, plate: PlateToRun) -> None:
        if not program.is_file():
            raise BackendError(f"the program {program} is not in the spool")
        with self._lock:
            if self._phase is not Phase.IDLE:
                raise BackendError(f"the printer is {self._phase.value}, not idle")
            self._run = _Run(plate, self._faults_for_next_plate())
            self._phase = Phase.HEATING
            self._hotend_target_c = plate.hotend_c
            self._bed_target_c = plate.bed_c
        self._journal.record(JournalEntry(plate.plate_id, plate.sha256, "started"))
        self._emit(PlateStarted(plate.plate_id))

    def pause(self) -> None:
        with self._lock:
            run = self._require_run((Phase.HEATING, Phase.PRINTING), "pause")
            self._phase = Phase.PAUSED
        self._emit(PlatePaused(run.plate.plate_id))

    def resume(self) -> None:
        with self._lock:
            run = self._require_run((Phase.PAUSED,), "resume")
            self._phase = Phase.HEATING
        self._emit(PlateResumed(run.plate.plate_id))

    def cancel(self) -> None:
        with self._lock:
            run = self._require_run((Phase.HEATING, Phase.PRINTING, Phase.PAUSED), "cancel")
            cancelled = run.remaining_objects()
            self._end_run()
        self._journal.record(
            JournalEntry(
                run.plate.plate_id,
                run.plate.sha256,
                "cancelled",
                cancelled=cancelled,
                reason="cancelled on request",
            )
        )
        self._emit(PlateCancelled(run.plate.plate_id, cancelled))

    def cancel_object(self, label: str) -> None:
        with self._lock:
            run = self._require_run(
                (Phase.HEATING, Phase.PRINTING, Phase.PAUSED), "cancel an object"
            )
            if label not in run.plate.objects:
                raise BackendError(
                    f"the plate has no object {label!r}; it has: " + ", ".join(run.plate.objects)
                )
            if label not in run.remaining_objects():
                raise BackendError(f"object {label!r} is already cancelled")
            run.cancelled.append(label)
        self._emit(
            ObjectCancelled(run.plate.plate_id, label, failed=False, reason="cancelled on request")
        )

    def set_temperatures(self, hotend_c: float, bed_c: float) -> None:
        with self._lock:
            if self._phase is not Phase.IDLE:
                raise BackendError(
                    f"cannot change temperatures: the printer is {self._phase.value}"
                )
            self._hotend_target_c, self._bed_target_c = hotend_c, bed_c

    def status(self) -> BackendStatus:
        with self._lock:
            if self._phase in (Phase.DISCONNECTED, Phase.CONNECTING):
                return BackendStatus(self._phase, error=self._error)
            run = self._run
            seconds_left = None
            if run is not None:
                left = max(0.0, run.plate.estimated_seconds - run.printed_s)
                seconds_left = left / self.settings.speed
            return BackendStatus(
                phase=self._phase,
                hotend_c=round(self._hotend_c, 1),
                hotend_target_c=self._hotend_target_c,
                bed_c=round(self._bed_c, 1),
                bed_target_c=self._bed_target_c,
                plate_id=run.plate.plate_id if run else None,
                progress=run.progress if run else 0.0,
                seconds_left=seconds_left,
                error=self._error,
            )

    def close(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    # -- faults ------------------------------------------------------------------------

    def inject(self, fault: FaultSettings) -> None:
        """Arm a fault for the next plate(s), as `backend.faults` in the config would."""
        with self._lock:
            self._extra_faults.append(fault)
            self._strikes_left[-len(self._extra_faults)] = fault.plates

    def _faults_for_next_plate(self) -> list[FaultSettings]:
        candidates = list(enumerate(self.settings.faults))
        candidates += [(-1 - i, fault) for i, fault in enumerate(self._extra_faults)]
        chosen: list[FaultSettings] = []
        for key, fault in candidates:
            left = self._strikes_left.get(key)
            if left is not None and left <= 0:
                continue
            if fault.probability < 1.0 and self._random.random() >= fault.probability:
                continue
            if left is not None:
                self._strikes_left[key] = left - 1
            chosen.append(fault)
        return chosen

    # -- simulation --------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.wait(self._tick_s):
            self.advance()

    def advance(self) -> None:
        """Move the simulation to the clock's present and report what happened."""
        events: list[BackendEvent] = []
        journal: list[JournalEntry] = []
        with self._lock:
            now = self._clock()
            elapsed_s = max(0.0, now - self._last_tick) * self.settings.speed
            self._last_tick = now
            self._advance_locked(now, elapsed_s, events, journal)
        for entry in journal:
            self._journal.record(entry)
        for event in events:
            self._emit(event)

    def _advance_locked(
        self, now: float, elapsed_s: float, events: list[BackendEvent], journal: list[JournalEntry]
    ) -> None:
        if self._phase is Phase.DISCONNECTED:
            if self._reconnect_at is not None and now >= self._reconnect_at:
                self._phase, self._reconnect_at = Phase.IDLE, None
                self._hotend_c = self._bed_c = self.settings.ambient_c
                events.append(LinkChanged(True, "the printer is back on USB"))
            return
        self._heat(elapsed_s)
        run = self._run
        if run is None or self._phase is Phase.PAUSED:
            return
        if self._phase is Phase.HEATING and self._at_temperature():
            self._phase = Phase.PRINTING
        if self._phase is Phase.PRINTING:
            run.printed_s += elapsed_s
            self._strike_faults(run, now, events, journal)
            if self._run is run:
                self._report_progress(run, events, journal)

    def _heat(self, elapsed_s: float) -> None:
        step = self.settings.heat_rate_c_s * elapsed_s
        ambient = self.settings.ambient_c
        self._hotend_c = _toward(self._hotend_c, self._hotend_target_c or ambient, step)
        self._bed_c = _toward(self._bed_c, self._bed_target_c or ambient, step)

    def _at_temperature(self) -> bool:
        ambient = self.settings.ambient_c
        return (
            abs(self._hotend_c - (self._hotend_target_c or ambient)) <= _AT_TARGET_C
            and abs(self._bed_c - (self._bed_target_c or ambient)) <= _AT_TARGET_C
        )

    def _report_progress(
        self, run: _Run, events: list[BackendEvent], journal: list[JournalEntry]
    ) -> None:
        plate = run.plate
        if run.progress >= 1.0:
            printed = run.remaining_objects()
            self._end_run()
            journal.append(
                JournalEntry(
                    plate.plate_id,
                    plate.sha256,
                    "finished",
                    printed=printed,
                    cancelled=tuple(run.cancelled),
                    failed=tuple(run.failed),
                )
            )
            events.append(
                PlateFinished(plate.plate_id, printed, tuple(run.cancelled), tuple(run.failed))
            )
            return
        percent = int(run.progress * 100)
        if percent > run.reported_percent:
            run.reported_percent = percent
            left = max(0.0, plate.estimated_seconds - run.printed_s) / self.settings.speed
            events.append(PlateProgress(plate.plate_id, run.progress, left))

    def _strike_faults(
        self, run: _Run, now: float, events: list[BackendEvent], journal: list[JournalEntry]
    ) -> None:
        for fault in list(run.faults):
            if run.progress < fault.at_progress:
                continue
            run.faults.remove(fault)
            if fault.kind == "part_failure":
                self._fail_one_object(run, fault, events)
                continue
            reason = self._stop_for(run, fault, now, events)
            plate = run.plate
            lost = tuple(run.failed) + run.remaining_objects()
            journal.append(
                JournalEntry(
                    plate.plate_id,
                    plate.sha256,
                    "failed",
                    failed=lost,
                    cancelled=tuple(run.cancelled),
                    reason=reason,
                )
            )
            events.append(
                PlateFailed(plate.plate_id, reason, failed=lost, cancelled=tuple(run.cancelled))
            )
            return

    def _fail_one_object(self, run: _Run, fault: FaultSettings, events: list[BackendEvent]) -> None:
        remaining = run.remaining_objects()
        if not remaining:
            return
        label = fault.object if fault.object in remaining else remaining[0]
        run.failed.append(label)
        percent = round(run.progress * 100)
        events.append(
            ObjectCancelled(
                run.plate.plate_id,
                label,
                failed=True,
                reason=f"object {label} came loose at {percent}% "
                "(simulated); the printer skipped it",
            )
        )

    def _stop_for(
        self, run: _Run, fault: FaultSettings, now: float, events: list[BackendEvent]
    ) -> str:
        """End the run for a plate-wide fault; returns the reason for the report."""
        percent = round(run.progress * 100)
        self._end_run()
        if fault.kind == "thermal_error":
            self._phase = Phase.ERROR
            self._error = (
                f"thermal runaway on the hotend at {percent}% (simulated); "
                "heaters are off. Check the heater and thermistor, then "
                "restart the agent"
            )
            events.append(PrinterFault(self._error))
            return self._error
        if fault.kind == "disconnect":
            self._phase = Phase.DISCONNECTED
            self._reconnect_at = now + fault.disconnect_s
            events.append(LinkChanged(False, "the printer dropped off USB (simulated)"))
            return f"the printer disconnected at {percent}% (simulated); the plate is lost"
        return f"the plate came loose from the bed at {percent}% (simulated)"

    def _end_run(self) -> None:
        self._run = None
        self._hotend_target_c = self._bed_target_c = 0.0
        if self._phase in (Phase.HEATING, Phase.PRINTING, Phase.PAUSED):
            self._phase = Phase.IDLE

    def _require_run(self, phases: tuple[Phase, ...], action: str) -> _Run:
        if self._run is None or self._phase not in phases:
            raise BackendError(
                f"cannot {action}: the printer is {self._phase.value}"
                + ("" if self._run else " with no plate")
            )
        return self._run


def _toward(value: float, target: float, step: float) -> float:
    if value < target:
        return min(target, value + step)
    return max(target, value - step)
