"""Klipper's printer objects as Moonraker reports them, turned into our phase and events.

`update()` merges a status (the full one from `printer.objects.subscribe`, then the
changes of each `notify_status_update`) and reports what changed for the plate the
agent runs: started on the printer, paused, resumed, progress, objects excluded,
finished, cancelled, failed. A Klipper shutdown is a printer fault that stays until
the agent restarts. Called with the back-end's lock held.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.backends.base import (
    BackendStatus,
    ObjectCancelled,
    Phase,
    PlateCancelled,
    PlateFailed,
    PlateFinished,
    PlatePaused,
    PlateProgress,
    PlateResumed,
    PrinterFault,
)
from agent.journal import JournalEntry

if TYPE_CHECKING:
    from agent.backends.moonraker import MoonrakerPrinter, MoonrakerRun

_AT_TARGET_C = 3.0


class StatusTracker:
    def __init__(self, printer: MoonrakerPrinter) -> None:
        self.printer = printer
        self.objects: dict[str, dict[str, Any]] = {}

    def value(self, name: str, key: str, default: Any = None) -> Any:
        return self.objects.get(name, {}).get(key, default)

    def update(self, changes: dict[str, Any], initial: bool = False) -> None:
        previous_state = self.value("print_stats", "state")
        previous_excluded = list(self.value("exclude_object", "excluded_objects", []) or [])
        for name, fields in changes.items():
            if isinstance(fields, dict):
                self.objects.setdefault(name, {}).update(fields)
        self._check_klipper()
        run = self.printer.run
        if run is None:
            return
        self._follow_print(run, previous_state)
        if self.printer.run is run:
            self._follow_objects(run, previous_excluded)
            self._follow_progress(run)

    # -- what it means -----------------------------------------------------------------

    def phase(self) -> Phase:
        printer = self.printer
        if printer.error:
            return Phase.ERROR
        if not printer.connected:
            return Phase.DISCONNECTED if self.objects else Phase.CONNECTING
        if self.value("webhooks", "state", "ready") != "ready":
            return Phase.CONNECTING
        state = self.value("print_stats", "state")
        if printer.run is not None and not printer.run.on_printer:
            return Phase.HEATING  # uploading and starting
        if state == "paused":
            return Phase.PAUSED
        if state == "printing":
            return Phase.HEATING if self._heating() else Phase.PRINTING
        return Phase.IDLE

    def snapshot(self) -> BackendStatus:
        run = self.printer.run
        progress = float(self.value("virtual_sdcard", "progress", 0.0) or 0.0)
        if run is not None and not run.on_printer:
            progress = 0.0
        seconds_left = None
        if run is not None:
            seconds_left = max(0.0, run.plate.estimated_seconds * (1.0 - progress))
        return BackendStatus(
            phase=self.phase(),
            hotend_c=self.value("extruder", "temperature"),
            hotend_target_c=self.value("extruder", "target"),
            bed_c=self.value("heater_bed", "temperature"),
            bed_target_c=self.value("heater_bed", "target"),
            plate_id=run.plate.plate_id if run else None,
            progress=progress if run else 0.0,
            seconds_left=seconds_left,
            error=self.printer.error,
        )

    def _heating(self) -> bool:
        target = self.value("extruder", "target", 0.0) or 0.0
        temperature = self.value("extruder", "temperature", 0.0) or 0.0
        progress = self.value("virtual_sdcard", "progress", 0.0) or 0.0
        return target > 0 and temperature < target - _AT_TARGET_C and progress < 0.01

    def _check_klipper(self) -> None:
        state = self.value("webhooks", "state")
        if state not in ("shutdown", "error") or self.printer.error:
            return
        message = self.value("webhooks", "state_message", "") or "Klipper shut down"
        self.printer.error = (
            f"Klipper stopped: {message.strip()}. Check the printer, "
            "run FIRMWARE_RESTART, then restart the agent"
        )
        self.printer.queue_event(PrinterFault(self.printer.error))
        self.end_failed(self.printer.error)

    def _follow_print(self, run: MoonrakerRun, previous: str | None) -> None:
        state = self.value("print_stats", "state")
        ours = self.value("print_stats", "filename") == run.remote_path
        if not run.on_printer:
            if ours and state in ("printing", "paused"):
                run.on_printer = True
            return
        if state == previous:
            return
        plate_id = run.plate.plate_id
        if state == "paused":
            self.printer.queue_event(PlatePaused(plate_id))
        elif state == "printing" and previous == "paused":
            self.printer.queue_event(PlateResumed(plate_id))
        elif state == "complete":
            self._end(run, "finished")
        elif state == "cancelled":
            self._end(run, "cancelled")
        elif state == "error":
            message = self.value("print_stats", "message", "") or "Klipper reported an error"
            self.end_failed(f"the print stopped with an error: {message}")

    def _follow_objects(self, run: MoonrakerRun, previous: list[str]) -> None:
        excluded = self.value("exclude_object", "excluded_objects", []) or []
        for name in excluded:
            if name in previous:
                continue
            label = run.label_of(name)
            if label is None or label in run.cancelled:
                continue
            run.cancelled.append(label)
            self.printer.queue_event(
                ObjectCancelled(
                    run.plate.plate_id, label, failed=False, reason="excluded (EXCLUDE_OBJECT)"
                )
            )

    def _follow_progress(self, run: MoonrakerRun) -> None:
        if not run.on_printer:
            return
        progress = float(self.value("virtual_sdcard", "progress", 0.0) or 0.0)
        percent = int(progress * 100)
        if percent > run.reported_percent:
            run.reported_percent = percent
            left = max(0.0, run.plate.estimated_seconds * (1.0 - progress))
            self.printer.queue_event(PlateProgress(run.plate.plate_id, progress, left))

    # -- the end of a plate ------------------------------------------------------------

    def _end(self, run: MoonrakerRun, outcome: str) -> None:
        plate = run.plate
        remaining = run.remaining_objects()
        if outcome == "finished":
            self.printer.record(
                JournalEntry(
                    plate.plate_id,
                    plate.sha256,
                    "finished",
                    printed=remaining,
                    cancelled=tuple(run.cancelled),
                    failed=tuple(run.failed),
                )
            )
            self.printer.queue_event(
                PlateFinished(plate.plate_id, remaining, tuple(run.cancelled), tuple(run.failed))
            )
        else:
            self.printer.record(
                JournalEntry(
                    plate.plate_id,
                    plate.sha256,
                    "cancelled",
                    cancelled=remaining + tuple(run.cancelled),
                    reason="cancelled",
                )
            )
            self.printer.queue_event(PlateCancelled(plate.plate_id, remaining))
        self.printer.run = None

    def end_failed(self, reason: str) -> None:
        run = self.printer.run
        if run is None:
            return
        plate = run.plate
        lost = tuple(run.failed) + run.remaining_objects()
        self.printer.record(
            JournalEntry(
                plate.plate_id,
                plate.sha256,
                "failed",
                failed=lost,
                cancelled=tuple(run.cancelled),
                reason=reason,
            )
        )
        self.printer.queue_event(
            PlateFailed(plate.plate_id, reason, failed=lost, cancelled=tuple(run.cancelled))
        )
        self.printer.run = None
