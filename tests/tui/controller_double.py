"""The test plays the controller: it publishes fleet summaries and agent states, and reads
and answers the staff commands the TUI sends, over a real broker (aiomqtt, same loop as
the app under test). `until` waits, with a bound, for the app to show something: it is
checked on every refresh tick of the app."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import aiomqtt
from textual.screen import Screen

from protocol import topics
from protocol.base import Message
from protocol.codec import decode_any, encode
from protocol.messages.staff import STAFF_COMMANDS, StaffReply
from tui.app import MakerfarmApp

WAIT_S = 15.0


class ControllerDouble:
    """Publishes what a controller would and collects the staff commands it receives."""

    def __init__(self, host: str, port: int) -> None:
        self._client = aiomqtt.Client(host, port, identifier="controller-double")
        self.commands: asyncio.Queue[tuple[str, Message]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ControllerDouble:
        await self._client.__aenter__()
        await self._client.subscribe(topics.topic_filter(topics.TopicKind.STAFF_CMD), qos=1)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self._client.__aexit__(kind, error, trace)

    async def _read(self) -> None:
        async for message in self._client.messages:
            site = topics.parse_topic(message.topic.value).site or ""
            payload = message.payload
            assert isinstance(payload, bytes)
            await self.commands.put((site, decode_any(payload, STAFF_COMMANDS)))

    async def publish(self, topic: str, message: Message, retain: bool = True) -> None:
        await self._client.publish(topic, encode(message), qos=1, retain=retain)

    async def next_command(self) -> tuple[str, Message]:
        return await asyncio.wait_for(self.commands.get(), WAIT_S)

    async def reply(self, site: str, command: Message, accepted: bool, reason: str = "") -> None:
        reply = StaffReply(
            command_id=command.command_id,  # type: ignore[attr-defined]
            action=command.type,
            staff_user="ada",
            accepted=accepted,
            reason=reason,
            at=datetime.now(UTC),
        )
        await self.publish(topics.staff_replies_topic(site), reply, retain=False)


async def until(
    app: MakerfarmApp, predicate: Callable[[], bool], what: str, timeout_s: float = WAIT_S
) -> None:
    """Wait until `predicate()` holds on one of the app's refresh ticks."""
    seen = asyncio.Event()

    def check() -> None:
        if predicate():
            seen.set()

    app.on_refreshed = check
    check()
    try:
        await asyncio.wait_for(seen.wait(), timeout_s)
    except TimeoutError:
        raise AssertionError(f"the TUI did not show {what} within {timeout_s} s") from None
    finally:
        app.on_refreshed = None


async def open_printer(app: MakerfarmApp, site: str, printer: str) -> None:
    """Open a printer's detail and wait until it shows (its keys work from then on)."""
    from tui.screens.printer_detail import PrinterDetailScreen

    app.open_printer(site, printer)

    def shown() -> bool:
        screen = app.screen
        return (
            isinstance(screen, PrinterDetailScreen)
            and screen.printer_id == printer
            and bool(screen.query("#printer-info"))
            and screen.is_mounted
        )

    await until(app, shown, f"printer {printer}'s detail")


async def on_top(app: MakerfarmApp, kind: type[Screen[Any]]) -> None:
    """Wait until a screen of `kind` (a dialog, a picker) is on top and mounted."""
    await until(
        app, lambda: isinstance(app.screen, kind) and app.screen.is_mounted, f"the {kind.__name__}"
    )
