"""Staff commands and printer states through a running controller and a real mosquitto.

The test plays a printer's agent (it publishes the printer's retained state) and a site's
staff TUI (it sends staff commands and reads the replies and the fleet summaries)."""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from controller.config import BrokerAddress, ControllerSettings, Timing
from controller.demo import farm_toml
from protocol import topics
from protocol.codec import decode, encode
from protocol.messages.commands import BedCleared
from protocol.messages.fleet import FleetPrinterSummary
from protocol.messages.printer import PrinterState, PrinterStatus
from protocol.messages.staff import StaffBedCleared, StaffReply, StaffSpoolLoaded
from tests.e2e.harness import ControllerThread
from tests.support.mosquitto import Broker

WAIT_S = 30.0
SITE, PRINTER = "kreuzberg", "kb-ender"


class Peer:
    """A test client: publishes, and collects what arrives on its subscriptions."""

    def __init__(self, broker: Broker, *filters: str) -> None:
        self.inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.held: list[tuple[str, bytes]] = []
        ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe([(f, 1) for f in filters])
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = lambda c, u, m: self.inbox.put((m.topic, bytes(m.payload)))
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert ready.wait(WAIT_S)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(WAIT_S)

    def next_on(self, topic: str) -> bytes:
        """The next message on `topic`; messages on other topics wait for their turn."""
        for index, (got, payload) in enumerate(self.held):
            if got == topic:
                del self.held[index]
                return payload
        while True:
            got, payload = self.inbox.get(timeout=WAIT_S)
            if got == topic:
                return payload
            self.held.append((got, payload))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(scope="module")
def mosquitto(own_mosquitto: Broker) -> Broker:
    """This module's controller keeps its own broker: retained printer states left by other
    tests' demo farms must not change what the staff tests see."""
    return own_mosquitto


@pytest.fixture(scope="module")
def controller(
    mosquitto: Broker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControllerThread]:
    data = tmp_path_factory.mktemp("staff")
    farm = data / "farm.toml"
    farm.write_text(farm_toml())
    settings = ControllerSettings(
        broker=BrokerAddress(host=mosquitto.host, port=mosquitto.port),
        data_dir=data,
        farm_file=farm,
        client_id=f"staff-{uuid.uuid4().hex[:6]}",
        workers=1,
        timing=Timing(fleet_publish_interval_s=0.1, replan_min_interval_s=3600),
    )
    with ControllerThread(settings) as running:
        yield running


def _state(status: PrinterStatus, sequence: int, profile: str = "prusa-mk4") -> PrinterState:
    return PrinterState(
        state=status,
        profile_id=profile,
        agent_version="test",
        at=datetime.now(UTC),
        run_id="run1",
        connection=1,
        sequence=sequence,
    )


def _bed_cleared(printer: str = PRINTER) -> StaffBedCleared:
    return StaffBedCleared(
        command_id=f"s{uuid.uuid4().hex[:12]}",
        staff_user="ana",
        issued_at=datetime.now(UTC),
        printer_id=printer,
    )


def test_bed_cleared_is_answered_and_forwarded_to_the_printers_agent(
    mosquitto: Broker, controller: ControllerThread
) -> None:
    summary_topic = topics.fleet_printer_topic(SITE, PRINTER)
    staff = Peer(
        mosquitto,
        topics.staff_replies_topic(SITE),
        topics.printer_cmd_topic(SITE, PRINTER),
        summary_topic,
    )
    try:
        staff.publish(
            topics.printer_state_topic(SITE, PRINTER),
            encode(_state(PrinterStatus.AWAITING_BED_CLEAR, 1, "creality-ender3-v2")),
            retain=True,
        )
        # The controller must know the bed is full before staff say it is clear.
        _until_state(staff, summary_topic, PrinterStatus.AWAITING_BED_CLEAR)
        command = _bed_cleared()
        staff.publish(topics.staff_cmd_topic(SITE), encode(command))
        reply = decode(staff.next_on(topics.staff_replies_topic(SITE)), StaffReply)
        forwarded = decode(staff.next_on(topics.printer_cmd_topic(SITE, PRINTER)), BedCleared)
        # Delivered again (QoS 1, or the controller died before forwarding it): the same
        # answer, and the agent is told again (it takes a repeat in its stride).
        staff.publish(topics.staff_cmd_topic(SITE), encode(command))
        again = decode(staff.next_on(topics.staff_replies_topic(SITE)), StaffReply)
        repeated = decode(staff.next_on(topics.printer_cmd_topic(SITE, PRINTER)), BedCleared)
    finally:
        staff.close()
    assert (reply.command_id, reply.accepted) == (command.command_id, True)
    assert forwarded.staff_user == "ana"
    assert forwarded.plate_id is None  # the printer never had a plate
    assert (again.command_id, again.accepted, again.reason) == (
        command.command_id,
        True,
        reply.reason,
    )
    assert repeated.staff_user == "ana"


def test_a_repeated_staff_command_gets_its_first_answer_and_is_applied_once(
    mosquitto: Broker, controller: ControllerThread
) -> None:
    staff = Peer(mosquitto, topics.staff_replies_topic(SITE))
    command = StaffSpoolLoaded(
        command_id=f"s{uuid.uuid4().hex[:12]}",
        staff_user="ana",
        issued_at=datetime.now(UTC),
        printer_id=PRINTER,
        material="PETG",
        colour="orange",
    )
    try:
        replies = []
        for _ in range(2):
            staff.publish(topics.staff_cmd_topic(SITE), encode(command))
            replies.append(decode(staff.next_on(topics.staff_replies_topic(SITE)), StaffReply))
    finally:
        staff.close()
    assert [r.accepted for r in replies] == [True, True]
    assert replies[0].reason == replies[1].reason
    assert "PETG orange" in replies[0].reason


def test_a_command_for_another_sites_printer_is_refused_with_a_reason(
    mosquitto: Broker, controller: ControllerThread
) -> None:
    staff = Peer(mosquitto, topics.staff_replies_topic("potsdam"))
    try:
        staff.publish(topics.staff_cmd_topic("potsdam"), encode(_bed_cleared(PRINTER)))
        reply = decode(staff.next_on(topics.staff_replies_topic("potsdam")), StaffReply)
    finally:
        staff.close()
    assert not reply.accepted
    assert PRINTER in reply.reason


def test_a_malformed_staff_command_is_refused_naming_the_field(
    mosquitto: Broker, controller: ControllerThread
) -> None:
    staff = Peer(mosquitto, topics.staff_replies_topic(SITE))
    body = encode(_bed_cleared()).replace(b'"printer_id":"kb-ender"', b'"printer_id":"KB 1"')
    try:
        staff.publish(topics.staff_cmd_topic(SITE), body)
        reply = decode(staff.next_on(topics.staff_replies_topic(SITE)), StaffReply)
    finally:
        staff.close()
    assert not reply.accepted
    assert "printer_id" in reply.reason


def test_printer_states_reach_the_fleet_summary_and_a_will_marks_it_offline(
    mosquitto: Broker, controller: ControllerThread
) -> None:
    printer = "wd-ender-1"
    tui = Peer(mosquitto, topics.fleet_printer_topic("wedding", printer))
    summary_topic = topics.fleet_printer_topic("wedding", printer)
    try:
        tui.publish(
            topics.printer_state_topic("wedding", printer),
            encode(_state(PrinterStatus.IDLE, 5, "creality-ender3-v2")),
            retain=True,
        )
        seen = _until_state(tui, summary_topic, PrinterStatus.IDLE)
        will = PrinterState(
            state=PrinterStatus.OFFLINE,
            agent_version="test",
            at=datetime.now(UTC),
            run_id="run1",
            connection=1,
            sequence=2**53 - 1,
        )
        tui.publish(topics.printer_state_topic("wedding", printer), encode(will), retain=True)
        offline = _until_state(tui, summary_topic, PrinterStatus.OFFLINE)
    finally:
        tui.close()
    assert (seen.site_id, seen.profile_id) == ("wedding", "creality-ender3-v2")
    assert offline.printer_id == printer


def _until_state(peer: Peer, topic: str, state: PrinterStatus) -> FleetPrinterSummary:
    while True:
        summary = decode(peer.next_on(topic), FleetPrinterSummary)
        if summary.state == state:
            return summary
