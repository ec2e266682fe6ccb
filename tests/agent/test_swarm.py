"""The swarm's printers speak the agent's protocol: plates, bed clear, refusals, Last Will."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from agent.swarm import Swarm, SwarmSettings
from agent.swarm_cli import generated_roster
from agent.swarm_printer import SwarmPrinter, Topics
from protocol import (
    BedCleared,
    CancelPart,
    EventKind,
    PrinterEvent,
    PrinterState,
    PrinterStatus,
    decode,
    encode,
)
from protocol.topics import TopicKind, printer_cmd_topic, printer_gcode_topic, topic_filter
from tests.agent.conftest import PROFILE, SITE, Plate, make_plate
from tests.support.mosquitto import Broker

PRINTER = "swarm-1"


class Wire:
    """A SwarmPrinter with everything it sends collected."""

    def __init__(self, speed: float = 60.0) -> None:
        topics = Topics(
            state="state", events="events", cmd=printer_cmd_topic(SITE, PRINTER), gcode_filter=""
        )
        self.printer = SwarmPrinter(SITE, PRINTER, PROFILE, topics, speed=speed)
        self.events: list[PrinterEvent] = []
        self.printer.send = self._sent
        self.now = 0.0

    def _sent(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        if topic == "events":
            self.events.append(decode(payload, PrinterEvent))

    def deliver(self, plate: Plate) -> None:
        self.printer.on_message(
            printer_gcode_topic(SITE, PRINTER, plate.command.gcode_sha256), plate.blob, self.now
        )
        self.printer.on_message(printer_cmd_topic(SITE, PRINTER), encode(plate.command), self.now)

    def command(self, message: object) -> None:
        self.printer.on_message(printer_cmd_topic(SITE, PRINTER), encode(message), self.now)  # type: ignore[arg-type]

    def run_for(self, seconds: float, step_s: float = 0.1) -> None:
        for _ in range(round(seconds / step_s)):
            self.now += step_s
            self.printer.advance(self.now, step_s)

    def kinds(self) -> list[EventKind]:
        return [event.kind for event in self.events]


def bed_cleared() -> BedCleared:
    return BedCleared(command_id="c-clear", issued_at=datetime.now(UTC))


def test_a_plate_is_received_started_printed_and_then_waits_for_the_bed_clear() -> None:
    wire = Wire()
    wire.deliver(make_plate("plate-1"))
    assert wire.printer.status() is PrinterStatus.HEATING
    wire.run_for(5.0)  # 60 s of heat-up and 60 s of print at speed 60 take 2 s
    assert wire.kinds()[0] is EventKind.PLATE_RECEIVED
    assert wire.kinds()[1] is EventKind.PLATE_STARTED
    assert wire.kinds()[-1] is EventKind.PLATE_FINISHED
    assert wire.events[-1].part_ids == ()  # nothing lost
    assert sorted(wire.printer.printed_parts) == [f"plate-1-part{i}" for i in range(3)]
    assert wire.printer.status() is PrinterStatus.AWAITING_BED_CLEAR
    state = decode(wire.printer.state(), PrinterState)
    assert state.state is PrinterStatus.AWAITING_BED_CLEAR and state.plate_id == "plate-1"


def test_the_next_plate_is_refused_until_staff_confirm_the_bed_clear() -> None:
    wire = Wire()
    wire.deliver(make_plate("plate-1"))
    wire.run_for(5.0)
    wire.deliver(make_plate("plate-2"))
    assert wire.events[-1].kind is EventKind.PLATE_REJECTED
    assert "bed_cleared" in wire.events[-1].details
    wire.command(bed_cleared())
    assert wire.events[-1].kind is EventKind.COMMAND_ACCEPTED
    wire.deliver(make_plate("plate-3"))
    assert wire.events[-1].kind is EventKind.PLATE_RECEIVED
    assert wire.events[-1].plate_id == "plate-3"


def test_a_plate_sent_again_is_acknowledged_and_never_printed_twice() -> None:
    wire = Wire()
    plate = make_plate("plate-1")
    wire.deliver(plate)
    wire.run_for(5.0)
    wire.deliver(plate)
    wire.run_for(5.0)
    assert wire.events[-1].kind is EventKind.PLATE_RECEIVED
    assert "not run again" in wire.events[-1].details
    assert len(wire.printer.printed_parts) == 3


def test_a_blob_that_does_not_match_its_sha256_never_runs() -> None:
    wire = Wire()
    plate = make_plate("plate-1")
    wire.printer.on_message(
        printer_gcode_topic(SITE, PRINTER, plate.command.gcode_sha256),
        plate.blob + b"tampered",
        wire.now,
    )
    wire.printer.on_message(printer_cmd_topic(SITE, PRINTER), encode(plate.command), wire.now)
    wire.run_for(31.0, step_s=1.0)  # the run_plate waits for a good blob, then gives up
    assert wire.kinds() == [EventKind.PLATE_REJECTED]
    assert "did not arrive" in wire.events[0].details
    assert wire.printer.printed_parts == []


def test_a_cancelled_part_is_reported_and_left_out_of_the_printed_ones() -> None:
    wire = Wire()
    wire.deliver(make_plate("plate-1"))
    wire.run_for(1.5)
    wire.command(
        CancelPart(
            command_id="c-cancel",
            issued_at=datetime.now(UTC),
            plate_id="plate-1",
            part_id="plate-1-part1",
        )
    )
    wire.run_for(5.0)
    cancelled = next(e for e in wire.events if e.kind is EventKind.PART_CANCELLED)
    assert cancelled.part_ids == ("plate-1-part1",) and cancelled.command_id == "c-cancel"
    assert wire.events[-1].kind is EventKind.PLATE_FINISHED
    assert wire.events[-1].part_ids == ("plate-1-part1",)
    assert sorted(wire.printer.printed_parts) == ["plate-1-part0", "plate-1-part2"]


@pytest.mark.broker
def test_every_swarm_printer_has_its_own_retained_state_and_leaves_offline(
    mosquitto: Broker, tmp_path: Path
) -> None:
    roster = generated_roster(2, 20, [PROFILE])
    states: dict[str, PrinterState] = {}
    seen_all_online, seen_all_offline = threading.Event(), threading.Event()

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        states[message.topic] = decode(bytes(message.payload), PrinterState)
        live = [s.state for s in states.values()]
        if len(live) == len(roster):
            if all(state is PrinterStatus.IDLE for state in live):
                seen_all_online.set()
            if all(state is PrinterStatus.OFFLINE for state in live):
                seen_all_offline.set()

    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="swarm-watcher")
    watcher.on_message = on_message
    watcher.connect(mosquitto.host, mosquitto.port)
    watcher.subscribe(topic_filter(TopicKind.PRINTER_STATE, site="site-001"), qos=1)
    watcher.subscribe(topic_filter(TopicKind.PRINTER_STATE, site="site-002"), qos=1)
    watcher.loop_start()
    swarm = Swarm(
        roster, SwarmSettings(host=mosquitto.host, port=mosquitto.port, telemetry_interval_s=0)
    )
    try:
        swarm.start()
        assert swarm.wait_connected(20)
        assert seen_all_online.wait(20)
        assert {topic.split("/")[5] for topic in states} == {m.printer for m in roster}
    finally:
        swarm.stop()
    assert seen_all_offline.wait(20)
    watcher.loop_stop()
    watcher.disconnect()
