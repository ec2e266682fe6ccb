"""Reporting what happened on the printer: `PrinterEvent`s into the outbox.

Every event gets a fresh unique `event_id` (the controller de-duplicates by it)
and is appended to the outbox on disk before anything else happens, so it is
delivered even if the broker is away or the agent restarts before sending it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from agent.outbox import Outbox
from protocol import EventKind, PrinterEvent, encode

MAX_DETAILS_CHARS = 2000


def new_event_id() -> str:
    return uuid.uuid4().hex


def _printable(text: str) -> str:
    cleaned = "".join(char if char >= " " or char in "\n\t" else " " for char in text)
    cleaned = cleaned.replace("\x7f", " ")
    if len(cleaned) > MAX_DETAILS_CHARS:
        cleaned = cleaned[: MAX_DETAILS_CHARS - 1] + "…"
    return cleaned


class Reporter:
    """Builds events for one printer and queues them for delivery."""

    def __init__(self, outbox: Outbox, events_topic: str) -> None:
        self._outbox = outbox
        self._topic = events_topic

    def report(
        self,
        kind: EventKind,
        *,
        plate_id: str | None = None,
        command_id: str | None = None,
        part_ids: Iterable[str] = (),
        progress: float | None = None,
        seconds_left: float | None = None,
        details: str = "",
    ) -> PrinterEvent:
        event = PrinterEvent(
            event_id=new_event_id(),
            kind=kind,
            plate_id=plate_id,
            command_id=command_id,
            part_ids=tuple(part_ids),
            progress=None if progress is None else min(1.0, max(0.0, progress)),
            seconds_left=None if seconds_left is None else max(0.0, seconds_left),
            details=_printable(details),
            at=datetime.now(UTC),
        )
        self._outbox.append(event.event_id, self._topic, encode(event))
        return event
