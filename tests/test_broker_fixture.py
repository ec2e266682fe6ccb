"""The `mosquitto` fixture is a real broker: a retained PrinterState reaches a late
subscriber byte for byte, and an agent's Last Will fires when its socket drops without
DISCONNECT."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import paho.mqtt.client as mqtt
import pytest

from protocol import PrinterState, PrinterStatus, decode, encode, offline_will
from protocol.topics import TOPICS, TopicKind, printer_state_topic
from tests.protocol.samples import AT, SAMPLES
from tests.support.mosquitto import Broker

pytestmark = pytest.mark.broker
WAIT_S = 10.0
STATE_QOS = TOPICS[TopicKind.PRINTER_STATE].qos


class Inbox:
    """Messages one client received, with an event per arrival to wait on."""

    def __init__(self) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self.arrived = threading.Event()

    def on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        self.messages.append(msg)
        self.arrived.set()

    def next(self) -> mqtt.MQTTMessage:
        assert self.arrived.wait(WAIT_S), "no message arrived within the bound"
        self.arrived.clear()
        return self.messages[-1]


@contextmanager
def connected(
    broker: Broker, name: str, will: tuple[str, bytes] | None = None
) -> Iterator[mqtt.Client]:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name)
    up = threading.Event()
    client.on_connect = lambda *_args: up.set()
    if will is not None:
        client.will_set(will[0], will[1], qos=STATE_QOS, retain=True)
    client.connect(broker.host, broker.port, keepalive=30)
    client.loop_start()
    try:
        assert up.wait(WAIT_S), f"{name} did not connect within {WAIT_S}s"
        yield client
    finally:
        client.disconnect()  # first, so the network thread wakes and ends at once
        client.loop_stop()


def subscribe(client: mqtt.Client, topic: str) -> Inbox:
    inbox = Inbox()
    subscribed = threading.Event()
    client.on_message = inbox.on_message
    client.on_subscribe = lambda *_args: subscribed.set()
    client.subscribe(topic, qos=STATE_QOS)
    assert subscribed.wait(WAIT_S), "subscription not acknowledged"
    return inbox


def test_late_subscriber_gets_the_retained_state_exactly(mosquitto: Broker) -> None:
    topic = printer_state_topic("fixture-site", "retained-1")
    payload = encode(SAMPLES["printer.state"])
    with connected(mosquitto, "agent-retained") as agent:
        info = agent.publish(topic, payload, qos=STATE_QOS, retain=True)
        info.wait_for_publish(WAIT_S)
        assert info.is_published()
    with connected(mosquitto, "tui-retained") as tui:
        msg = subscribe(tui, topic).next()
    assert msg.retain
    assert msg.payload == payload
    assert decode(bytes(msg.payload), PrinterState) == SAMPLES["printer.state"]


def test_will_arrives_when_the_agent_drops_without_disconnect(mosquitto: Broker) -> None:
    topic = printer_state_topic("fixture-site", "will-1")
    will = encode(offline_will(agent_version="0.1.0", run_id="run-w", connection=1, at=AT))
    with connected(mosquitto, "tui-will") as tui:
        inbox = subscribe(tui, topic)
        agent = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="agent-will")
        agent.will_set(topic, will, qos=STATE_QOS, retain=True)
        agent.connect(mosquitto.host, mosquitto.port, keepalive=30)
        assert agent.loop(timeout=WAIT_S) == mqtt.MQTT_ERR_SUCCESS  # reads the CONNACK
        assert agent.is_connected()
        sock = agent.socket()
        assert sock is not None
        sock.close()  # the link dies: no DISCONNECT packet is ever sent
        msg = inbox.next()
    assert msg.payload == will
    state = decode(bytes(msg.payload), PrinterState)
    assert state.state is PrinterStatus.OFFLINE
    assert state.run_id == "run-w"


def test_a_clean_disconnect_does_not_fire_the_will(mosquitto: Broker) -> None:
    topic = printer_state_topic("fixture-site", "clean-1")
    online = encode(SAMPLES["printer.state"])
    will = encode(offline_will(agent_version="0.1.0", run_id="run-c", connection=1, at=AT))
    with connected(mosquitto, "agent-clean", will=(topic, will)) as agent:
        agent.publish(topic, online, qos=STATE_QOS, retain=True).wait_for_publish(WAIT_S)
    # After a DISCONNECT the retained message is still the online state, not the will.
    with connected(mosquitto, "tui-clean") as tui:
        assert subscribe(tui, topic).next().payload == online
