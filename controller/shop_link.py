"""A shop's MQTT connection (paho-mqtt): publish meshes and jobs, read statuses and errors.

Used by `makerfarm submit`, the demo's shops and the benchmark. It subscribes to the shop's
status and error topics before anything is published, so no answer can be missed, and
waits for the broker's PUBACK of each publish (QoS 1) with a bound.
"""

from __future__ import annotations

import queue
import ssl
import threading
import uuid
from collections.abc import Callable
from types import TracebackType

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from controller.config import BrokerAddress
from protocol import topics
from protocol.codec import decode
from protocol.errors import ProtocolError
from protocol.messages.jobs import JobStatus, Rejection

CONNECT_TIMEOUT_S = 10.0
PUBLISH_TIMEOUT_S = 30.0


class ShopLinkError(Exception):
    """The broker could not be reached or refused us; the text says which."""


class ShopLink:
    """A connected shop client; a context manager. Messages come out of `next_message`."""

    def __init__(self, broker_url: str, shop: str | None, client_id: str | None = None) -> None:
        """`shop=None` follows every shop (the demo's and the benchmark's view)."""
        try:
            self._address = BrokerAddress.parse(broker_url)
        except ValueError as exc:
            raise ShopLinkError(str(exc)) from None
        self.shop = shop
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"shop-{shop or 'all'}-{uuid.uuid4().hex[:8]}",
        )
        if self._address.username:
            self._client.username_pw_set(self._address.username, self._address.password)
        if self._address.tls:
            self._client.tls_set_context(ssl.create_default_context())
        self._subscribed = threading.Event()
        self._refused: str | None = None
        self._messages: queue.Queue[JobStatus | Rejection] = queue.Queue()
        self.listeners: list[Callable[[str, JobStatus | Rejection], None]] = []
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    @property
    def address_url(self) -> str:
        return self._address.url

    def __enter__(self) -> ShopLink:
        try:
            self._client.connect(self._address.host, self._address.port, keepalive=30)
        except OSError as exc:
            raise ShopLinkError(
                f"cannot reach the broker at {self._address.url}: {exc.strerror or exc}"
            ) from None
        self._client.loop_start()
        if not self._subscribed.wait(CONNECT_TIMEOUT_S) or self._refused:
            self._client.loop_stop()
            raise ShopLinkError(
                self._refused
                or f"the broker at {self._address.url} did not "
                f"answer within {CONNECT_TIMEOUT_S:g} s"
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object = None,
    ) -> None:
        if getattr(reason, "is_failure", False):
            self._refused = f"the broker at {self._address.url} refused the login: {reason}"
            self._subscribed.set()
            return
        client.subscribe(
            [
                (topics.topic_filter(topics.TopicKind.JOB_STATUS, shop=self.shop), 1),
                (topics.topic_filter(topics.TopicKind.SHOP_ERRORS, shop=self.shop), 1),
            ]
        )

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reasons: object,
        properties: object = None,
    ) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        decoded = decode_shop_message(message.topic, bytes(message.payload))
        if decoded is None:
            return
        for listener in self.listeners:
            listener(message.topic, decoded)
        self._messages.put(decoded)

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 and wait for the broker's acknowledgement."""
        info = self._client.publish(topic, payload, qos=1)
        try:
            info.wait_for_publish(PUBLISH_TIMEOUT_S)
        except (RuntimeError, ValueError) as exc:
            raise ShopLinkError(f"could not publish to {topic}: {exc}") from None
        if not info.is_published():
            raise ShopLinkError(
                f"the broker did not acknowledge {topic} within {PUBLISH_TIMEOUT_S:g} s"
            )

    def next_message(self, timeout: float | None) -> JobStatus | Rejection:
        """The next status or rejection for this shop; queue.Empty after `timeout`."""
        return self._messages.get(timeout=timeout)


def decode_shop_message(topic: str, payload: bytes) -> JobStatus | Rejection | None:
    """A status or rejection from the shop's topics; None for anything else."""
    try:
        kind = topics.parse_topic(topic).kind
        if kind == topics.TopicKind.JOB_STATUS:
            return decode(payload, JobStatus)
        if kind == topics.TopicKind.SHOP_ERRORS:
            return decode(payload, Rejection)
    except ProtocolError:
        return None
    return None
