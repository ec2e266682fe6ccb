"""One printer of a swarm: the agent's side of the wire protocol, with no threads of its own.

`SwarmPrinter` answers the same commands with the same events as `Agent` (run_plate with its
gzip'd G-code blob and sha256, pause, resume, cancel a plate or one part, maintenance,
preheat, cooldown, bed_cleared) and reports the same retained `PrinterState`, but it keeps
everything in memory and is driven from outside: `on_message()` for what the broker
delivers, `advance(now)` for the clock. Thousands of them share one thread and one clock in
`agent.swarm`. A plate prints for its estimated time divided by the speed factor; a new plate
is refused until staff confirm the bed clear, as on a real agent.

What it leaves out, on purpose: it verifies the blob's size and sha256 but does not gunzip
and safety-check the program (that costs a CPU-second per plate and is covered by the
agent's own tests), and it has no on-disk outbox (paho's persistent session re-sends events
in flight across a reconnect; a swarm process that dies loses its printers' queues, as a
power cut loses a Pi's RAM).
"""

from __future__ import annotations

import hashlib
import logging
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

from protocol import (
    BedCleared,
    CancelPart,
    CancelPlate,
    Cooldown,
    EventKind,
    Heater,
    Message,
    Pause,
    Preheat,
    PrinterEvent,
    PrinterState,
    PrinterStatus,
    ProtocolError,
    Resume,
    RunPlate,
    SetMaintenance,
    encode,
    offline_will,
)
from protocol.inbound import decode_for_topic
from protocol.topics import TopicKind, parse_topic

log = logging.getLogger(__name__)

AGENT_VERSION = "makerfarm-swarm"
HEAT_UP_S = 60.0  # simulated seconds from cold to printing temperature
BLOB_WAIT_S = 30.0  # how long a run_plate waits for its G-code blob
ROOM_C = 22.0
MAX_BLOBS = 4  # blobs kept per printer (a plate's blob arrives just before its run_plate)

Send = Callable[[str, bytes, int, bool], None]  # topic, payload, qos, retain


class Phase(Enum):
    IDLE = "idle"
    HEATING = "heating"
    PRINTING = "printing"
    PAUSED = "paused"


@dataclass
class _Plate:
    command: RunPlate
    print_s: float  # simulated seconds, already divided by the speed factor
    heat_s: float
    elapsed_s: float = 0.0
    reported_percent: int = 0
    fail_at: float | None = None  # an injected failure strikes at this progress
    gone: dict[str, EventKind] = field(default_factory=dict)  # part id -> cancelled/failed

    def remaining(self) -> list[str]:
        return [part.part_id for part in self.command.parts if part.part_id not in self.gone]


@dataclass
class _Waiting:
    command: RunPlate
    deadline: float


@dataclass
class Topics:
    state: str
    events: str
    cmd: str
    gcode_filter: str


class SwarmPrinter:
    """One simulated printer and its agent; all calls come from the swarm's one thread."""

    def __init__(
        self,
        site: str,
        printer: str,
        profile_id: str,
        topics: Topics,
        *,
        speed: float,
        progress_step_percent: int = 25,
        plate_failure_rate: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.site, self.printer, self.profile_id = site, printer, profile_id
        self.topics = topics
        self.speed = speed
        self.progress_step = progress_step_percent
        self.plate_failure_rate = plate_failure_rate
        self.rng = rng or random.Random()
        self.run_id = uuid.uuid4().hex[:16]
        self.connection = 1
        self.sequence = 0
        self.phase = Phase.IDLE
        self.bed_clear = True
        self.maintenance = False
        self.plate: _Plate | None = None
        self.last_plate_id: str | None = None
        self.ran: dict[str, str] = {}  # plate id -> how it ended (idempotent run_plate)
        self.blobs: dict[str, int] = {}  # sha256 -> size of a verified blob
        self.waiting: list[_Waiting] = []
        self.printed_parts: list[str] = []
        self.busy_s = 0.0  # simulated seconds heating or printing (utilisation)
        self._last_key: tuple[object, ...] | None = None
        self.send: Send = lambda topic, payload, qos, retain: None

    # -- what goes out -----------------------------------------------------------------

    def status(self) -> PrinterStatus:
        if self.phase is not Phase.IDLE:
            return PrinterStatus(self.phase.value)
        if self.maintenance:
            return PrinterStatus.MAINTENANCE
        if not self.bed_clear:
            return PrinterStatus.AWAITING_BED_CLEAR
        return PrinterStatus.IDLE

    def will(self) -> bytes:
        return encode(
            offline_will(
                agent_version=AGENT_VERSION,
                run_id=self.run_id,
                connection=self.connection,
                at=datetime.now(UTC),
                profile_id=self.profile_id,
            )
        )

    def state(self) -> bytes:
        self.sequence += 1
        plate = self.plate
        hot = self.phase in (Phase.PRINTING, Phase.PAUSED)
        progress = seconds_left = None
        if plate is not None:
            progress = min(1.0, plate.elapsed_s / plate.print_s) if plate.print_s else 1.0
            seconds_left = max(0.0, plate.print_s - plate.elapsed_s) * self.speed
        nozzle_target, bed_target = (215.0, 60.0) if plate is not None else (0.0, 0.0)
        return encode(
            PrinterState(
                state=self.status(),
                profile_id=self.profile_id,
                material=None,
                plate_id=plate.command.plate_id if plate else self.last_plate_id,
                progress=progress,
                seconds_left=seconds_left,
                nozzle=Heater(current_c=nozzle_target if hot else ROOM_C, target_c=nozzle_target),
                bed=Heater(current_c=bed_target if hot else ROOM_C, target_c=bed_target),
                error="",
                agent_version=AGENT_VERSION,
                at=datetime.now(UTC),
                run_id=self.run_id,
                connection=self.connection,
                sequence=self.sequence,
            )
        )

    def changed(self) -> bool:
        """True once after something worth an immediate state report changed."""
        key = (
            self.status(),
            self.plate.command.plate_id if self.plate else None,
            self.last_plate_id,
        )
        if key == self._last_key:
            return False
        self._last_key = key
        return True

    def forget_last(self) -> None:
        self._last_key = None

    def report(
        self,
        kind: EventKind,
        *,
        plate_id: str | None = None,
        command_id: str | None = None,
        part_ids: Iterable[str] = (),
        progress: float | None = None,
        details: str = "",
    ) -> None:
        event = PrinterEvent(
            event_id=uuid.uuid4().hex,
            kind=kind,
            plate_id=plate_id,
            command_id=command_id,
            part_ids=tuple(part_ids),
            progress=progress,
            details=details[:2000],
            at=datetime.now(UTC),
        )
        self.send(self.topics.events, encode(event), 1, False)

    # -- what comes in -----------------------------------------------------------------

    def on_message(self, topic: str, payload: bytes, now: float) -> None:
        try:
            parsed = parse_topic(topic)
            if parsed.kind is TopicKind.PRINTER_GCODE and parsed.sha256 is not None:
                self._blob(parsed.sha256, payload, now)
            elif parsed.kind is TopicKind.PRINTER_CMD:
                self._command(decode_for_topic(TopicKind.PRINTER_CMD, payload), now)
        except ProtocolError as error:
            log.warning("%s dropped a bad message on %s: %s", self.printer, topic, error.reason)

    def _blob(self, sha256: str, payload: bytes, now: float) -> None:
        if hashlib.sha256(payload).hexdigest() != sha256:
            log.warning("%s refused G-code blob %s: its sha256 differs", self.printer, sha256)
        else:
            self.blobs[sha256] = len(payload)
            while len(self.blobs) > MAX_BLOBS:
                del self.blobs[next(iter(self.blobs))]
        held, self.waiting = self.waiting, []
        for waiting in held:
            if waiting.command.gcode_sha256 == sha256:
                self._run_plate(waiting.command, now)
            else:
                self.waiting.append(waiting)

    def _command(self, command: Message, now: float) -> None:
        command_id: str = getattr(command, "command_id", "")
        if isinstance(command, RunPlate):
            self._run_plate_or_wait(command, now)
            return
        refusal = self._control(command)
        if refusal is not None:
            self.report(EventKind.COMMAND_REFUSED, command_id=command_id, details=refusal)

    def _run_plate_or_wait(self, command: RunPlate, now: float) -> None:
        if command.plate_id in self.ran or command.gcode_sha256 in self.blobs:
            self._run_plate(command, now)
        else:
            self.waiting.append(_Waiting(command, now + BLOB_WAIT_S))

    def _run_plate(self, command: RunPlate, now: float) -> None:
        plate_id = command.plate_id
        if plate_id in self.ran:
            self.report(
                EventKind.PLATE_RECEIVED,
                plate_id=plate_id,
                command_id=command.command_id,
                details=f"already received; the plate is {self.ran[plate_id]} and is not run again",
            )
            return
        reason = self._why_not_ready(command)
        if reason is not None:
            self.ran[plate_id] = "rejected"
            self.report(
                EventKind.PLATE_REJECTED,
                plate_id=plate_id,
                command_id=command.command_id,
                details=reason,
            )
            return
        self.ran[plate_id] = "printing"
        self.bed_clear = False
        self.plate = _Plate(
            command, print_s=command.estimated_seconds / self.speed, heat_s=HEAT_UP_S / self.speed
        )
        if self.rng.random() < self.plate_failure_rate:
            self.plate.fail_at = self.rng.uniform(0.05, 0.95)
        self.last_plate_id = plate_id
        self.phase = Phase.HEATING
        self.report(
            EventKind.PLATE_RECEIVED,
            plate_id=plate_id,
            command_id=command.command_id,
            details=f"G-code {command.gcode_sha256} stored and verified",
        )

    def _why_not_ready(self, command: RunPlate) -> str | None:
        size = self.blobs.get(command.gcode_sha256)
        if size is None:
            return f"the G-code blob {command.gcode_sha256} did not arrive within {BLOB_WAIT_S:g} s"
        if size != command.gcode_gzip_bytes:
            return (
                f"the G-code blob has {size} bytes, the run_plate says {command.gcode_gzip_bytes}"
            )
        if command.profile_id != self.profile_id:
            return (
                f"the plate was sliced for {command.profile_id}, this printer is {self.profile_id}"
            )
        if self.plate is not None:
            return f"the printer is busy with plate {self.plate.command.plate_id}"
        if self.maintenance:
            return "the printer is in maintenance"
        if not self.bed_clear:
            return (
                f"the bed is not confirmed clear since plate {self.last_plate_id or '?'}; "
                "staff must confirm bed_cleared first"
            )
        return None

    def _control(self, command: Message) -> str | None:
        """Carry out a command other than run_plate; the reason when it is refused."""
        command_id: str = getattr(command, "command_id", "")
        plate = self.plate
        if isinstance(command, (Pause, Resume, CancelPlate, CancelPart)):
            wanted = getattr(command, "plate_id", None)
            if plate is None or (wanted is not None and wanted != plate.command.plate_id):
                running = plate.command.plate_id if plate else "no plate"
                return f"plate {wanted or ''} is not on the printer (it runs {running})".replace(
                    "plate  is", "the plate is"
                )
            return self._plate_control(command, plate, command_id)
        if isinstance(command, SetMaintenance):
            self.maintenance = command.on
            state = "in maintenance" if command.on else "back in service"
            self.report(
                EventKind.COMMAND_ACCEPTED, command_id=command_id, details=f"printer {state}"
            )
        elif isinstance(command, BedCleared):
            if plate is not None:
                return f"plate {plate.command.plate_id} is still on the printer"
            self.bed_clear, self.last_plate_id = True, None
            self.report(
                EventKind.COMMAND_ACCEPTED, command_id=command_id, details="bed confirmed clear"
            )
        elif isinstance(command, (Preheat, Cooldown)):
            self.report(EventKind.COMMAND_ACCEPTED, command_id=command_id, details="heaters set")
        else:
            return f"this agent does not know the command {command.type}"
        return None

    def _plate_control(self, command: Message, plate: _Plate, command_id: str) -> str | None:
        plate_id = plate.command.plate_id
        if isinstance(command, Pause):
            self.phase = Phase.PAUSED
            self.report(EventKind.PAUSED, plate_id=plate_id, command_id=command_id)
        elif isinstance(command, Resume):
            self.phase = Phase.PRINTING if plate.elapsed_s > 0 else Phase.HEATING
            self.report(EventKind.RESUMED, plate_id=plate_id, command_id=command_id)
        elif isinstance(command, CancelPlate):
            cancelled = plate.remaining()
            self._end(
                EventKind.PLATE_CANCELLED,
                "cancelled",
                cancelled,
                command_id,
                "cancelled " + ", ".join(cancelled),
            )
        elif isinstance(command, CancelPart):
            if command.part_id not in plate.remaining():
                return f"part {command.part_id} is not on plate {plate_id}"
            plate.gone[command.part_id] = EventKind.PART_CANCELLED
            self.report(
                EventKind.PART_CANCELLED,
                plate_id=plate_id,
                command_id=command_id,
                part_ids=[command.part_id],
            )
        return None

    # -- the clock ---------------------------------------------------------------------

    def advance(self, now: float, dt_s: float) -> None:
        """Let `dt_s` seconds pass on the printer (the swarm's clock says `now`)."""
        if self.waiting:
            self._expire_waiting(now)
        plate = self.plate
        if plate is None or self.phase is Phase.PAUSED:
            return
        self.busy_s += dt_s
        if self.phase is Phase.HEATING:
            plate.heat_s -= dt_s
            if plate.heat_s <= 0:
                self.phase = Phase.PRINTING
                self.report(EventKind.PLATE_STARTED, plate_id=plate.command.plate_id)
            return
        plate.elapsed_s += dt_s
        progress = min(1.0, plate.elapsed_s / plate.print_s) if plate.print_s > 0 else 1.0
        percent = int(progress * 100) // self.progress_step * self.progress_step
        if 0 < percent < 100 and percent > plate.reported_percent:
            plate.reported_percent = percent
            self.report(EventKind.PROGRESS, plate_id=plate.command.plate_id, progress=progress)
        if plate.fail_at is not None and progress >= plate.fail_at:
            self.fail_plate(f"injected fault: the plate came loose at {progress:.0%}")
        elif progress >= 1.0:
            printed = plate.remaining()
            lost = list(plate.gone)
            self.printed_parts.extend(printed)
            self._end(
                EventKind.PLATE_FINISHED,
                "finished",
                lost,
                None,
                f"printed {len(printed)} of {len(printed) + len(lost)} objects",
            )

    def fail_plate(self, reason: str) -> None:
        """An injected plate failure: the plate comes loose, every part left on it failed."""
        if self.plate is not None:
            self._end(EventKind.PLATE_FAILED, "failed", self.plate.remaining(), None, reason)

    def _end(
        self, kind: EventKind, how: str, part_ids: list[str], command_id: str | None, details: str
    ) -> None:
        assert self.plate is not None
        plate_id = self.plate.command.plate_id
        self.ran[plate_id] = how
        self.plate = None
        self.phase = Phase.IDLE
        self.report(
            kind, plate_id=plate_id, command_id=command_id, part_ids=part_ids, details=details
        )

    def _expire_waiting(self, now: float) -> None:
        due = [waiting for waiting in self.waiting if now >= waiting.deadline]
        if due:
            self.waiting = [waiting for waiting in self.waiting if now < waiting.deadline]
            for waiting in due:
                self._run_plate(waiting.command, now)
