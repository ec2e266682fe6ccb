"""The fleet: printers' retained states, their Last Wills, their job events, the offline timer.

States and events of all printers are applied one at a time, in the order the broker
delivered them (per printer, the order its agent sent them), each in one transaction, and
acknowledged to the broker only after the commit; an event applied before is recognised by
its id and changes nothing. A printer that goes offline with a plate on it gets a grace
period (`offline_grace_s`, a durable deadline in the database); when it passes, the plate is
interrupted and its unprinted parts go back to the queue.
"""

from __future__ import annotations

import asyncio
import logging

from sqlmodel import Session

from controller.component import Component
from controller.components import Farm
from controller.lifecycle.printer_events import apply_printer_event
from controller.lifecycle.printers import (
    expired_grace_deadlines,
    interrupt_printer,
    record_printer_state,
)
from controller.lifecycle.transitions import Changes, LifecycleError
from controller.logs import log
from controller.mqtt_link import Inbound
from protocol import topics
from protocol.codec import decode
from protocol.errors import ProtocolError
from protocol.messages.printer import EventKind, PrinterEvent, PrinterState

_logger = logging.getLogger(__name__)
GRACE_CHECK_S = 1.0


class Fleet(Component):
    name = "fleet"

    def __init__(self, farm: Farm) -> None:
        super().__init__()
        self._farm = farm
        self._queue: asyncio.Queue[Inbound] = asyncio.Queue()
        farm.link.route(topics.topic_filter(topics.TopicKind.PRINTER_STATE), self._enqueue)
        farm.link.route(topics.topic_filter(topics.TopicKind.PRINTER_EVENTS), self._enqueue)
        self.events_applied = 0

    async def start(self) -> None:
        self.spawn(self._worker, "worker", restart=True)
        self.spawn(self._grace_loop, "offline-grace", restart=True)

    async def _enqueue(self, message: Inbound) -> None:
        await self._queue.put(message)

    async def _worker(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                await self._handle(message)
            except (ProtocolError, LifecycleError) as exc:
                reason = exc.reason if isinstance(exc, LifecycleError) else str(exc)
                log(_logger, logging.WARNING, "printer message refused", topic=message.topic,
                    reason=reason)
            finally:
                message.ack()

    async def _handle(self, message: Inbound) -> None:
        parsed = topics.parse_topic(message.topic)
        assert parsed.site is not None and parsed.printer is not None
        if parsed.kind == topics.TopicKind.PRINTER_STATE:
            if not message.payload:
                return  # a cleared retained state
            state = decode(message.payload, PrinterState)
            await self._farm.apply(_state, parsed.site, parsed.printer, state,
                                   self._farm.settings.timing.offline_grace_s)
        elif parsed.kind == topics.TopicKind.PRINTER_EVENTS:
            event = decode(message.payload, PrinterEvent)
            applied = await self._farm.apply(_event, parsed.site, parsed.printer, event)
            self.events_applied += applied
            if event.kind is not EventKind.PROGRESS:
                log(_logger, logging.INFO, "printer event", printer=parsed.printer,
                    kind=event.kind.value, plate=event.plate_id, applied=applied,
                    event_id=event.event_id)

    async def _grace_loop(self) -> None:
        while True:
            await asyncio.sleep(GRACE_CHECK_S)
            for printer_id in await self._farm.store.run(expired_grace_deadlines):
                log(_logger, logging.WARNING, "printer offline past its grace period; "
                    "its plate is interrupted", printer=printer_id)
                await self._farm.apply(_interrupt, printer_id)


def _state(session: Session, site: str, printer: str, state: PrinterState,
           grace_s: float) -> tuple[None, Changes]:
    return None, record_printer_state(session, site, printer, state, grace_seconds=grace_s)


def _event(session: Session, site: str, printer: str,
           event: PrinterEvent) -> tuple[bool, Changes]:
    outcome = apply_printer_event(session, site, printer, event)
    return outcome.applied, outcome.changes


def _interrupt(session: Session, printer_id: str) -> tuple[None, Changes]:
    return None, interrupt_printer(session, printer_id)
