"""Fixtures for the security tests: a provisioned farm database, brokers running the
generated configuration, and MQTT clients that log in as one identity each."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine

from controller.db import create_engine_for, migrate, unit_of_work
from controller.security import identities as ids
from controller.security.broker_config import BrokerOptions, write_broker_config
from tests.conftest import require_mosquitto
from tests.support.mosquitto import Broker, free_port, run_mosquitto

WAIT_S = 10.0


@dataclass
class Keys:
    """The keys printed when the test farm was provisioned, by username."""

    by_user: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, username: str) -> str:
        return self.by_user[username]


def provision_test_farm(engine: Engine) -> Keys:
    """Two sites, a printer at each, two shops, staff at each site, a controller, a bridge."""
    keys = Keys()
    with unit_of_work(engine) as session:
        ids.add_site(session, "site1", lat=52.5, lon=13.4)
        ids.add_site(session, "site2", lat=48.1, lon=11.6)
        issued = [
            ids.add_printer(session, "p1", site_id="site1", profile_id="prusa-mk4"),
            ids.add_printer(session, "p2", site_id="site2", profile_id="prusa-mk4"),
            ids.add_shop(session, "shop-a"),
            ids.add_shop(session, "shop-b"),
            ids.add_staff(session, "alice", site_id="site1"),
            ids.add_staff(session, "bob", site_id="site2"),
            ids.add_controller(session),
            ids.add_bridge(session, "site1"),
        ]
    keys.by_user = {i.username: i.key for i in issued}
    return keys


@pytest.fixture
def farm_db(tmp_path: Path) -> Iterator[tuple[Engine, Keys, str]]:
    url = f"sqlite:///{tmp_path / 'farm.db'}"
    migrate(url)
    engine = create_engine_for(url)
    keys = provision_test_farm(engine)
    yield engine, keys, url
    engine.dispose()


def config_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


@pytest.fixture
def start_generated_broker(tmp_path: Path) -> Iterator[Callable[..., Broker]]:
    """Write the broker configuration for an engine's identities and run mosquitto on it."""
    require_mosquitto()
    from contextlib import ExitStack

    with ExitStack() as stack:

        def start(
            engine: Engine, options: BrokerOptions | None = None, name: str = "broker"
        ) -> Broker:
            options = options or BrokerOptions(port=free_port(), bind="127.0.0.1")
            with unit_of_work(engine) as session:
                identities = ids.list_identities(session)
                session.expunge_all()
            paths = write_broker_config(tmp_path / name / "config", identities, options)
            # run_mosquitto adds a listener of its own on another port; the generated
            # configuration's listeners are the ones the tests use.
            broker = stack.enter_context(
                run_mosquitto(tmp_path / name, config_lines(paths["mosquitto.conf"]))
            )
            tls_port = options.tls.port if options.tls is not None else None
            return replace(broker, port=options.port or tls_port or broker.port)

        yield start


class Client:
    """A paho client logged in as one identity; received messages go into a queue."""

    def __init__(
        self,
        port: int,
        username: str | None,
        password: str | None,
        tls: tuple[str, str | None, str | None] | None = None,
        client_id: str | None = None,
    ) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._connected = threading.Event()
        self._subacks: queue.Queue[list[int]] = queue.Queue()
        self.refused: str | None = None
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or "")
        if username is not None:
            self._client.username_pw_set(username, password)
        if tls is not None:
            ca_certs, certfile, keyfile = tls  # CA, and the client's own certificate
            self._client.tls_set(ca_certs=ca_certs, certfile=certfile, keyfile=keyfile)
        self._client.on_connect = self._on_connect
        self._client.on_message = lambda c, u, m: self.messages.put((m.topic, bytes(m.payload)))
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect
        self._client.connect("127.0.0.1", port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(WAIT_S):
            self.close()
            raise TimeoutError("no CONNACK")
        if self.refused is not None:
            self.close()
            raise ConnectionRefusedError(self.refused)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object = None,
    ) -> None:
        if getattr(reason, "is_failure", False):
            self.refused = str(reason)
        self._connected.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object = None,
    ) -> None:
        if not self._connected.is_set():
            self.refused = f"disconnected: {reason}"
            self._connected.set()

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reasons: list,
        properties: object = None,
    ) -> None:
        self._subacks.put([int(getattr(r, "value", r)) for r in reasons])

    def subscribe(self, topic_filter: str) -> list[int]:
        self._client.subscribe(topic_filter, qos=1)
        return self._subacks.get(timeout=WAIT_S)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(WAIT_S)

    def next_message(self) -> tuple[str, bytes]:
        return self.messages.get(timeout=WAIT_S)

    def receive_until(self, topic: str) -> list[tuple[str, bytes]]:
        """Every message up to and including the first on `topic` (the barrier)."""
        received = []
        while True:
            message = self.next_message()
            received.append(message)
            if message[0] == topic:
                return received

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def clients() -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def connect(port: int, username: str | None, password: str | None, **kwargs: object) -> Client:
        client = Client(port, username, password, **kwargs)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield connect
    for client in made:
        client.close()
