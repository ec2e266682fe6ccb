"""The controller's MQTT link against a real mosquitto: routes, acks, ordered outbox."""

from __future__ import annotations

import asyncio
import hashlib

import aiomqtt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from controller.config import BrokerAddress
from controller.mqtt_link import Inbound, MqttLink
from tests.support.mosquitto import Broker


def _address(broker: Broker) -> BrokerAddress:
    return BrokerAddress(host=broker.host, port=broker.port)


async def _publish(broker: Broker, topic: str, payloads: list[bytes]) -> None:
    async with aiomqtt.Client(broker.host, broker.port) as client:
        for payload in payloads:
            await client.publish(topic, payload, qos=1)


def test_messages_reach_the_handler_of_their_route(mosquitto: Broker) -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        submits: list[str] = []
        states: list[str] = []
        done = asyncio.Event()

        async def on_submit(message: Inbound) -> None:
            submits.append(message.payload.decode())
            message.ack()

        async def on_state(message: Inbound) -> None:
            states.append(message.topic)
            message.ack()
            done.set()

        link = MqttLink(_address(mosquitto), "link-routes")
        link.route("routes/shops/+/submit", on_submit)
        link.route("routes/sites/#", on_state)
        async with link:
            await asyncio.wait_for(link.connected.wait(), 5)
            await _publish(mosquitto, "routes/shops/s1/submit", [b"one", b"two"])
            await _publish(mosquitto, "routes/sites/a/state", [b"x"])
            await asyncio.wait_for(done.wait(), 5)
        return submits, states

    submits, states = asyncio.run(scenario())
    assert submits == ["one", "two"]
    assert states == ["routes/sites/a/state"]


def test_a_message_not_acknowledged_before_a_crash_is_delivered_again(mosquitto: Broker) -> None:
    async def receive_once(ack: bool, publish: bool) -> list[bytes]:
        got: list[bytes] = []
        arrived = asyncio.Event()

        async def handler(message: Inbound) -> None:
            got.append(message.payload)
            if ack:
                message.ack()
            arrived.set()

        link = MqttLink(_address(mosquitto), "link-redelivery")
        link.route("redelivery/events", handler)
        async with link:
            await asyncio.wait_for(link.connected.wait(), 5)
            if publish:
                await _publish(mosquitto, "redelivery/events", [b"plate finished"])
            await asyncio.wait_for(arrived.wait(), 5)
        return got

    async def scenario() -> tuple[list[bytes], list[bytes]]:
        first = await receive_once(ack=False, publish=True)  # processed but never committed
        second = await receive_once(ack=True, publish=False)
        return first, second

    first, second = asyncio.run(scenario())
    assert first == [b"plate finished"]
    assert second == [b"plate finished"]


def test_outbox_is_published_in_order_including_what_was_queued_before_connecting(
    mosquitto: Broker,
) -> None:
    async def scenario() -> list[bytes]:
        received: list[bytes] = []
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as watcher:
            await watcher.subscribe("outbox/status", qos=1)
            link = MqttLink(_address(mosquitto), "link-outbox")
            for n in range(50):
                link.publish("outbox/status", str(n).encode())
            async with link:
                async with asyncio.timeout(10):
                    async for message in watcher.messages:
                        assert isinstance(message.payload, bytes)
                        received.append(message.payload)
                        if len(received) == 50:
                            break
        return received

    assert asyncio.run(scenario()) == [str(n).encode() for n in range(50)]


def test_a_burst_of_small_and_large_messages_arrives_whole_and_in_order(mosquitto: Broker) -> None:
    """The link parses PUBLISHes from its own read buffer: packets that straddle two reads,
    bodies larger than one read, QoS 0 and 1, a plain-function handler, and every QoS 1
    message acknowledged (none comes back on the next connection)."""
    sizes = [17, 300, 70_000, 1, 5, 128, 16_383, 16_384, 3, 2, 9, 40, 300_000, 3, 7, 1, 1, 2, 3, 4]
    expected = [
        (f"burst/qos{n % 2}/x", bytes([n % 251]) * sizes[n % len(sizes)]) for n in range(400)
    ]

    async def scenario() -> tuple[list[tuple[str, bytes]], list[bytes]]:
        got: list[tuple[str, bytes]] = []
        done = asyncio.Event()

        def handler(message: Inbound) -> None:
            got.append((message.topic, message.payload))
            message.ack()
            if len(got) == len(expected):
                done.set()

        link = MqttLink(_address(mosquitto), "link-burst")
        link.route("burst/+/x", handler)
        async with link:
            await asyncio.wait_for(link.connected.wait(), 5)
            await asyncio.to_thread(_publish_all, mosquitto, expected)
            await asyncio.wait_for(done.wait(), 20)
        again: list[bytes] = []
        marker = asyncio.Event()

        def late(message: Inbound) -> None:
            again.append(message.payload)
            if message.payload == b"marker":
                marker.set()

        relink = MqttLink(_address(mosquitto), "link-burst")
        relink.route("burst/+/x", late)
        async with relink:
            await asyncio.wait_for(relink.connected.wait(), 5)
            await _publish(mosquitto, "burst/qos1/x", [b"marker"])
            await asyncio.wait_for(marker.wait(), 5)
        return got, again

    got, again = asyncio.run(scenario())
    assert len(got) == len(expected)
    for qos in ("qos0", "qos1"):  # MQTT keeps order within a QoS level, not across them
        assert [_digest(m) for m in got if qos in m[0]] == [
            _digest(m) for m in expected if qos in m[0]
        ]
    assert again == [b"marker"]


def _publish_all(broker: Broker, messages: list[tuple[str, bytes]]) -> None:
    """QoS 0 and 1 alternately, from one paho client, all written before returning."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="burst-publisher")
    client.max_inflight_messages_set(0)  # QoS 1 never held back behind QoS 0: one order
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        infos = [
            client.publish(topic, payload, qos=n % 2) for n, (topic, payload) in enumerate(messages)
        ]
        for info in infos:
            info.wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def _digest(message: tuple[str, bytes]) -> tuple[str, int, str]:
    topic, payload = message
    return topic, len(payload), hashlib.sha256(payload).hexdigest()[:16]
