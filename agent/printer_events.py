"""What the agent reports when its printer does something.

Back-end events (`agent.backends.base`) become `PrinterEvent`s. A handler per event
type, registered in `HANDLERS`. Events the printer sends in answer to a command
(paused, resumed, cancelled) carry that command's id. Progress is reported every
`progress_step_percent`, not on every tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agent.backends.base import (
    BackendEvent,
    LinkChanged,
    ObjectCancelled,
    OperatorNeeded,
    PlateCancelled,
    PlateFailed,
    PlateFinished,
    PlatePaused,
    PlateProgress,
    PlateResumed,
    PlateStarted,
    PrinterFault,
)
from agent.ledger import PlateStatus
from agent.session import PrinterSession
from protocol import EventKind

log = logging.getLogger(__name__)


class PrinterEventHandlers:
    def __init__(self, session: PrinterSession, progress_step_percent: int) -> None:
        self.session = session
        self.step = progress_step_percent
        self._handlers: dict[type, Callable[[Any], None]] = {
            PlateStarted: self.started,
            PlateProgress: self.progress,
            ObjectCancelled: self.object_cancelled,
            PlatePaused: self.paused,
            PlateResumed: self.resumed,
            OperatorNeeded: self.operator_needed,
            PlateFinished: self.finished,
            PlateFailed: self.failed,
            PlateCancelled: self.cancelled,
            PrinterFault: self.fault,
            LinkChanged: self.link_changed,
        }

    def handle(self, event: BackendEvent) -> None:
        plate_id = getattr(event, "plate_id", None)
        current = self.session.plate
        if plate_id is not None and (current is None or current.plate_id != plate_id):
            log.warning(
                "ignoring %s for plate %s: it is not the plate on the printer",
                type(event).__name__,
                plate_id,
            )
            return
        self._handlers[type(event)](event)

    def started(self, event: PlateStarted) -> None:
        self.session.reporter.report(EventKind.PLATE_STARTED, plate_id=event.plate_id)

    def progress(self, event: PlateProgress) -> None:
        percent = int(event.progress * 100)
        due = (percent // self.step) * self.step
        if due <= self.session.reported_percent or percent >= 100:
            return
        self.session.reported_percent = due
        self.session.reporter.report(
            EventKind.PROGRESS,
            plate_id=event.plate_id,
            progress=event.progress,
            seconds_left=event.seconds_left,
        )

    def object_cancelled(self, event: ObjectCancelled) -> None:
        session = self.session
        command_id = session.awaiting.pop(f"object:{event.label}", None)
        kind = EventKind.PART_FAILED if event.failed else EventKind.PART_CANCELLED
        part_ids = session.part_ids([event.label])
        if not part_ids:
            log.warning("the printer cancelled object %s, which names no part", event.label)
            return
        session.reporter.report(
            kind,
            plate_id=event.plate_id,
            command_id=command_id,
            part_ids=part_ids,
            details=event.reason,
        )

    def paused(self, event: PlatePaused) -> None:
        self.session.reporter.report(
            EventKind.PAUSED,
            plate_id=event.plate_id,
            command_id=self.session.awaiting.pop("pause", None),
        )

    def resumed(self, event: PlateResumed) -> None:
        self.session.reporter.report(
            EventKind.RESUMED,
            plate_id=event.plate_id,
            command_id=self.session.awaiting.pop("resume", None),
        )

    def operator_needed(self, event: OperatorNeeded) -> None:
        self.session.reporter.report(
            EventKind.NEEDS_OPERATOR, plate_id=event.plate_id, details=event.message
        )

    def finished(self, event: PlateFinished) -> None:
        lost = event.cancelled + event.failed
        details = f"printed {len(event.printed)} of {len(event.printed) + len(lost)} objects"
        if event.cancelled:
            details += "; cancelled: " + ", ".join(event.cancelled)
        if event.failed:
            details += "; failed: " + ", ".join(event.failed)
        self.session.end_plate(
            PlateStatus.FINISHED, EventKind.PLATE_FINISHED, self.session.part_ids(lost), details
        )

    def failed(self, event: PlateFailed) -> None:
        self.session.end_plate(
            PlateStatus.FAILED,
            EventKind.PLATE_FAILED,
            self.session.part_ids(event.failed),
            event.reason,
        )

    def cancelled(self, event: PlateCancelled) -> None:
        command_id = self.session.awaiting.get("cancel")
        self.session.end_plate(
            PlateStatus.CANCELLED,
            EventKind.PLATE_CANCELLED,
            self.session.part_ids(event.cancelled),
            "cancelled " + ", ".join(event.cancelled),
            command_id,
        )

    def fault(self, event: PrinterFault) -> None:
        log.error("printer fault: %s", event.message)
        plate = self.session.plate
        self.session.reporter.report(
            EventKind.ERROR, plate_id=plate.plate_id if plate else None, details=event.message
        )

    def link_changed(self, event: LinkChanged) -> None:
        if event.connected:
            log.info("printer connected: %s", event.reason)
        else:
            log.warning("printer disconnected: %s", event.reason)
