"""Klipper printers through Moonraker: the `PrinterBackend` the agent drives.

The plate's program is uploaded to Moonraker (`gcodes/makerfarm/<plate>.gcode`,
checked against its sha256) and started with `printer.print.start`; pause, resume
and cancel are Moonraker's `printer.print.*` calls, and one object is cancelled
with `EXCLUDE_OBJECT NAME=...`. What the printer does comes back as
`notify_status_update` for the objects the back-end subscribes to (`print_stats`,
`virtual_sdcard`, `extruder`, `heater_bed`, `webhooks`, `exclude_object`) and is
turned into our phases and events:

| Klipper                          | us                                        |
|----------------------------------|-------------------------------------------|
| webhooks `startup`               | connecting                                |
| webhooks `shutdown` / `error`    | error (reported, kept until the agent restarts) |
| print_stats `standby`            | idle                                      |
| print_stats `printing`           | heating (hotend below target, no progress yet) or printing |
| print_stats `paused`             | paused                                    |
| print_stats `complete`           | plate finished                            |
| print_stats `cancelled`          | plate cancelled                           |
| print_stats `error`              | plate failed (with Klipper's message)     |

Requests to Moonraker run in order on one worker thread, so no agent call waits on
the network; the link itself is kept by a second thread that reconnects.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.backends.base import (
    BackendError,
    BackendEvent,
    BackendStatus,
    EventSink,
    LinkChanged,
    Phase,
    PlateStarted,
    PlateToRun,
)
from agent.backends.moonraker_api import MoonrakerApi, MoonrakerError
from agent.backends.moonraker_status import StatusTracker
from agent.journal import JournalEntry, PrintJournal

log = logging.getLogger(__name__)

SUBSCRIBED: dict[str, None] = {
    name: None
    for name in (
        "print_stats",
        "virtual_sdcard",
        "extruder",
        "heater_bed",
        "webhooks",
        "exclude_object",
    )
}


@dataclass(frozen=True)
class MoonrakerOptions:
    url: str  # http://voron.local:7125
    api_key: str | None = None
    upload_dir: str = "makerfarm"  # under Moonraker's gcodes root
    reconnect_s: float = 5.0
    timeout_s: float = 10.0


def klipper_name(label: str) -> str:
    """The object name the slicer writes for a label in EXCLUDE_OBJECT_DEFINE (the same
    rule as `slicing.dialects.klipper_name`, which the agent may not import)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_")
    return cleaned or "object"


@dataclass
class MoonrakerRun:
    plate: PlateToRun
    remote_path: str
    on_printer: bool = False  # print_stats named our file as printing
    cancelled: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    reported_percent: int = -1

    def remaining_objects(self) -> tuple[str, ...]:
        gone = set(self.cancelled) | set(self.failed)
        return tuple(label for label in self.plate.objects if label not in gone)

    def label_of(self, name: str) -> str | None:
        return next(
            (label for label in self.plate.objects if klipper_name(label).upper() == name.upper()),
            None,
        )


class MoonrakerPrinter:
    """A PrinterBackend for one Klipper printer behind Moonraker."""

    def __init__(
        self, options: MoonrakerOptions, on_event: EventSink, journal: PrintJournal
    ) -> None:
        self.options = options
        self._emit = on_event
        self._journal = journal
        self.lock = threading.RLock()
        self.api = MoonrakerApi(
            options.url, self._notified, api_key=options.api_key, timeout_s=options.timeout_s
        )
        self.status_tracker = StatusTracker(self)
        self.run: MoonrakerRun | None = None
        self.connected = False
        self.error: str | None = None
        self._requests: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._events: list[BackendEvent] = []

    # -- PrinterBackend ----------------------------------------------------------------

    def connect(self) -> None:
        if self._threads:
            return
        for target, name in ((self._serve, "moonraker-link"), (self._work, "moonraker-calls")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def start(self, program: Path, plate: PlateToRun) -> None:
        if not program.is_file():
            raise BackendError(f"the program {program} is not in the spool")
        with self.lock:
            phase = self.status_tracker.phase()
            if phase is not Phase.IDLE:
                raise BackendError(f"the printer is {phase.value}, not idle")
            remote = f"{self.options.upload_dir}/{plate.plate_id}.gcode"
            self.run = MoonrakerRun(plate, remote)
        self._journal.record(JournalEntry(plate.plate_id, plate.sha256, "started"))
        self._emit(PlateStarted(plate.plate_id))
        self._requests.put(lambda: self._upload_and_start(program, plate, remote))

    def pause(self) -> None:
        self._require((Phase.HEATING, Phase.PRINTING), "pause")
        self._requests.put(lambda: self._call("printer.print.pause"))

    def resume(self) -> None:
        self._require((Phase.PAUSED,), "resume")
        self._requests.put(lambda: self._call("printer.print.resume"))

    def cancel(self) -> None:
        self._require((Phase.HEATING, Phase.PRINTING, Phase.PAUSED), "cancel")
        self._requests.put(lambda: self._call("printer.print.cancel"))

    def cancel_object(self, label: str) -> None:
        run = self._require((Phase.HEATING, Phase.PRINTING, Phase.PAUSED), "cancel an object")
        with self.lock:
            if label not in run.plate.objects:
                raise BackendError(
                    f"the plate has no object {label!r}; it has: " + ", ".join(run.plate.objects)
                )
            if label not in run.remaining_objects():
                raise BackendError(f"object {label!r} is already cancelled")
        script = f"EXCLUDE_OBJECT NAME={klipper_name(label)}"
        self._requests.put(lambda: self._call("printer.gcode.script", {"script": script}))

    def set_temperatures(self, hotend_c: float, bed_c: float) -> None:
        self._require((Phase.IDLE,), "change temperatures", need_run=False)
        script = (
            f"SET_HEATER_TEMPERATURE HEATER=extruder TARGET={hotend_c:g}\n"
            f"SET_HEATER_TEMPERATURE HEATER=heater_bed TARGET={bed_c:g}"
        )
        self._requests.put(lambda: self._call("printer.gcode.script", {"script": script}))

    def status(self) -> BackendStatus:
        with self.lock:
            return self.status_tracker.snapshot()

    def close(self) -> None:
        self._stop.set()
        self._requests.put(None)
        self.api.close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=10)
        self._threads.clear()

    # -- used by the status tracker (lock held) ----------------------------------------

    def queue_event(self, event: BackendEvent) -> None:
        self._events.append(event)

    def record(self, entry: JournalEntry) -> None:
        self._journal.record(entry)

    def flush_events(self) -> None:
        with self.lock:
            events, self._events = self._events, []
        for event in events:
            self._emit(event)

    # -- threads -----------------------------------------------------------------------

    def _serve(self) -> None:
        """Keep the websocket open: connect, wait for Klipper, subscribe, repeat."""
        while not self._stop.is_set():
            try:
                self.api.open()
                self._wait_for_klipper()
                status = self.api.call("printer.objects.subscribe", {"objects": SUBSCRIBED})
                with self.lock:
                    self.connected = True
                    self.status_tracker.update(status.get("status", {}), initial=True)
                    self.queue_event(LinkChanged(True, f"Klipper ready at {self.options.url}"))
                self.flush_events()
                self.api.closed.wait()
            except MoonrakerError as error:
                log.warning("Moonraker at %s: %s", self.options.url, error)
            self.api.close()
            self._lost("lost the connection to Moonraker at " + self.options.url)
            self._stop.wait(self.options.reconnect_s)

    def _wait_for_klipper(self) -> None:
        while not self._stop.is_set():
            info = self.api.call("server.info")
            state = info.get("klippy_state", "")
            if state in ("ready", "shutdown", "error"):
                return
            log.info("Klipper is %s; waiting", state or "not connected")
            if self.api.closed.wait(min(self.options.reconnect_s, 2.0)):
                raise MoonrakerError("Moonraker closed the connection")

    def _lost(self, reason: str) -> None:
        with self.lock:
            was = self.connected
            self.connected = False
            if was:
                self.queue_event(LinkChanged(False, reason))
        self.flush_events()

    def _work(self) -> None:
        while True:
            request = self._requests.get()
            if request is None:
                return
            try:
                request()
            except MoonrakerError as error:
                log.error("Moonraker refused a request: %s", error)
            self.flush_events()

    def _upload_and_start(self, program: Path, plate: PlateToRun, remote: str) -> None:
        try:
            stored = self.api.upload(program, remote, plate.sha256)
            self.api.call("printer.print.start", {"filename": stored})
        except MoonrakerError as error:
            with self.lock:
                if self.run is not None and self.run.plate.plate_id == plate.plate_id:
                    self.status_tracker.end_failed(f"the printer did not start the plate: {error}")

    def _call(self, method: str, params: dict[str, Any] | None = None) -> None:
        self.api.call(method, params)

    def _notified(self, method: str, params: list[Any]) -> None:
        with self.lock:
            if method == "notify_status_update" and params and isinstance(params[0], dict):
                self.status_tracker.update(params[0])
            elif method == "notify_klippy_shutdown":
                self.status_tracker.update({"webhooks": {"state": "shutdown"}})
            elif method == "notify_klippy_disconnected":
                self.api.close()
        self.flush_events()

    def _require(
        self, phases: tuple[Phase, ...], action: str, need_run: bool = True
    ) -> MoonrakerRun:
        with self.lock:
            phase = self.status_tracker.phase()
            run = self.run
            if phase not in phases or (need_run and run is None):
                raise BackendError(
                    f"cannot {action}: the printer is {phase.value}"
                    + ("" if run or not need_run else " with no plate")
                )
            return run  # type: ignore[return-value]
