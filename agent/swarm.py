"""A swarm: thousands of simulated printers and their agents in one process, on one thread.

Why one MQTT connection per printer: a printer's retained state and its Last Will
(`offline`) belong to a connection in MQTT, so printers sharing a connection could not go
offline one at a time, and the controller could not tell them apart. Why not the real
`Agent` per printer: it runs three threads (agent, paho loop, printer), which is right on a
Pi and wrong for 5,000 printers in one process. So the swarm drives every printer's paho
client from ONE thread with one `selectors` loop (paho's external-loop API: `loop_read`,
`loop_write`, `loop_misc` and the socket callbacks), and advances every `SwarmPrinter` on
one clock. Each printer keeps the agent's protocol: stable client id, persistent session,
Last Will, retained state at `state_interval_s` and on change, telemetry at QoS 0, events
at QoS 1.

`Swarm(members, settings).start()` runs it on its own thread; `stop()` leaves an `offline`
state behind for every printer and disconnects; `summary()` counts what happened.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import random
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from agent.swarm_printer import SwarmPrinter, Topics
from protocol import Telemetry, ToolTemperature, encode
from protocol.topics import (
    TopicKind,
    printer_cmd_topic,
    printer_events_topic,
    printer_state_topic,
    printer_telemetry_topic,
    topic_filter,
)

log = logging.getLogger(__name__)

MISC_EVERY_S = 1.0  # keep-alives and reconnects
CONNECTS_PER_PASS = 200  # new connections opened per loop pass (the broker's accept queue)
RECONNECT_MIN_S, RECONNECT_MAX_S = 0.5, 10.0
STOP_FLUSH_S = 5.0


@dataclass(frozen=True)
class SwarmMember:
    site: str
    printer: str
    profile: str


@dataclass(frozen=True)
class SwarmSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    speed: float = 1.0
    state_interval_s: float = 1.0
    telemetry_interval_s: float = 5.0  # 0: no telemetry
    progress_step_percent: int = 25
    plate_failure_rate: float = 0.0
    keepalive_s: int = 60
    tick_s: float = 0.05
    seed: int = 0


@dataclass
class _Connection:
    printer: SwarmPrinter
    client: mqtt.Client
    connected: bool = False
    opened: bool = False
    retry_at: float = 0.0
    backoff_s: float = RECONNECT_MIN_S
    write_selected: bool = False  # the selector watches the socket for writability


@dataclass
class SwarmCounters:
    states: int = 0
    telemetry: int = 0
    events: int = 0
    inbound: int = 0
    connects: int = 0
    disconnects: int = 0
    started_at: float = field(default_factory=time.monotonic)


class Swarm:
    def __init__(self, members: list[SwarmMember], settings: SwarmSettings) -> None:
        self.settings = settings
        self.counters = SwarmCounters()
        self._selector = selectors.DefaultSelector()
        self._rng = random.Random(settings.seed)
        self._connections = [self._connection(member) for member in members]
        self._due: list[tuple[float, int, int]] = []  # (when, kind, index): 0 state, 1 telemetry
        self._to_write: list[_Connection] = []  # packets queued since the last flush
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # guards summary() reads against the loop

    # -- set-up ------------------------------------------------------------------------

    def _connection(self, member: SwarmMember) -> _Connection:
        s = self.settings
        topics = Topics(
            state=printer_state_topic(member.site, member.printer),
            events=printer_events_topic(member.site, member.printer),
            cmd=printer_cmd_topic(member.site, member.printer),
            gcode_filter=topic_filter(
                TopicKind.PRINTER_GCODE, site=member.site, printer=member.printer
            ),
        )
        printer = SwarmPrinter(
            member.site,
            member.printer,
            member.profile,
            topics,
            speed=s.speed,
            progress_step_percent=s.progress_step_percent,
            plate_failure_rate=s.plate_failure_rate,
            rng=random.Random(self._rng.random()),
        )
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"makerfarm-agent-{member.site}-{member.printer}",
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        if s.tls:
            client.tls_set()
        client.max_queued_messages_set(0)
        connection = _Connection(printer, client)
        client.user_data_set(connection)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write

        def send(topic: str, payload: bytes, qos: int, retain: bool) -> None:
            client.publish(topic, payload, qos=qos, retain=retain)
            self.counters.events += topic == topics.events

        printer.send = send
        return connection

    # -- paho's callbacks (all on the swarm's thread) ----------------------------------

    def _on_socket_open(self, client: mqtt.Client, conn: _Connection, sock: Any) -> None:
        self._selector.register(sock, selectors.EVENT_READ, conn)

    def _on_socket_close(self, client: mqtt.Client, conn: _Connection, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)

    def _on_register_write(self, client: mqtt.Client, conn: _Connection, sock: Any) -> None:
        # Written by `_flush_writes` at the end of this pass: a small packet almost always
        # fits the socket buffer, so watching for writability (two epoll_ctl calls per
        # packet) is only needed when it does not.
        self._to_write.append(conn)

    def _on_unregister_write(self, client: mqtt.Client, conn: _Connection, sock: Any) -> None:
        if conn.write_selected:
            conn.write_selected = False
            with contextlib.suppress(KeyError, ValueError):  # the socket is already closed
                self._selector.modify(sock, selectors.EVENT_READ, conn)

    def _flush_writes(self) -> None:
        pending, self._to_write = self._to_write, []
        for conn in pending:
            client = conn.client
            if not conn.opened or conn.write_selected:
                continue
            client.loop_write()
            sock = client.socket()
            if client.want_write() and sock is not None and conn.opened:
                conn.write_selected = True
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)

    def _on_connect(
        self, client: mqtt.Client, conn: _Connection, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            log.warning("%s: the broker refused the connection: %s", conn.printer.printer, reason)
            return
        conn.connected, conn.backoff_s = True, RECONNECT_MIN_S
        self.counters.connects += 1
        topics = conn.printer.topics
        client.subscribe([(topics.cmd, 1), (topics.gcode_filter, 1)])
        conn.printer.forget_last()
        self._publish_state(conn)

    def _on_disconnect(
        self, client: mqtt.Client, conn: _Connection, flags: Any, reason: Any, properties: Any
    ) -> None:
        if conn.connected:
            self.counters.disconnects += 1
        conn.connected = conn.opened = False
        conn.retry_at = time.monotonic() + conn.backoff_s
        conn.backoff_s = min(RECONNECT_MAX_S, conn.backoff_s * 2)

    def _on_message(
        self, client: mqtt.Client, conn: _Connection, message: mqtt.MQTTMessage
    ) -> None:
        self.counters.inbound += 1
        conn.printer.on_message(message.topic, bytes(message.payload), time.monotonic())
        if conn.printer.changed():
            self._publish_state(conn)

    # -- publishing --------------------------------------------------------------------

    def _publish_state(self, conn: _Connection) -> None:
        printer = conn.printer
        conn.client.publish(printer.topics.state, printer.state(), qos=1, retain=True)
        self.counters.states += 1

    def _publish_telemetry(self, conn: _Connection) -> None:
        hot = conn.printer.plate is not None
        temperatures = (
            ToolTemperature(
                name="T0", current_c=215.0 if hot else 22.0, target_c=215.0 if hot else 0.0
            ),
            ToolTemperature(
                name="bed", current_c=60.0 if hot else 22.0, target_c=60.0 if hot else 0.0
            ),
        )
        topic = printer_telemetry_topic(conn.printer.site, conn.printer.printer)
        payload = encode(Telemetry(temperatures=temperatures, at=datetime.now(UTC)))
        conn.client.publish(topic, payload, qos=0)
        self.counters.telemetry += 1

    # -- the loop ----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the swarm is already running")
        now = time.monotonic()
        s = self.settings
        for index in range(len(self._connections)):
            # Spread the printers' reports over the interval, as independent Pis would be.
            self._due.append((now + self._rng.uniform(0, s.state_interval_s), 0, index))
            if s.telemetry_interval_s > 0:
                self._due.append((now + self._rng.uniform(0, s.telemetry_interval_s), 1, index))
        heapq.heapify(self._due)
        self._thread = threading.Thread(target=self._run, name="swarm", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Leave `offline` behind for every printer, disconnect, end the thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        thread.join(timeout=STOP_FLUSH_S + 10)
        self._selector.close()

    @property
    def connected(self) -> int:
        return sum(conn.connected for conn in self._connections)

    def wait_connected(self, timeout_s: float) -> bool:
        """Wait (bounded) until every printer is connected."""
        deadline = time.monotonic() + timeout_s
        while self.connected < len(self._connections):
            if time.monotonic() >= deadline or self._thread is None:
                return False
            self._stopping.wait(0.05)
        return True

    def printers(self) -> list[SwarmPrinter]:
        return [conn.printer for conn in self._connections]

    def _run(self) -> None:
        last_tick = last_misc = time.monotonic()
        while not self._stopping.is_set():
            now = time.monotonic()
            self._open_some(now)
            wait = self.settings.tick_s - (now - last_tick)
            if self._due:
                wait = min(wait, self._due[0][0] - now)
            with self._lock:
                self._pump(max(0.0, wait))
                now = time.monotonic()
                if now - last_tick >= self.settings.tick_s:
                    self._tick(now, now - last_tick)
                    last_tick = now
                self._publish_due(now)
                if now - last_misc >= MISC_EVERY_S:
                    for conn in self._connections:
                        if conn.opened:
                            conn.client.loop_misc()
                    last_misc = now
                self._flush_writes()
        self._leave()

    def _pump(self, timeout_s: float) -> None:
        for key, mask in self._selector.select(timeout_s):
            client = key.data.client
            if mask & selectors.EVENT_READ:
                client.loop_read()
            if mask & selectors.EVENT_WRITE and key.data.opened:
                client.loop_write()
        self._flush_writes()

    def _open_some(self, now: float) -> None:
        opened = 0
        for conn in self._connections:
            if conn.opened or now < conn.retry_at:
                continue
            if opened >= CONNECTS_PER_PASS:
                return
            opened += 1
            self._open(conn, now)

    def _open(self, conn: _Connection, now: float) -> None:
        s = self.settings
        printer = conn.printer
        if conn.retry_at:  # a reconnect: a new connection number and its will
            printer.connection += 1
        conn.client.will_set(printer.topics.state, printer.will(), qos=1, retain=True)
        try:
            conn.client.connect(s.host, s.port, keepalive=s.keepalive_s)
            conn.opened = True
            sock = conn.client.socket()
            if isinstance(sock, socket.socket):  # small state messages: send them at once
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as error:
            log.warning(
                "%s: cannot reach the broker at %s:%s: %s", printer.printer, s.host, s.port, error
            )
            conn.retry_at = now + conn.backoff_s
            conn.backoff_s = min(RECONNECT_MAX_S, conn.backoff_s * 2)

    def _tick(self, now: float, dt_s: float) -> None:
        for conn in self._connections:
            printer = conn.printer
            if printer.plate is None and not printer.waiting:
                continue
            printer.advance(now, dt_s)
            if printer.changed():
                self._publish_state(conn)

    def _publish_due(self, now: float) -> None:
        s = self.settings
        while self._due and self._due[0][0] <= now:
            when, kind, index = heapq.heappop(self._due)
            conn = self._connections[index]
            if kind == 0:
                if conn.connected:
                    self._publish_state(conn)
                interval = s.state_interval_s
            else:
                if conn.connected:
                    self._publish_telemetry(conn)
                interval = s.telemetry_interval_s
            # Keep each printer's own rhythm; a late pass does not bunch them together.
            heapq.heappush(self._due, (max(when + interval, now), kind, index))

    def _leave(self) -> None:
        """A clean shutdown: an `offline` state retained for each printer, then goodbye."""
        pending = []
        for conn in self._connections:
            if conn.connected:
                leaving = conn.printer.will()
                pending.append(
                    conn.client.publish(conn.printer.topics.state, leaving, qos=1, retain=True)
                )
        deadline = time.monotonic() + STOP_FLUSH_S
        while time.monotonic() < deadline and not all(info.is_published() for info in pending):
            self._pump(0.05)
        for conn in self._connections:
            if conn.opened:
                conn.client.disconnect()
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and any(conn.opened for conn in self._connections):
            self._pump(0.05)

    # -- figures -----------------------------------------------------------------------

    def summary(self) -> dict[str, float | int]:
        """What the swarm did so far (for the sim's report and the benchmark)."""
        with self._lock:
            printers = self.printers()
            elapsed = time.monotonic() - self.counters.started_at
            busy = sum(printer.busy_s for printer in printers)
            ended = [how for printer in printers for how in printer.ran.values()]
            return {
                "printers": len(printers),
                "connected": self.connected,
                "elapsed_s": round(elapsed, 3),
                "states_published": self.counters.states,
                "telemetry_published": self.counters.telemetry,
                "events_published": self.counters.events,
                "messages_received": self.counters.inbound,
                "reconnects": max(0, self.counters.connects - len(printers)),
                "plates_finished": ended.count("finished"),
                "plates_failed": ended.count("failed"),
                "plates_rejected": ended.count("rejected"),
                "parts_printed": sum(len(printer.printed_parts) for printer in printers),
                "utilisation": round(busy / (elapsed * len(printers)), 4) if printers else 0.0,
            }
