"""`makerfarm controller` as a newcomer runs it: no broker installed, then SIGTERM."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from controller.config import BrokerAddress
from protocol import topics
from protocol.codec import decode
from protocol.messages.fleet import QueueSummary
from tests.e2e.harness import ControllerProcess


def _logged(log: Path, event: str) -> dict[str, object]:
    for line in log.read_text().splitlines():
        if line.startswith("{") and json.loads(line).get("event") == event:
            entry: dict[str, object] = json.loads(line)
            return entry
    raise AssertionError(f"{event!r} not logged")


def test_controller_runs_its_own_loopback_broker_and_stops_cleanly_on_sigterm(
    tmp_path: Path,
) -> None:
    log = tmp_path / "controller.log"
    controller = ControllerProcess(["--port", "0", "--data", str(tmp_path / "data")], log)
    controller.start()
    try:
        controller.wait_until_logged('"controller running"')
        address = BrokerAddress.parse(
            str(_logged(log, "embedded broker listening (loopback only)")["url"])
        )
        summary = _retained_queue_summary(address)
    finally:
        code = controller.terminate()
    assert address.host == "127.0.0.1"
    assert summary.jobs == ()
    assert code == 0
    assert f"embedded broker listening on {address.url}" in log.read_text()
    _logged(log, "controller stopped")
    assert (tmp_path / "data" / "makerfarm.db").is_file()


def _retained_queue_summary(address: BrokerAddress) -> QueueSummary:
    got: list[bytes] = []
    arrived = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.on_connect = lambda c, *_: c.subscribe(topics.fleet_queue_topic(), 1)

    def on_message(c: mqtt.Client, u: object, message: mqtt.MQTTMessage) -> None:
        got.append(bytes(message.payload))
        arrived.set()

    client.on_message = on_message
    client.connect(address.host, address.port)
    client.loop_start()
    try:
        assert arrived.wait(30), "no retained fleet/queue summary from the controller"
    finally:
        client.disconnect()
        client.loop_stop()
    return decode(got[0], QueueSummary)


def test_a_bad_broker_url_is_refused_with_the_reason(tmp_path: Path) -> None:
    log = tmp_path / "controller.log"
    controller = ControllerProcess(["--broker", "http://example:1883"], log)
    controller.start()
    assert controller.proc is not None
    assert controller.proc.wait(60) == 2
    assert "scheme 'http'" in log.read_text()
