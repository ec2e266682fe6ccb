"""The controller's one MQTT connection (aiomqtt): routes in, ordered outbox out.

Components register `route(filter, handler)` before start; the link connects (and keeps
reconnecting with backoff), subscribes every filter, and hands each inbound message to the
handler of the first matching filter as an `Inbound`. QoS 1 messages are acknowledged only
when the handler calls `Inbound.ack()` after it committed the effect, so a controller killed
mid-message gets the message again from the broker (persistent session, stable client id)
and de-duplicates it; nothing the broker accepted is lost.

`publish()` appends to an in-memory outbox drained in order by one sender task, up to
`PUBLISH_WINDOW` messages at a time awaiting their PUBACKs together (one at a time, each
message would wait a broker round trip, and a fleet summary of thousands of printers would
take seconds); messages not confirmed when the link dropped are sent again, in order, after
the reconnect.

With a shared group (several controllers, controller.scale_out) the link speaks MQTT v5 and
subscribes each filter as `$share/{group}/{filter}` unless the service named it unshared;
for the filters named as snapshots it also subscribes plainly for a moment at each connect,
because a broker never sends retained messages to a shared subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
import ssl
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import aiomqtt
import paho.mqtt.client as mqtt

from controller.component import Component
from controller.config import BrokerAddress
from controller.logs import log
from protocol import topics

_logger = logging.getLogger(__name__)
RECONNECT_MIN_S = 0.2
RECONNECT_MAX_S = 5.0
PUBLISH_TIMEOUT_S = 10.0
PUBLISH_WINDOW = 100  # messages handed to the client before waiting for their PUBACKs
READ_BURST = 1000  # packets parsed per pass of the event loop, at most
RECV_BYTES = 256 * 1024  # read from the socket at once


@dataclass(frozen=True)
class Outgoing:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


@dataclass
class Inbound:
    """One received message; `ack()` once its effect is committed (or it was rejected)."""

    topic: str
    payload: bytes
    retain: bool
    _ack: Callable[[], None] = field(repr=False, default=lambda: None)

    def ack(self) -> None:
        ack, self._ack = self._ack, _no_ack
        ack()


def _no_ack() -> None:
    return None


# A plain function is called as the message is parsed (it must only queue the message); a
# coroutine function is awaited, one message at a time, by the link's dispatcher task.
Handler = Callable[[Inbound], Awaitable[None] | None]


@dataclass(frozen=True)
class _Route:
    topic_filter: str
    qos: int
    handler: Handler
    pattern: re.Pattern[str]
    blocking: bool  # a coroutine function


def filter_pattern(topic_filter: str) -> re.Pattern[str]:
    """A regular expression matching the topics an MQTT filter matches (`+` one level,
    a trailing `#` the parent and everything below); matching thousands of messages a
    second this way is several times cheaper than parsing the filter for each."""
    levels = topic_filter.split("/")
    tail = ""
    if levels[-1] == "#":
        levels, tail = levels[:-1], "(?:/.*)?" if len(levels) > 1 else ".*"
    body = "/".join("[^/]*" if level == "+" else re.escape(level) for level in levels)
    return re.compile(body + tail)


class MqttLink(Component):
    name = "mqtt"

    def __init__(
        self,
        address: BrokerAddress,
        client_id: str,
        *,
        shared_group: str | None = None,
        unshared: frozenset[str] = frozenset(),
        snapshot: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self._address = address
        self._client_id = client_id
        self._shared_group = shared_group
        self._unshared = unshared
        self._snapshot = snapshot
        self._routes: list[_Route] = []
        self._outbox: asyncio.Queue[Outgoing] = asyncio.Queue()
        self._retry: list[Outgoing] = []
        self._client: aiomqtt.Client | None = None
        self._connection_number = 0
        self._inbound: deque[tuple[Handler, Inbound]] = deque()  # for coroutine handlers
        self._inbound_ready = asyncio.Event()
        self.connected = asyncio.Event()

    @property
    def address(self) -> BrokerAddress:
        return self._address

    def route(self, topic_filter: str, handler: Handler, qos: int = 1) -> None:
        if self._client is not None:
            raise RuntimeError("routes must be registered before the link starts")
        self._routes.append(
            _Route(
                topic_filter,
                qos,
                handler,
                filter_pattern(topic_filter),
                inspect.iscoroutinefunction(handler),
            )
        )

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        """Queue a message; the sender publishes in order, across reconnects."""
        self._outbox.put_nowait(Outgoing(topic, payload, qos, retain))

    @property
    def outbox_size(self) -> int:
        return self._outbox.qsize() + len(self._retry)

    async def start(self) -> None:
        self.spawn(self._connection_loop, "connection")

    async def close(self) -> None:
        await self._flush_outbox()
        await super().close()

    async def _flush_outbox(self, timeout_s: float = 5.0) -> None:
        """On a clean shutdown, give queued messages a bounded chance to leave."""
        if not self.connected.is_set():
            return
        try:
            async with asyncio.timeout(timeout_s):
                while self.outbox_size:
                    await asyncio.sleep(0.02)
        except TimeoutError:
            log(_logger, logging.WARNING, "shutdown with unsent messages", count=self.outbox_size)

    async def _connection_loop(self) -> None:
        delay = RECONNECT_MIN_S
        while True:
            try:
                await self._run_connection()
                delay = RECONNECT_MIN_S
            except aiomqtt.MqttError as exc:
                log(
                    _logger,
                    logging.WARNING,
                    "broker link down; reconnecting",
                    broker=self._address.url,
                    error=str(exc),
                    retry_in_s=delay,
                )
            finally:
                self.connected.clear()
                self._client = None
            await asyncio.sleep(delay)
            delay = min(RECONNECT_MAX_S, delay * 2)

    def _make_client(self) -> aiomqtt.Client:
        tls = ssl.create_default_context() if self._address.tls else None
        if self._shared_group is not None:
            # A clean start every time: a dead controller's session must not stay a member
            # of the group (Mosquitto would keep queueing its share of messages there).
            return aiomqtt.Client(
                self._address.host,
                self._address.port,
                username=self._address.username,
                password=self._address.password,
                identifier=self._client_id,
                protocol=aiomqtt.ProtocolVersion.V5,
                clean_start=True,
                tls_context=tls,
                keepalive=30,
                timeout=10,
            )
        return aiomqtt.Client(
            self._address.host,
            self._address.port,
            username=self._address.username,
            password=self._address.password,
            identifier=self._client_id,
            clean_session=False,
            tls_context=tls,
            keepalive=30,
            timeout=10,
        )

    async def _run_connection(self) -> None:
        client = self._make_client()
        # Up to PUBLISH_WINDOW publishes are in flight by design; aiomqtt would warn
        # about every one past its default of 10.
        client.pending_calls_threshold = PUBLISH_WINDOW + 1
        paho = client._client
        # paho holds back QoS 1 publishes past 20 in flight (its default), which would
        # make the window 20 whatever PUBLISH_WINDOW says.
        paho.max_inflight_messages_set(PUBLISH_WINDOW)
        # aiomqtt has no manual-ack switch; paho's is what keeps un-processed QoS 1
        # messages with the broker until we committed them.
        paho.manual_ack_set(True)
        number = self._connection_number + 1
        # Inbound messages go straight from paho's parser to the routes: aiomqtt's message
        # iterator costs a task and an asyncio.wait per message, a third of the event
        # loop's time at 5,000 printer states a second.
        paho.on_message = lambda _paho, _userdata, m: self._deliver(
            client, number, m.topic, bytes(m.payload), m.qos, m.mid, bool(m.retain)
        )
        async with client:
            self._connection_number = number
            self._client = client
            disconnected = client._disconnected
            _install_fast_io(client, lambda *publish: self._deliver(client, number, *publish))
            for route in self._routes:
                await client.subscribe(self._subscription(route.topic_filter), qos=route.qos)
            await self._take_snapshots(client)
            self.connected.set()
            log(
                _logger,
                logging.INFO,
                "connected to broker",
                broker=self._address.url,
                subscriptions=len(self._routes),
            )
            loop = asyncio.get_running_loop()
            sender = loop.create_task(self._send_loop(client))
            dispatcher = loop.create_task(self._dispatch_loop())
            try:
                await asyncio.shield(disconnected)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise aiomqtt.MqttError(f"disconnected: {exc}") from exc
            finally:
                for task in (sender, dispatcher):
                    task.cancel()
                await asyncio.gather(sender, dispatcher, return_exceptions=True)
            raise aiomqtt.MqttError("the broker closed the connection")

    def _subscription(self, topic_filter: str) -> str:
        if self._shared_group is None or topic_filter in self._unshared:
            return topic_filter
        return topics.shared_filter(self._shared_group, topic_filter)

    async def _take_snapshots(self, client: aiomqtt.Client) -> None:
        """Subscribe plainly and unsubscribe at once: the broker queues every retained
        message of the filter for us in between (a live message may come twice, which the
        handlers' sequence guards absorb)."""
        if self._shared_group is None:
            return
        for route in self._routes:
            if route.topic_filter in self._snapshot:
                await client.subscribe(route.topic_filter, qos=route.qos)
                await client.unsubscribe(route.topic_filter)

    def _deliver(
        self,
        client: aiomqtt.Client,
        number: int,
        topic: str,
        payload: bytes,
        qos: int,
        mid: int,
        retain: bool,
    ) -> None:
        """One inbound message, on the event loop's thread: hand it to its route."""

        def ack() -> None:
            # An ack for a message of an older connection means nothing to the broker.
            if qos > 0 and number == self._connection_number and self._client:
                client._client.ack(mid, qos)

        inbound = Inbound(topic, payload, retain, ack)
        for route in self._routes:
            if route.pattern.fullmatch(topic):
                if route.blocking:
                    self._inbound.append((route.handler, inbound))
                    self._inbound_ready.set()
                    return
                try:
                    route.handler(inbound)
                except Exception:
                    _logger.exception("handler failed; the message stays unacknowledged")
                return
        inbound.ack()

    async def _dispatch_loop(self) -> None:
        """Messages of routes whose handlers are coroutines, awaited one at a time, in order."""
        while True:
            await self._inbound_ready.wait()
            self._inbound_ready.clear()
            while self._inbound:
                handler, inbound = self._inbound.popleft()
                try:
                    await cast(Awaitable[None], handler(inbound))
                except Exception:
                    _logger.exception("handler failed; the message stays unacknowledged")

    async def _send_loop(self, client: aiomqtt.Client) -> None:
        while True:
            if not self._retry:
                self._retry.append(await self._outbox.get())
            while len(self._retry) < PUBLISH_WINDOW and not self._outbox.empty():
                self._retry.append(self._outbox.get_nowait())
            batch = list(self._retry)
            # gather starts the publishes in list order, so the client sends them in order.
            results = await asyncio.gather(
                *(
                    client.publish(
                        item.topic,
                        item.payload,
                        qos=item.qos,
                        retain=item.retain,
                        timeout=PUBLISH_TIMEOUT_S,
                    )
                    for item in batch
                ),
                return_exceptions=True,
            )
            for item, result in zip(batch, results, strict=True):
                if isinstance(result, aiomqtt.MqttError):
                    log(
                        _logger,
                        logging.WARNING,
                        "publish failed; will resend after reconnect",
                        topic=item.topic,
                        error=str(result),
                    )
                    return
                if isinstance(result, BaseException):
                    raise result
            del self._retry[: len(batch)]


class _BufferedSocket:
    """The connection's socket as paho sees it, reading and writing in bulk.

    paho reads each packet with three or four `recv` calls (its first byte, its length, its
    body) and writes each packet with its own `send`; at thousands of messages a second
    those system calls, and the GIL hand-overs around each, were most of the link's time.
    Here one `recv` fills a buffer the small reads are served from, and sends are gathered
    and flushed once per pass of the event loop. Everything else goes to the real socket."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._in = b""
        self._pos = 0
        self._out = bytearray()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    @property
    def buffered(self) -> bool:
        return self._pos < len(self._in)

    def fill(self) -> bool:
        """Read what the socket has into the empty buffer; False when nothing waits (a
        closed connection is True: paho's next read finds out and says so)."""
        try:
            data = self._sock.recv(RECV_BYTES)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False
        self._in, self._pos = data, 0
        return True

    def take_publish(self) -> tuple[str, bytes, int, int, bool] | None:
        """The next packet when it is a whole MQTT 3.1.1 PUBLISH of QoS 0 or 1 already in
        the buffer, parsed here (a tenth of paho's cost): (topic, payload, qos, mid,
        retain). Anything else (other packets, a packet split across reads, a topic that
        is not UTF-8) is None and left to paho."""
        buf, pos, end = self._in, self._pos, len(self._in)
        if end - pos < 4:
            return None
        header = buf[pos]
        qos = (header >> 1) & 3
        if header & 0xF0 != 0x30 or qos > 1:
            return None
        length, shift, i = 0, 0, pos + 1
        while True:
            if i >= end or shift > 21:
                return None
            byte = buf[i]
            i += 1
            length |= (byte & 127) << shift
            shift += 7
            if not byte & 128:
                break
        stop = i + length
        if stop > end or length < 2:
            return None
        body = i + 2 + ((buf[i] << 8) | buf[i + 1])
        mid = 0
        if qos:
            if body + 2 > stop:
                return None
            mid = (buf[body] << 8) | buf[body + 1]
            start = body + 2
        else:
            start = body
        if start > stop:
            return None
        try:
            topic = buf[i + 2 : body].decode("utf-8")
        except UnicodeDecodeError:
            return None
        self._pos = stop
        return topic, buf[start:stop], qos, mid, bool(header & 1)

    def recv(self, size: int) -> bytes:
        if self._pos >= len(self._in):
            data = self._sock.recv(RECV_BYTES)  # BlockingIOError when nothing waits
            if not data:
                return b""  # the broker closed the connection
            self._in, self._pos = data, 0
        chunk = self._in[self._pos : self._pos + size]
        self._pos += len(chunk)
        return chunk

    def send(self, data: bytes | bytearray | memoryview) -> int:
        self._out += data
        return len(data)

    @property
    def unsent(self) -> int:
        return len(self._out)

    def close(self) -> None:
        """paho closes right after queueing DISCONNECT: send what is gathered first."""
        with contextlib.suppress(OSError):
            self.flush()
        self._sock.close()

    def flush(self) -> None:
        """Send what was gathered, as far as the socket takes it now."""
        while self._out:
            try:
                sent = self._sock.send(self._out)
            except (BlockingIOError, ssl.SSLWantWriteError):
                return
            del self._out[:sent]


def _install_fast_io(
    client: aiomqtt.Client, deliver: Callable[[str, bytes, int, int, bool], None]
) -> None:
    """Give the connected client a `_BufferedSocket`, a reader that parses every packet
    already waiting (aiomqtt's parses one per wake-up of the event loop), PUBLISHes of
    QoS 0 and 1 itself and hands them to `deliver`, and a writer that flushes once per
    pass of the event loop."""
    paho = client._client
    fast = paho._protocol != mqtt.MQTTv5  # v5 PUBLISHes carry properties: paho parses them
    raw = paho.socket()
    if raw is None:
        return
    sock = _BufferedSocket(raw)
    fileno = raw.fileno()
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    state = {"flush_scheduled": False, "watching_write": False}

    def broken(exc: BaseException) -> None:
        if not client._disconnected.done():
            client._disconnected.set_exception(exc)

    def on_readable() -> None:
        try:
            paho._last_bytes_received = time.monotonic()  # paho's keep-alive clock
            for _ in range(READ_BURST):
                if paho._sock is None:  # the connection closed while reading
                    return
                if fast and paho._in_packet["command"] == 0:  # paho is between packets
                    if not sock.buffered and not sock.fill():
                        return
                    publish = sock.take_publish()
                    if publish is not None:
                        deliver(*publish)
                        continue
                rc = paho._packet_read()
                if rc == mqtt.MQTT_ERR_AGAIN:
                    return
                if rc != mqtt.MQTT_ERR_SUCCESS:
                    paho._loop_rc_handle(rc)
                    return
            if sock.buffered:  # more parsed later in this pass, after the other callbacks
                loop.call_soon(on_readable)
        except Exception as exc:  # a broken connection, as aiomqtt's own reader treats it
            broken(exc)

    def write() -> None:
        state["flush_scheduled"] = False
        try:
            if paho._sock is None:
                return
            paho.loop_write()  # every queued packet into the buffer
            sock.flush()
        except Exception as exc:
            broken(exc)
            return
        if sock.unsent and not state["watching_write"]:
            state["watching_write"] = True
            loop.add_writer(fileno, on_writable)
        elif not sock.unsent and state["watching_write"]:
            state["watching_write"] = False
            loop.remove_writer(fileno)

    def on_writable() -> None:
        write()

    def schedule_write() -> None:
        if not state["flush_scheduled"]:
            state["flush_scheduled"] = True
            loop.call_soon(write)

    def register_write(_paho: mqtt.Client, _userdata: Any, _sock: Any) -> None:
        if threading.get_ident() == loop_thread:
            schedule_write()
        else:
            loop.call_soon_threadsafe(schedule_write)

    def unregister_write(_paho: mqtt.Client, _userdata: Any, _sock: Any) -> None:
        return None  # `write` decides, from what is left unsent

    paho.on_socket_register_write = register_write
    paho.on_socket_unregister_write = unregister_write
    paho._sock = sock
    loop.remove_reader(fileno)
    loop.add_reader(fileno, on_readable)
    loop.remove_writer(fileno)  # aiomqtt's; paho's "registered" flag clears in `write`
    schedule_write()
