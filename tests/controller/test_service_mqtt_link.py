"""The controller's MQTT link against a real mosquitto: routes, acks, ordered outbox."""

from __future__ import annotations

import asyncio

import aiomqtt

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
