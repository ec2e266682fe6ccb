"""The printer session: what the agent knows about its printer between messages.

Commands (`commands.py`) and printer events (`printer_events.py`) both act through
this object: the plate on the printer and its parts, the bed-clear and maintenance
flags (kept in the ledger on disk), and the commands still waiting for the printer
to confirm them. Every change that must be reported is written to the ledger and
the outbox in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from agent.backends.base import BackendStatus, Phase, PrinterBackend
from agent.ledger import PlateLedger, PlateRecord, PlateStatus
from agent.reporting import Reporter
from agent.spool import Spool
from agent.store import AgentStore
from protocol import EventKind, PrinterStatus

log = logging.getLogger(__name__)

_BUSY_PHASES = (Phase.HEATING, Phase.PRINTING, Phase.PAUSED, Phase.NEEDS_OPERATOR)


class PrinterSession:
    def __init__(
        self,
        store: AgentStore,
        ledger: PlateLedger,
        reporter: Reporter,
        backend: PrinterBackend,
        spool: Spool,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.reporter = reporter
        self.backend = backend
        self.spool = spool
        self.plate: PlateRecord | None = None  # the plate on the printer
        latest = ledger.latest_run()
        # The plate printing or waiting on the bed, for the printer's state.
        self.last_plate_id: str | None = latest.plate_id if latest else None
        # What a command asked for -> its command_id, until the printer confirms it:
        # "pause", "resume", "cancel", "object:<label>".
        self.awaiting: dict[str, str] = {}
        self.reported_percent = 0

    # -- the plate on the printer ------------------------------------------------------

    def begin_plate(self, record: PlateRecord, command_id: str) -> None:
        """Record that a verified plate goes to the printer, and answer its command."""
        with self.store.transaction():
            self.ledger.put(record)
            self.ledger.set_bed_clear(False)
            self.reporter.report(
                EventKind.PLATE_RECEIVED,
                plate_id=record.plate_id,
                command_id=command_id,
                details=f"G-code {record.sha256} stored and verified",
            )
        self.plate = record
        self.last_plate_id = record.plate_id
        self.reported_percent = 0

    def end_plate(
        self,
        status: PlateStatus,
        kind: EventKind,
        part_ids: Iterable[str],
        details: str,
        command_id: str | None = None,
    ) -> None:
        """The plate left the printer (finished, failed or cancelled): report it once."""
        record = self.plate
        if record is None:
            log.warning("the printer reported the end of a plate the agent did not run")
            return
        ended = PlateRecord(record.plate_id, record.sha256, status, details, record.parts)
        with self.store.transaction():
            self.ledger.put(ended)
            self.reporter.report(
                kind,
                plate_id=record.plate_id,
                command_id=command_id,
                part_ids=part_ids,
                details=details,
            )
        self.plate = None
        self.awaiting.clear()
        self.spool.discard(record.sha256)

    def part_ids(self, labels: Iterable[str]) -> list[str]:
        """The part ids of the current plate's objects (labels the plate does not know
        are skipped)."""
        if self.plate is None:
            return []
        found = (self.plate.part_for(label) for label in labels)
        return [part_id for part_id in found if part_id is not None]

    # -- what the printer is doing -----------------------------------------------------

    def printer_status(self, backend: BackendStatus) -> PrinterStatus:
        """The printer's state on the wire: the back-end's phase plus bed and service."""
        phase = backend.phase
        if phase is Phase.DISCONNECTED:
            return PrinterStatus.OFFLINE
        if phase is Phase.CONNECTING:
            return PrinterStatus.CONNECTING
        if phase is Phase.ERROR:
            return PrinterStatus.ERROR
        if phase in _BUSY_PHASES:
            return PrinterStatus(phase.value)
        if self.ledger.maintenance:
            return PrinterStatus.MAINTENANCE
        if not self.ledger.bed_clear:
            return PrinterStatus.AWAITING_BED_CLEAR
        return PrinterStatus.IDLE

    def why_not_ready(self) -> str | None:
        """Why a new plate cannot start now, or None when it can."""
        status = self.backend.status()
        if self.plate is not None or status.phase in _BUSY_PHASES:
            busy = self.plate.plate_id if self.plate else status.plate_id
            return f"the printer is busy with plate {busy}"
        if status.phase is Phase.ERROR:
            return f"the printer is in error: {status.error}"
        if status.phase in (Phase.DISCONNECTED, Phase.CONNECTING):
            return "the printer is not connected to the agent"
        if self.ledger.maintenance:
            return "the printer is in maintenance"
        if not self.ledger.bed_clear:
            return (
                f"the bed is not confirmed clear since plate {self.last_plate_id or '?'}; "
                "staff must confirm bed_cleared first"
            )
        return None
