"""The in-process broker a newcomer gets when no --broker is given."""

from __future__ import annotations

import asyncio
import socket

import aiomqtt

from controller.embedded_broker import EmbeddedBroker


async def _retained_round_trip(port: int) -> bytes:
    async with aiomqtt.Client("127.0.0.1", port, identifier="writer") as writer:
        await writer.publish("makerfarm/v1/test", b"kept", qos=1, retain=True)
    async with aiomqtt.Client("127.0.0.1", port, identifier="reader") as reader:
        await reader.subscribe("makerfarm/v1/#", qos=1)
        async with asyncio.timeout(5):
            async for message in reader.messages:
                assert isinstance(message.payload, bytes)
                return message.payload
    raise AssertionError("no message")


def test_embedded_broker_serves_retained_messages_on_loopback() -> None:
    async def scenario() -> tuple[str, bytes]:
        async with EmbeddedBroker(port=0) as broker:
            return broker.address.host, await _retained_round_trip(broker.address.port)

    host, payload = asyncio.run(scenario())
    assert host == "127.0.0.1"
    assert payload == b"kept"


def test_embedded_broker_moves_to_a_free_port_when_its_port_is_taken() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]

        async def scenario() -> int:
            async with EmbeddedBroker(port=taken) as broker:
                await _retained_round_trip(broker.address.port)
                return broker.address.port

        assert asyncio.run(scenario()) != taken
