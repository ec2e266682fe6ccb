"""The agent's MQTT link: one paho-mqtt client with a persistent session.

The link connects in the background and keeps reconnecting with a doubling
backoff, so the printer never waits on the network. It sets the Last Will before
every connection attempt (the will names the connection it belongs to), keeps
the broker session across disconnects (MQTT 3.1.1, clean_session=False, a
stable client id: commands sent while the agent was away are delivered when it
returns) and re-subscribes on every connect.

Nothing here runs agent logic. paho's callbacks, which run on paho's network
thread, only hand `LinkEvent`s to the owner's callback; the owner acknowledges
inbound messages with `ack()` once it has acted on them (manual acks), so a
command is never lost to a crash between delivery and handling.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from agent.config import AgentConfig

log = logging.getLogger(__name__)


class _QuietWhileOffline(logging.Filter):
    """paho logs an ERROR on every reconnect attempt while the broker is away; the link
    logs the outage once itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Client is not connected")


_paho_log = logging.getLogger(__name__ + ".paho")
_paho_log.addFilter(_QuietWhileOffline())


@dataclass(frozen=True)
class Connected:
    connection: int  # 1 for the first connection of this run, then 2, 3, ...
    session_present: bool


@dataclass(frozen=True)
class Disconnected:
    reason: str


@dataclass(frozen=True)
class Acked:
    """The broker acknowledged one of our QoS 1 publishes (PUBACK)."""

    mid: int


@dataclass(frozen=True)
class Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int


LinkEvent = Connected | Disconnected | Acked | Inbound
WillFactory = Callable[[int], bytes]  # connection number -> Last Will payload


class MqttLink:
    """A reconnecting MQTT client; all callbacks go to `on_event`."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        will_topic: str,
        will: WillFactory,
        subscriptions: Sequence[tuple[str, int]],
        on_event: Callable[[LinkEvent], None],
    ) -> None:
        self._config = config
        self._will_topic = will_topic
        self._will = will
        self._subscriptions = list(subscriptions)
        self._on_event = on_event
        self._lock = threading.Lock()
        self._connected = False
        self._stopping = False
        self._connection = 1  # the number of the connection being opened
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        settings = self._config.broker
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._config.client_id(),
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        username, password = settings.credentials()
        if username is not None or password is not None:
            client.username_pw_set(username, password)
        if settings.address().tls:
            client.tls_set(
                ca_certs=str(settings.ca_file) if settings.ca_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        # paho types the delays as int, but computes with floats: sub-second backoff works.
        min_delay: Any = settings.reconnect_min_s
        max_delay: Any = settings.reconnect_max_s
        client.reconnect_delay_set(min_delay, max_delay)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_publish = self._handle_publish
        client.on_message = self._handle_message
        client.enable_logger(_paho_log)
        return client

    # -- life cycle --------------------------------------------------------------------

    def start(self) -> None:
        """Begin connecting in the background; returns at once."""
        address = self._config.broker.address()
        self._set_will()
        self._client.connect_async(
            address.host, address.port, keepalive=self._config.broker.keepalive_s
        )
        self._client.loop_start()

    def stop(self, final_payload: bytes | None = None) -> None:
        """Leave cleanly. A clean disconnect does not fire the Last Will, so the owner
        passes the state to leave behind (retained) in `final_payload`."""
        self._stopping = True
        if final_payload is not None and self.connected:
            info = self._client.publish(self._will_topic, final_payload, qos=1, retain=True)
            # If the link drops meanwhile, the broker sends the will instead.
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=2.0)
        self._client.disconnect()
        self._client.loop_stop()

    def drop(self) -> None:
        """Close the socket without a DISCONNECT, as a crash or a pulled cable would
        (the broker then publishes the Last Will). For tests and drills."""
        sock = self._client.socket()
        if sock is not None:
            sock.close()
        self._client.loop_stop()

    # -- publishing --------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._connected

    @property
    def connection(self) -> int:
        with self._lock:
            return self._connection

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int | None:
        """Hand a message to paho; returns its message id, or None when offline (then
        nothing was queued: the caller keeps it)."""
        if not self.connected:
            return None
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            return info.mid
        if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and qos > 0:
            return info.mid  # paho keeps QoS 1 messages and sends them after reconnecting
        return None

    def ack(self, message: Inbound) -> None:
        """Tell the broker an inbound message was handled (it will not redeliver it)."""
        if message.qos > 0:
            self._client.ack(message.mid, message.qos)

    # -- paho callbacks (network thread) ----------------------------------------------

    def _set_will(self) -> None:
        self._client.will_set(self._will_topic, self._will(self.connection), qos=1, retain=True)

    def _handle_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Any,
    ) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        for topic, qos in self._subscriptions:
            client.subscribe(topic, qos=qos)
        with self._lock:
            self._connected = True
            connection = self._connection
        log.info("connected to the broker (connection %d)", connection)
        self._on_event(Connected(connection, bool(flags.session_present)))

    def _handle_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Any,
    ) -> None:
        with self._lock:
            was_connected = self._connected
            self._connected = False
            if was_connected:
                self._connection += 1
        if was_connected and not self._stopping:
            # The next attempt opens a new connection: its will must name it.
            self._set_will()
            log.warning("lost the broker: %s; reconnecting in the background", reason)
            self._on_event(Disconnected(str(reason)))

    def _handle_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, properties: Any
    ) -> None:
        self._on_event(Acked(mid))

    def _handle_message(
        self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage
    ) -> None:
        self._on_event(Inbound(message.topic, bytes(message.payload), message.mid, message.qos))
