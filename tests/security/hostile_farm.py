"""A running controller (in-process, real mosquitto) for the hostile-input tests, with
an observer that counts every rejection it publishes and every refusal it logs."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, text

from controller.config import BrokerAddress, ControllerSettings, Timing
from controller.db import create_engine_for, migrate, unit_of_work
from controller.db.tables import metadata
from controller.security import identities as ids
from protocol import topics
from tests.controller.test_service_intake import _farm_toml
from tests.e2e.harness import ControllerThread
from tests.support.mosquitto import Broker

FUZZ_SHOPS = tuple(f"fuzz-{n}" for n in range(4))
QUOTA_SHOP = "tiny-quota"
SITE, PRINTER = "kreuzberg", "kb-p1s"


# The controller's log records of a refused message, by logger: what names the message.
REFUSAL_LOGS = {
    "controller.components.intake": "message refused",
    "controller.components.fleet": "printer message refused",
    "controller.components.staff": "staff command refused",
}


@dataclass(eq=False)
class Observer(logging.Handler):
    """Counts the controller's answers: shop rejections, staff replies, logged refusals.

    Every logged refusal is kept as (topic, reason); the staff desk logs the site rather
    than the topic, so its refusals are kept under the site's staff command topic."""

    counts: dict[str, int] = field(default_factory=dict)
    rejections: list[tuple[str, bytes]] = field(default_factory=list)
    replies: list[tuple[str, bytes]] = field(default_factory=list)
    refusals: list[tuple[str, str]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        logging.Handler.__init__(self)

    def add(self, what: str, item: tuple[str, bytes] | None = None) -> None:
        with self.changed:
            self.counts[what] = self.counts.get(what, 0) + 1
            if item is not None:
                (self.rejections if what == "shop" else self.replies).append(item)
            self.changed.notify_all()

    def emit(self, record: logging.LogRecord) -> None:
        if REFUSAL_LOGS.get(record.name) != record.getMessage():
            return
        fields = getattr(record, "makerfarm_fields", {})
        topic = fields["topic"] if "topic" in fields else topics.staff_cmd_topic(fields["site"])
        with self.changed:
            self.refusals.append((str(topic), str(fields.get("reason", ""))))
        if record.name.endswith("fleet"):
            self.add("printer")
        self.add("refused")

    def count(self, what: str) -> int:
        with self.changed:
            return self.counts.get(what, 0)

    def wait_for(self, expected: dict[str, int], timeout_s: float = 60.0) -> dict[str, int]:
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while any(self.counts.get(k, 0) < v for k, v in expected.items()):
                left = deadline - time.monotonic()
                if left <= 0 or not self.changed.wait(left):
                    break
            return dict(self.counts)


def mqtt_client(
    broker: Broker, observer: Observer | None = None, max_inflight: int = 20
) -> mqtt.Client:
    """A client that publishes hostile input; with an observer, it also collects the
    controller's rejections and staff replies. `max_inflight` QoS 1 messages are pipelined."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(max_inflight)
    subscribed = threading.Event()
    if observer is not None:

        def on_message(c: mqtt.Client, u: object, m: mqtt.MQTTMessage) -> None:
            kind = topics.parse_topic(m.topic).kind
            what = "shop" if kind is topics.TopicKind.SHOP_ERRORS else "staff"
            observer.add(what, (m.topic, bytes(m.payload)))

        def on_connect(c: mqtt.Client, *args: Any) -> None:
            c.subscribe(
                [
                    (topics.topic_filter(topics.TopicKind.SHOP_ERRORS), 1),
                    (topics.topic_filter(topics.TopicKind.STAFF_REPLIES), 1),
                ]
            )

        client.on_message = on_message
        client.on_connect = on_connect
        client.on_subscribe = lambda *args: subscribed.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    if observer is not None and not subscribed.wait(10):
        raise TimeoutError("observer did not subscribe")
    return client


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every farm table, in a stable order."""
    with engine.connect() as connection:
        return {
            name: sorted(map(tuple, connection.execute(text(f"SELECT * FROM {name}"))), key=repr)
            for name in sorted(metadata.tables)
        }


@contextmanager
def hostile_farm(broker: Broker, data: Path) -> Iterator[tuple[ControllerThread, Observer, Engine]]:
    farm = data / "farm.toml"
    farm.write_text(_farm_toml())
    settings = ControllerSettings(
        broker=BrokerAddress(host=broker.host, port=broker.port),
        data_dir=data,
        farm_file=farm,
        client_id=f"hostile-{uuid.uuid4().hex[:6]}",
        workers=1,
        timing=Timing(mesh_wait_s=0.5, replan_min_interval_s=3600),
    )
    migrate(settings.database_url)
    engine = create_engine_for(settings.database_url)
    with unit_of_work(engine) as session:
        for shop in FUZZ_SHOPS:
            ids.add_shop(session, shop, quotas={"submits_per_minute": 1_000_000})
        ids.add_shop(session, QUOTA_SHOP, quotas={"max_open_jobs": 1, "submits_per_minute": 3})
    observer = Observer()
    loggers = [logging.getLogger(name) for name in REFUSAL_LOGS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(observer)
        logger.setLevel(logging.INFO)
    try:
        with ControllerThread(settings) as running:
            yield running, observer, engine
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(observer)
            logger.setLevel(level)
        engine.dispose()
