"""Simulated makerspace staff for the demo and the end-to-end test.

The demo has nobody standing at its printers, so this stands in for them, over MQTT only,
exactly like the staff TUI: when a printer reports `awaiting_bed_clear` it sends
`staff.bed_cleared` for it; when a site summary says a printer's next plate needs a spool the
printer does not have, it sends `staff.spool_loaded` once the printer is idle. Every reply is
kept (`replies`, `cleared_at`), so a test can check that no plate started on a bed before the
staff cleared it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from types import TracebackType

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from controller.config import BrokerAddress
from protocol import topics
from protocol.base import Message
from protocol.codec import decode, encode
from protocol.errors import ProtocolError
from protocol.messages.fleet import SiteSummary
from protocol.messages.printer import PrinterState, PrinterStatus
from protocol.messages.staff import StaffBedCleared, StaffReply, StaffSpoolLoaded

STAFF_USER = "demo-staff"
SPOOL_RETRY_S = 3.0
CLEAR_RETRY_S = 5.0  # no answer to a bed clear by then (it died with a controller): ask again


class SimulatedStaff:
    """Clears beds and loads spools on every site; a context manager (paho thread)."""

    def __init__(self, broker: BrokerAddress, *, clear_beds: bool = True) -> None:
        self.clear_beds = clear_beds
        self.replies: list[StaffReply] = []
        self.cleared_at: dict[str, list[datetime]] = defaultdict(list)
        self.spools_loaded = 0
        self._lock = threading.Lock()
        self._states: dict[str, PrinterState] = {}
        self._sites: dict[str, str] = {}
        self._pending: dict[str, tuple[str, str]] = {}  # command id -> (action, printer)
        self._asked_clear: set[tuple[str, str | None]] = set()
        self._clear_asked_at: dict[tuple[str, str | None], float] = {}
        # printer -> (spool asked for, when): asked again if still needed after a while
        self._loaded: dict[str, tuple[tuple[str, str], float]] = {}
        self._needs: dict[str, tuple[str, str]] = {}  # printer -> spool its next plate needs
        self._broker = broker
        self._ready = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"demo-staff-{uuid.uuid4().hex[:8]}"
        )
        if broker.username:
            self._client.username_pw_set(broker.username, broker.password)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *_: self._ready.set()
        self._client.on_message = self._on_message

    def __enter__(self) -> SimulatedStaff:
        self._client.connect(self._broker.host, self._broker.port, keepalive=30)
        self._client.loop_start()
        if not self._ready.wait(10):
            raise RuntimeError(f"simulated staff could not subscribe at {self._broker.url}")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        client.subscribe(
            [
                (topics.topic_filter(topics.TopicKind.PRINTER_STATE), 1),
                (topics.topic_filter(topics.TopicKind.FLEET_SITE), 1),
                (topics.topic_filter(topics.TopicKind.STAFF_REPLIES), 1),
            ]
        )

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            parsed = topics.parse_topic(message.topic)
            payload = bytes(message.payload)
            if parsed.kind == topics.TopicKind.PRINTER_STATE and payload:
                assert parsed.site is not None and parsed.printer is not None
                self._on_state(parsed.site, parsed.printer, decode(payload, PrinterState))
            elif parsed.kind == topics.TopicKind.FLEET_SITE:
                assert parsed.site is not None
                self._on_site(parsed.site, decode(payload, SiteSummary))
            elif parsed.kind == topics.TopicKind.STAFF_REPLIES:
                self._on_reply(decode(payload, StaffReply))
        except ProtocolError:
            return

    def _on_state(self, site: str, printer: str, state: PrinterState) -> None:
        with self._lock:
            previous = self._states.get(printer)
            if previous is not None and not state.supersedes(previous):
                return
            self._states[printer] = state
            self._sites[printer] = site
            key = (printer, state.plate_id)
            now = time.monotonic()
            clear = (
                self.clear_beds
                and state.state == PrinterStatus.AWAITING_BED_CLEAR
                and (
                    key not in self._asked_clear
                    or now - self._clear_asked_at.get(key, now) > CLEAR_RETRY_S
                )
            )
            if clear:
                self._asked_clear.add(key)
                self._clear_asked_at[key] = now
        if not clear:
            self._load_spool_if_needed(site, printer)
            return
        self._send(
            site,
            printer,
            StaffBedCleared(
                command_id=_command_id(),
                staff_user=STAFF_USER,
                issued_at=datetime.now(UTC),
                printer_id=printer,
            ),
        )

    def _on_site(self, site: str, summary: SiteSummary) -> None:
        """Remember which spool each printer's next plate needs; load it when it is idle."""
        needs = {
            need.printer_id: (need.material, need.colour)
            for need in summary.materials_needed_next
            if need.printer_id is not None
        }
        with self._lock:
            for printer, printer_site in self._sites.items():
                if printer_site == site:
                    self._needs.pop(printer, None)
            self._needs.update(needs)
        for printer in needs:
            self._load_spool_if_needed(site, printer)

    def _load_spool_if_needed(self, site: str, printer: str) -> None:
        with self._lock:
            state = self._states.get(printer)
            wanted = self._needs.get(printer)
            asked = self._loaded.get(printer)
            now = time.monotonic()
            if (
                wanted is None
                or state is None
                or state.state != PrinterStatus.IDLE
                or (asked is not None and asked[0] == wanted and now - asked[1] < SPOOL_RETRY_S)
            ):
                return
            self._loaded[printer] = (wanted, now)
        self._send(
            site,
            printer,
            StaffSpoolLoaded(
                command_id=_command_id(),
                staff_user=STAFF_USER,
                issued_at=datetime.now(UTC),
                printer_id=printer,
                material=wanted[0],
                colour=wanted[1],
            ),
        )

    def _on_reply(self, reply: StaffReply) -> None:
        with self._lock:
            self.replies.append(reply)
            action = self._pending.pop(reply.command_id, None)
            if action is None:
                return
            kind, printer = action
            if not reply.accepted:
                # Asked too early (the plate's finish not applied yet) or the spool is
                # wrong: ask again on the printer's next state report.
                self._asked_clear = {k for k in self._asked_clear if k[0] != printer}
                self._loaded.pop(printer, None)
                return
            if kind == "staff.bed_cleared":
                self.cleared_at[printer].append(reply.at)
            elif kind == "staff.spool_loaded":
                self.spools_loaded += 1

    def _send(self, site: str, printer: str, command: Message) -> None:
        command_id = getattr(command, "command_id", "")
        with self._lock:
            self._pending[command_id] = (command.type, printer)
        self._client.publish(topics.staff_cmd_topic(site), encode(command), qos=1)

    def clear_bed(self, printer: str) -> None:
        """Clear one printer's bed now (for tests that hold the staff back)."""
        with self._lock:
            site = self._sites[printer]
        self._send(
            site,
            printer,
            StaffBedCleared(
                command_id=_command_id(),
                staff_user=STAFF_USER,
                issued_at=datetime.now(UTC),
                printer_id=printer,
            ),
        )

    def printer_states(self) -> dict[str, PrinterStatus]:
        with self._lock:
            return {printer: state.state for printer, state in self._states.items()}


def _command_id() -> str:
    return "s" + uuid.uuid4().hex[:15]
