"""The TUI's one connection to the broker: subscribe, feed the store, publish staff commands.

`FarmLink.run()` runs for the life of the app (as a Textual worker). It connects with
aiomqtt, subscribes to the fleet summaries, the printers' state and event topics and the
staff replies of the site in scope (or of every site), and hands each decoded message to
the `FleetStore`. When the broker cannot be reached or the connection drops it reports a
`LinkStatus` a person can read ("cannot reach the broker at mqtt://farm:1883: connection
refused; retrying in 4 s") and keeps retrying with a growing pause, up to `MAX_RETRY_S`.

Messages that are not valid makerfarm messages are counted and dropped: a broken peer
cannot take the TUI down.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import aiomqtt

from protocol import topics
from protocol.base import Message
from protocol.codec import encode
from protocol.errors import ProtocolError, TopicError
from protocol.inbound import decode_for_topic
from protocol.topics import TopicKind, parse_topic
from tui.broker import BrokerAddress
from tui.store import FleetStore

_logger = logging.getLogger(__name__)

FIRST_RETRY_S = 1.0
MAX_RETRY_S = 10.0
CONNECT_TIMEOUT_S = 10.0
MAX_QUEUED_MESSAGES = 200_000


@dataclass(frozen=True)
class LinkStatus:
    """How the link to the broker is doing, in words for the header."""

    connected: bool
    message: str
    attempts: int = 0


class NotConnected(Exception):
    """A staff command could not be sent: the broker is not reachable right now."""


def subscriptions(site: str | None) -> list[tuple[str, int]]:
    """The topic filters the TUI needs for one site (None: every site), with their QoS."""
    return [
        (topics.topic_filter(TopicKind.FLEET_PRINTER, site=site), 1),
        (topics.topic_filter(TopicKind.FLEET_PLATES, site=site), 1),
        (topics.topic_filter(TopicKind.FLEET_SITE), 1),
        (topics.fleet_queue_topic(), 1),
        (topics.fleet_alerts_topic(), 1),
        (topics.topic_filter(TopicKind.PRINTER_STATE, site=site), 0),
        (topics.topic_filter(TopicKind.PRINTER_EVENTS, site=site), 0),
        # A site's staff may read only their own site's replies (the broker's staff ACL).
        (topics.topic_filter(TopicKind.STAFF_REPLIES, site=site), 1),
    ]


class FarmLink:
    """The TUI's MQTT client: one long-running `run()` and `send()` for staff commands."""

    def __init__(
        self,
        broker: BrokerAddress,
        store: FleetStore,
        on_status: Callable[[LinkStatus], None],
        site: str | None = None,
    ) -> None:
        self.broker = broker
        self.store = store
        self.site = site
        self._on_status = on_status
        self._client: aiomqtt.Client | None = None
        self._subscribed: list[tuple[str, int]] = []
        self.last_rejection = ""

    async def run(self) -> None:
        """Connect, read messages, and reconnect for as long as the app runs."""
        attempts = 0
        retry_s = FIRST_RETRY_S
        self._on_status(LinkStatus(False, f"connecting to {self.broker} …"))
        while True:
            try:
                async with self._new_client() as client:
                    attempts, retry_s = 0, FIRST_RETRY_S
                    self._client = client
                    self._subscribed = []
                    await self._subscribe(client, subscriptions(self.site))
                    self._on_status(LinkStatus(True, f"connected to {self.broker}"))
                    await self._read(client)
            except (aiomqtt.MqttError, OSError) as exc:
                attempts += 1
                was_connected = self._client is not None
                self._client = None
                self._on_status(
                    LinkStatus(False, self._explain(exc, retry_s, was_connected), attempts)
                )
            await asyncio.sleep(retry_s)  # the back-off between reconnection attempts
            retry_s = min(retry_s * 2, MAX_RETRY_S)

    async def set_site(self, site: str | None) -> None:
        """Follow another site (None: all): change the subscriptions on the live connection."""
        self.site = site
        client = self._client
        if client is None:
            return  # the next connection subscribes for the new site
        wanted = subscriptions(site)
        wanted_topics = {topic for topic, _qos in wanted}
        stale = [topic for topic, _qos in self._subscribed if topic not in wanted_topics]
        if stale:
            await client.unsubscribe(stale, timeout=CONNECT_TIMEOUT_S)
        await self._subscribe(client, [entry for entry in wanted if entry not in self._subscribed])
        self._subscribed = wanted

    async def send(self, site: str, command: Message) -> None:
        """Publish a staff command for `site`; `NotConnected` if the broker is unreachable."""
        client = self._client
        if client is None:
            raise NotConnected(
                f"not connected to the broker at {self.broker}; the action was not sent"
            )
        try:
            await self._hear_replies_of(client, site)
            await client.publish(
                topics.staff_cmd_topic(site), encode(command), qos=1, timeout=CONNECT_TIMEOUT_S
            )
        except aiomqtt.MqttError as exc:
            raise NotConnected(f"the broker did not take the action: {exc}") from None

    async def _hear_replies_of(self, client: aiomqtt.Client, site: str) -> None:
        """A command for a site the TUI does not follow: subscribe to that site's replies."""
        followed = {topic for topic, _qos in self._subscribed}
        replies = topics.staff_replies_topic(site)
        if replies in followed or topics.topic_filter(TopicKind.STAFF_REPLIES) in followed:
            return
        await self._subscribe(client, [(replies, 1)])
        self._subscribed.append((replies, 1))

    @property
    def connected(self) -> bool:
        return self._client is not None

    def _new_client(self) -> aiomqtt.Client:
        return aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            username=self.broker.username,
            password=self.broker.password,
            identifier=f"makerfarm-tui-{uuid.uuid4().hex[:12]}",
            clean_session=True,
            timeout=CONNECT_TIMEOUT_S,
            keepalive=30,
            max_queued_incoming_messages=MAX_QUEUED_MESSAGES,
            tls_context=ssl.create_default_context() if self.broker.tls else None,
        )

    async def _subscribe(self, client: aiomqtt.Client, wanted: list[tuple[str, int]]) -> None:
        if wanted:
            await client.subscribe(wanted, timeout=CONNECT_TIMEOUT_S)
        self._subscribed = [*self._subscribed, *(e for e in wanted if e not in self._subscribed)]

    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            if isinstance(payload, bytes | bytearray):
                self.receive(message.topic.value, bytes(payload))

    def receive(self, topic: str, payload: bytes) -> None:
        """Decode one inbound message and give it to the store; bad input is only counted."""
        try:
            parsed = parse_topic(topic)
            if parsed.kind in _WANTED_KINDS:
                self.store.apply(parsed, decode_for_topic(parsed.kind, payload))
        except (ProtocolError, TopicError) as exc:
            self.store.rejected_messages += 1
            self.last_rejection = f"{topic}: {exc}"
            _logger.debug("dropped a message on %s: %s", topic, exc)
        except Exception:  # a message the store cannot take must not stop the link
            self.store.rejected_messages += 1
            self.last_rejection = f"{topic}: could not be shown"
            _logger.exception("could not take in a message on %s", topic)

    def _explain(self, exc: Exception, retry_s: float, was_connected: bool) -> str:
        reason = str(exc) or type(exc).__name__
        if "refused" in reason.lower() or "errno 111" in reason.lower():
            reason = "connection refused (is the broker running?)"
        elif "not authori" in reason.lower() or "bad user" in reason.lower():
            reason = f"{reason} (check the user and password in --broker)"
        verb = "lost the broker" if was_connected else "cannot reach the broker"
        return f"{verb} at {self.broker}: {reason}; retrying in {retry_s:.0f} s"


_WANTED_KINDS = frozenset(
    {
        TopicKind.FLEET_PRINTER,
        TopicKind.FLEET_QUEUE,
        TopicKind.FLEET_PLATES,
        TopicKind.FLEET_SITE,
        TopicKind.FLEET_ALERTS,
        TopicKind.PRINTER_STATE,
        TopicKind.PRINTER_EVENTS,
        TopicKind.STAFF_REPLIES,
    }
)
