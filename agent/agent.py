"""The agent: one printer, one MQTT link, one thread that owns the printer's story.

`Agent(config).start()` connects the printer back-end and the broker link and runs
the agent's loop on its own thread; `stop()` ends it. Everything that happens
(commands and G-code from the broker, acknowledgements, events from the printer)
is put on one queue and handled on that thread, in order, so the agent's logic
never races with itself. The printer never waits on the network: events go to the
outbox on disk and are delivered whenever the link is up.

Several agents may run in one process (the demo runs nine): there is no global
state, each has its own thread, link, back-end and spool directory.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import cast

from agent.backends import create_backend
from agent.backends.base import BackendEvent, LinkChanged, PrinterBackend
from agent.commands import CommandHandlers
from agent.config import AgentConfig
from agent.delivery import Delivery
from agent.intake import PlateIntake
from agent.journal import PrintJournal
from agent.ledger import PlateLedger, PlateStatus
from agent.link import Acked, Connected, Disconnected, Inbound, MqttLink
from agent.outbox import Outbox
from agent.printer_events import PrinterEventHandlers
from agent.reporting import Reporter
from agent.session import PrinterSession
from agent.spool import Spool, SpoolError
from agent.state import StateReporter
from agent.store import AgentStore
from firmware_profiles import Profile, load_profile
from protocol import EventKind, ProtocolError, RunPlate, encode
from protocol.inbound import decode_for_topic
from protocol.topics import (
    TopicKind,
    parse_topic,
    printer_cmd_topic,
    printer_events_topic,
    printer_state_topic,
    printer_telemetry_topic,
    topic_filter,
)

log = logging.getLogger(__name__)

BLOB_WAIT_S = 30.0  # how long a run_plate waits for its G-code blob
_STOP = object()


@dataclass
class _WaitingPlate:
    command: RunPlate
    message: Inbound
    deadline: float


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        *,
        profile: Profile | None = None,
        blob_wait_s: float = BLOB_WAIT_S,
    ) -> None:
        self.config = config
        self.profile = profile or load_profile(config.profile)
        self.blob_wait_s = blob_wait_s
        spool_dir = config.spool_dir
        self.journal = PrintJournal(spool_dir / "journal.jsonl")
        self.store = AgentStore(spool_dir / "agent.sqlite")
        self.outbox = Outbox(self.store)
        self.ledger = PlateLedger(self.store)
        self.spool = Spool(spool_dir)
        self._queue: queue.Queue[object] = queue.Queue()
        self.backend: PrinterBackend = create_backend(
            config.backend, self._queue.put, self.journal, self.profile
        )
        site, printer = config.site, config.printer
        self.session = PrinterSession(
            self.store,
            self.ledger,
            Reporter(self.outbox, printer_events_topic(site, printer)),
            self.backend,
            self.spool,
        )
        self.commands = CommandHandlers(
            self.session,
            PlateIntake(self.spool, self.profile, config.max_plate_bytes),
            self.profile,
        )
        self.printer_events = PrinterEventHandlers(self.session, config.progress_step_percent)
        self.states = StateReporter(self.session, self.profile.id)
        self.state_topic = printer_state_topic(site, printer)
        self.link = MqttLink(
            config,
            will_topic=self.state_topic,
            will=lambda connection: encode(self.states.will(connection)),
            subscriptions=[
                (printer_cmd_topic(site, printer), 1),
                (topic_filter(TopicKind.PRINTER_GCODE, site=site, printer=printer), 1),
            ],
            on_event=self._queue.put,
        )
        self.delivery = Delivery(self.outbox, self.link)
        self._waiting: dict[str, list[_WaitingPlate]] = {}  # blob sha256 -> run_plates
        self._bad_blobs: dict[str, str] = {}  # blob sha256 -> why it was refused
        self._recovered = False
        self._thread: threading.Thread | None = None

    # -- life cycle --------------------------------------------------------------------

    def start(self) -> None:
        """Connect the printer and the broker and start the agent's thread."""
        if self._thread is not None:
            raise RuntimeError("the agent is already running")
        self.spool.prune(keep=[record.sha256 for record in self.ledger.printing()])
        self._thread = threading.Thread(
            target=self._run, name=f"agent-{self.config.site}-{self.config.printer}", daemon=True
        )
        self._thread.start()
        self.backend.connect()
        self.link.start()

    def stop(self) -> None:
        """Stop cleanly: leave an `offline` state behind, close the link and the printer.
        Events not yet acknowledged stay in the outbox for the next start."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(_STOP)
        thread.join(timeout=10)
        self.link.stop(encode(self.states.leaving(self.link.connection)))
        self.backend.close()
        self.store.close()

    def crash(self) -> None:
        """Stop as a power cut would: no goodbye, the broker sends the Last Will.
        For tests and drills."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(_STOP)
        thread.join(timeout=10)
        self.link.drop()
        self.backend.close()
        self.store.close()

    @property
    def running(self) -> bool:
        return self._thread is not None

    # -- the loop ----------------------------------------------------------------------

    def _run(self) -> None:
        now = time.monotonic()
        next_state = next_telemetry = now
        while True:
            timeout = max(0.0, min(next_state, next_telemetry) - time.monotonic())
            try:
                item = self._queue.get(timeout=min(timeout, 0.5))
            except queue.Empty:
                item = None
            if item is _STOP:
                return
            try:
                if item is not None:
                    self._dispatch(item)
                self._expire_waiting()
                next_state, next_telemetry = self._publish(next_state, next_telemetry)
                self.delivery.pump()
            except Exception:  # one bad message or bug must not stop the printer's agent
                log.exception("the agent failed to handle %r", item)

    def _dispatch(self, item: object) -> None:
        if isinstance(item, Inbound):
            self._inbound(item)
        elif isinstance(item, Acked):
            self.delivery.on_acked(item.mid)
        elif isinstance(item, Connected):
            self.delivery.on_connected()
            self.states.forget_last()  # publish the state on the new connection at once
        elif isinstance(item, Disconnected):
            pass  # the state reports it; the link reconnects on its own
        else:
            event = cast(BackendEvent, item)  # the back-end's sink is the only other source
            if isinstance(event, LinkChanged) and event.connected and not self._recovered:
                self._recover()
            self.printer_events.handle(event)

    def _publish(self, next_state: float, next_telemetry: float) -> tuple[float, float]:
        now = time.monotonic()
        status = self.backend.status()
        if self.states.changed(status) or now >= next_state:
            state = self.states.snapshot(self.link.connection, status)
            self.link.publish(self.state_topic, encode(state), qos=1, retain=True)
            next_state = now + self.config.state_interval_s
        if now >= next_telemetry:
            telemetry = self.states.telemetry(status)
            if telemetry is not None:
                topic = printer_telemetry_topic(self.config.site, self.config.printer)
                self.link.publish(topic, encode(telemetry), qos=0)
            next_telemetry = now + self.config.telemetry_interval_s
        return next_state, next_telemetry

    def _recover(self) -> None:
        """After a restart: a plate the ledger says is printing but the printer is not
        running was interrupted; report it failed so its parts go back to the queue."""
        self._recovered = True
        running = self.backend.status().plate_id
        for record in self.ledger.printing():
            self.session.plate = record
            if record.plate_id == running:
                log.info("the printer is still running plate %s", record.plate_id)
                continue
            self.session.end_plate(
                PlateStatus.FAILED,
                EventKind.PLATE_FAILED,
                list(record.parts),
                "interrupted: the agent restarted while the plate was printing",
            )

    # -- inbound messages --------------------------------------------------------------

    def _inbound(self, message: Inbound) -> None:
        deferred = False
        try:
            parsed = parse_topic(message.topic)
            if parsed.kind is TopicKind.PRINTER_GCODE and parsed.sha256 is not None:
                self._blob(parsed.sha256, message.payload)
            elif parsed.kind is TopicKind.PRINTER_CMD:
                command = decode_for_topic(TopicKind.PRINTER_CMD, message.payload)
                if isinstance(command, RunPlate):
                    deferred = self._run_plate_or_wait(command, message)
                else:
                    self.commands.handle(command)
            else:
                log.warning("ignoring a message on %s", message.topic)
        except ProtocolError as error:
            log.warning("dropped a bad message on %s: %s", message.topic, error.reason)
        finally:
            # Acknowledge even when handling failed: a message that breaks the agent
            # must not come back after every reconnect.
            if not deferred:
                self.link.ack(message)

    def _blob(self, sha256: str, payload: bytes) -> None:
        try:
            self.spool.store_blob(sha256, payload)
        except SpoolError as error:
            log.warning("refused G-code blob %s: %s", sha256, error)
            self._bad_blobs[sha256] = str(error)
            self._bad_blobs = dict(list(self._bad_blobs.items())[-32:])
        for waiting in self._waiting.pop(sha256, []):
            self._run_plate(waiting.command, waiting.message)

    def _run_plate_or_wait(self, command: RunPlate, message: Inbound) -> bool:
        """Handle a run_plate, or hold it until its blob arrives (bounded by blob_wait_s).
        True when it is held: it is acknowledged once handled."""
        sha = command.gcode_sha256
        known = self.ledger.get(command.plate_id)
        if (known and known.status.ran) or self.spool.has_blob(sha):
            self.commands.handle(command)
        elif sha in self._bad_blobs:
            self.commands.reject(command, "the G-code blob was refused: " + self._bad_blobs[sha])
        else:
            deadline = time.monotonic() + self.blob_wait_s
            self._waiting.setdefault(sha, []).append(_WaitingPlate(command, message, deadline))
            return True
        return False

    def _run_plate(self, command: RunPlate, message: Inbound) -> None:
        self.commands.handle(command)
        self.link.ack(message)

    def _expire_waiting(self) -> None:
        now = time.monotonic()
        for sha, waiting in list(self._waiting.items()):
            due = [plate for plate in waiting if now >= plate.deadline]
            if not due:
                continue
            self._waiting[sha] = [plate for plate in waiting if now < plate.deadline]
            if not self._waiting[sha]:
                del self._waiting[sha]
            for plate in due:
                self._run_plate(plate.command, plate.message)
