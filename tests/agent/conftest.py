"""Fixtures for the agent's tests: a test controller on the real broker, plates of
hand-written G-code that pass generic-220's safety check, and agents to run them."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from agent.agent import Agent
from agent.config import AgentConfig, BrokerSettings, FaultSettings, SimulatedBackendSettings
from firmware_profiles import load_profile, render_template, template_values
from firmware_profiles.gcode import analyze
from protocol import (
    EventKind,
    Message,
    PlatePart,
    PrinterEvent,
    PrinterState,
    RunPlate,
    compress_gcode,
    decode,
    encode,
    sha256_hex,
)
from protocol.topics import (
    printer_cmd_topic,
    printer_events_topic,
    printer_gcode_topic,
    printer_state_topic,
)
from tests.support.mosquitto import Broker

SITE = "lab"
PROFILE = "generic-220"
WAIT_S = 20.0
PLATE_SECONDS = 1.5  # how long a plate takes at the speed the tests choose


def object_gcode(label: str, index: int, x: float, y: float, dwell_s: float) -> str:
    """One labelled 10 x 10 mm square, two layers, and a dwell that sets its print time."""
    lines = [f'M486 S{index} A"{label}"']
    e = 0.0
    for z in (0.2, 0.4):
        lines.append(f"G1 X{x} Y{y} Z{z} F6000")
        for dx, dy in ((10, 0), (10, 10), (0, 10), (0, 0)):
            e += 0.35
            lines.append(f"G1 X{x + dx} Y{y + dy} E{e:.3f} F1200")
    lines.append("G92 E0")
    lines.append(f"G4 S{dwell_s:g}")
    lines.append("M486 S-1")
    return "\n".join(lines)


def plate_gcode(labels: list[str], dwell_s: float = 10.0, extra: str = "") -> bytes:
    """A program for generic-220 with PLA: start template, labelled objects, end template."""
    profile = load_profile(PROFILE)
    values = template_values(profile, "PLA")
    body = [f"M486 T{len(labels)}"]
    body += [object_gcode(label, i, 20 + 30 * i, 40, dwell_s) for i, label in enumerate(labels)]
    program = "\n".join(
        [
            render_template(profile.gcode.start, values),
            *body,
            extra,
            render_template(profile.gcode.end, values),
        ]
    )
    return program.encode()


@dataclass
class Plate:
    command: RunPlate
    blob: bytes


def make_plate(
    plate_id: str,
    parts: int = 3,
    *,
    gcode: bytes | None = None,
    material: str = "PLA",
    command_id: str | None = None,
) -> Plate:
    labels = [f"{plate_id}-obj{i}" for i in range(parts)]
    program = gcode if gcode is not None else plate_gcode(labels)
    blob = compress_gcode(program)
    command = RunPlate(
        command_id=command_id or f"cmd-{plate_id}",
        issued_at=datetime.now(UTC),
        plate_id=plate_id,
        profile_id=PROFILE,
        gcode_sha256=sha256_hex(blob),
        gcode_gzip_bytes=len(blob),
        gcode_bytes=len(program),
        parts=tuple(
            PlatePart(part_id=f"{plate_id}-part{i}", label=label) for i, label in enumerate(labels)
        ),
        material=material,
        colour="black",
        estimated_seconds=60.0,
    )
    return Plate(command, blob)


def speed_for(program: bytes) -> float:
    """The speed factor that makes `program` take about PLATE_SECONDS."""
    seconds = float(analyze(program, load_profile(PROFILE)).print_seconds)
    return max(1.0, seconds / PLATE_SECONDS)


class TestController:
    """Plays the controller: subscribes to one printer's state and events, sends commands."""

    __test__ = False

    def __init__(self, broker: Broker, printer: str, *, persistent: bool = False) -> None:
        self.broker = broker
        self.printer = printer
        self.events: list[PrinterEvent] = []
        self.states: list[PrinterState] = []
        self.raw_states: list[bytes] = []
        self._changed = threading.Condition()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-controller-{printer}",
            clean_session=not persistent,
        )
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(1, 1)
        self._subscribed = threading.Event()
        self._client.on_subscribe = lambda *_: self._subscribed.set()

    def start(self) -> None:
        self._client.connect(self.broker.host, self.broker.port)
        self._client.loop_start()
        assert self._subscribed.wait(WAIT_S), "the test controller could not subscribe"

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe(
            [
                (printer_state_topic(SITE, self.printer), 1),
                (printer_events_topic(SITE, self.printer), 1),
            ]
        )

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._changed:
            if message.topic.endswith("/events"):
                self.events.append(decode(message.payload, PrinterEvent))
            elif message.payload:
                self.raw_states.append(message.payload)
                self.states.append(decode(message.payload, PrinterState))
            self._changed.notify_all()

    def publish(self, message: Message) -> None:
        info = self._client.publish(printer_cmd_topic(SITE, self.printer), encode(message), qos=1)
        info.wait_for_publish(WAIT_S)

    def send_plate(self, plate: Plate, blob: bytes | None = None) -> None:
        topic = printer_gcode_topic(SITE, self.printer, plate.command.gcode_sha256)
        self._client.publish(topic, plate.blob if blob is None else blob, qos=1)
        self.publish(plate.command)

    def wait_for(
        self, predicate: Callable[[TestController], bool], what: str, timeout: float = WAIT_S
    ) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout):
                kinds = [(e.kind.value, e.plate_id) for e in self.events]
                state = self.states[-1].state.value if self.states else None
                raise AssertionError(
                    f"timed out waiting for {what}; events {kinds}; last state {state}"
                )

    def wait_event(
        self, kind: EventKind, plate_id: str | None = None, command_id: str | None = None
    ) -> PrinterEvent:
        def found(controller: TestController) -> bool:
            return controller.find(kind, plate_id, command_id) is not None

        self.wait_for(found, f"{kind.value} {plate_id or ''} {command_id or ''}")
        event = self.find(kind, plate_id, command_id)
        assert event is not None
        return event

    def find(
        self, kind: EventKind, plate_id: str | None = None, command_id: str | None = None
    ) -> PrinterEvent | None:
        for event in list(self.events):
            if (
                event.kind is kind
                and plate_id in (None, event.plate_id)
                and command_id in (None, event.command_id)
            ):
                return event
        return None

    def kinds(self, plate_id: str) -> list[EventKind]:
        return [event.kind for event in self.events if event.plate_id == plate_id]

    def wait_state(self, state: str) -> PrinterState:
        self.wait_for(
            lambda c: bool(c.states) and c.states[-1].state.value == state, f"state {state}"
        )
        return self.states[-1]


def agent_config(
    broker: Broker,
    spool_dir: Path,
    printer: str,
    *,
    speed: float = 1.0,
    faults: list[FaultSettings] | None = None,
) -> AgentConfig:
    return AgentConfig(
        site=SITE,
        printer=printer,
        profile=PROFILE,
        spool_dir=spool_dir,
        state_interval_s=0.5,
        telemetry_interval_s=0.5,
        progress_step_percent=25,
        broker=BrokerSettings(url=broker.url, reconnect_min_s=0.05, reconnect_max_s=0.2),
        backend=SimulatedBackendSettings(speed=speed, heat_rate_c_s=1000.0, faults=faults or []),
    )


@pytest.fixture
def printer() -> str:
    """A fresh printer id per test: retained states and sessions never leak between tests."""
    return f"p{uuid.uuid4().hex[:10]}"


@pytest.fixture
def controller(mosquitto: Broker, printer: str) -> Iterator[TestController]:
    test_controller = TestController(mosquitto, printer)
    test_controller.start()
    yield test_controller
    test_controller.stop()


@pytest.fixture
def start_agent(mosquitto: Broker, tmp_path: Path, printer: str) -> Iterator[Callable[..., Agent]]:
    """Start agents for the test's printer; each test gets its own spool directory."""
    agents: list[Agent] = []

    def start(**options: Any) -> Agent:
        broker = options.pop("broker", mosquitto)
        speed = options.pop("speed", None) or speed_for(plate_gcode(["a", "b", "c"]))
        config = agent_config(broker, tmp_path / "spool", printer, speed=speed, **options)
        agent = Agent(config, blob_wait_s=2.0)
        agent.start()
        agents.append(agent)
        return agent

    yield start
    for agent in agents:
        if agent.running:
            agent.stop()
