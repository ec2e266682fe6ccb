"""The fleet: printers' retained states, their Last Wills, their job events, the offline timer.

States and events of all printers are applied one at a time, in the order the broker
delivered them (per printer, the order its agent sent them), each in one transaction, and
acknowledged to the broker only after the commit; an event applied before is recognised by
its id and changes nothing. A printer that goes offline with a plate on it gets a grace
period (`offline_grace_s`, a durable deadline in the database); when it passes, the plate is
interrupted and its unprinted parts go back to the queue.

States are the bulk of the traffic (every printer, every second), and almost all of them
only repeat what the farm knows. `StateIngest` sorts them in memory as they arrive: a
heartbeat (same run, next sequence, same status/profile/spool) is acknowledged at once (it
never waits in the worker's queue, so the broker's window of unacknowledged messages keeps
moving) and its sequence, time and `last_seen` are written in bulk UPDATEs every
`HEARTBEAT_SAVE_S` (a crash loses at most that much `last_seen`; the retained state brings
the rest back). A stale report is acknowledged and dropped. The rest is news, queued with
the events: the worker takes everything already waiting and applies runs of consecutive
news in ONE transaction (the newest state per printer; events stay one transaction each, in
their place in the order), acknowledged after the commit. Only a batch that changed
something wakes the other components; the summaries of printers whose state changed are
published right after the commit, so the TUI sees a change at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from controller.component import Component
from controller.components import Farm
from controller.effects import ShopStatus, job_statuses
from controller.fleet_summaries import printer_summaries
from controller.lifecycle.printer_events import apply_printer_event
from controller.lifecycle.printers import (
    expired_grace_deadlines,
    interrupt_printer,
    record_printer_state,
)
from controller.lifecycle.transitions import Changes, LifecycleError
from controller.logs import log
from controller.mqtt_link import Inbound
from controller.security.limits import check_known_profile
from controller.state_ingest import StateIngest, Verdict, save_heartbeats
from protocol import topics
from protocol.codec import decode
from protocol.errors import ProtocolError
from protocol.messages.printer import EventKind, PrinterEvent, PrinterState

_logger = logging.getLogger(__name__)
GRACE_CHECK_S = 1.0
MAX_BATCH = 2000  # messages taken from the queue at once
HEARTBEAT_SAVE_S = 5.0  # how often heartbeats' sequence and last_seen reach the database
# Heartbeats per UPDATE transaction: news waiting for the store thread runs between chunks
# instead of behind one long write of the whole fleet.
HEARTBEAT_CHUNK = 500
MAX_KNOWN_TOPICS = 100_000  # state topics whose (site, printer) are remembered


@dataclass(frozen=True)
class _News:
    """A printer state sorted as news, waiting for the worker."""

    message: Inbound
    where: tuple[str, str]  # site, printer
    state: PrinterState


class Fleet(Component):
    name = "fleet"

    def __init__(self, farm: Farm) -> None:
        super().__init__()
        self._farm = farm
        self._queue: asyncio.Queue[_News | Inbound] = asyncio.Queue()  # news and events
        farm.link.route(topics.topic_filter(topics.TopicKind.PRINTER_STATE), self._enqueue_state)
        farm.link.route(topics.topic_filter(topics.TopicKind.PRINTER_EVENTS), self._enqueue_event)
        self._ingest = StateIngest()
        self._topics: dict[str, tuple[str, str]] = {}  # state topic -> (site, printer)
        self.events_applied = 0
        self.reports: Counter[Verdict] = Counter()  # printer states by how they were sorted

    async def start(self) -> None:
        self.spawn(self._worker, "worker", restart=True)
        # The offline timer fires once for the farm: on the leader (controller.leadership).
        self.spawn(
            lambda: self._farm.leadership.while_leader(self._grace_loop),
            "offline-grace",
            restart=True,
        )
        self.spawn(self._heartbeat_loop, "heartbeats", restart=True)

    async def close(self) -> None:
        await super().close()
        try:
            await self._save_heartbeats()
        except Exception as exc:  # the database may be what is going away
            log(_logger, logging.WARNING, "heartbeats not saved at close", error=repr(exc))
        log(
            _logger,
            logging.INFO,
            "printer states received",
            **{verdict.value: self.reports[verdict] for verdict in Verdict},
        )

    # Plain functions: the link calls them as each message is parsed (no task per message).
    def _enqueue_state(self, message: Inbound) -> None:
        """Sort a state as it arrives: a heartbeat or a stale report is acknowledged here
        and then (the broker's window of unacknowledged messages never waits for the
        worker); news is queued for the worker, in order with the events."""
        where = self._printer_of(message.topic)
        if not message.payload:
            message.ack()
            return  # a cleared retained state
        try:
            state = decode(message.payload, PrinterState)
            verdict = self._ingest.sort(where[0], where[1], state, datetime.now(UTC))
            if verdict is Verdict.NEWS:
                # A heartbeat repeats the profile of the news applied before it.
                check_known_profile(state.profile_id)
        except ProtocolError as exc:
            message.ack()
            log(
                _logger,
                logging.WARNING,
                "printer message refused",
                topic=message.topic,
                reason=str(exc),
            )
            return
        self.reports[verdict] += 1
        if verdict is Verdict.NEWS:
            self._ingest.queued(where[0], where[1], state)
            self._queue.put_nowait(_News(message, where, state))
        else:
            message.ack()  # nothing to commit first

    def _enqueue_event(self, message: Inbound) -> None:
        self._queue.put_nowait(message)

    async def _worker(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            news: list[_News] = []
            for item in batch:
                if isinstance(item, _News):
                    news.append(item)
                    continue
                await self._guarded(self._apply_news, news, [n.message for n in news])
                news = []
                await self._guarded(self._handle, item, [item])
            await self._guarded(self._apply_news, news, [n.message for n in news])

    async def _guarded(
        self, handler: Callable[[Any], Awaitable[None]], what: Any, messages: list[Inbound]
    ) -> None:
        """Run one handler; a refused message is logged and acknowledged, never retried."""
        if not messages:
            return
        try:
            await handler(what)
        except (ProtocolError, LifecycleError) as exc:
            reason = exc.reason if isinstance(exc, LifecycleError) else str(exc)
            log(
                _logger,
                logging.WARNING,
                "printer message refused",
                topic=messages[0].topic,
                reason=reason,
            )
        finally:
            for message in messages:
                message.ack()

    def _printer_of(self, topic: str) -> tuple[str, str]:
        """(site, printer) of a state topic, parsed once per printer."""
        where = self._topics.get(topic)
        if where is None:
            parsed = topics.parse_topic(topic)
            assert parsed.site is not None and parsed.printer is not None
            where = (parsed.site, parsed.printer)
            if len(self._topics) < MAX_KNOWN_TOPICS:
                self._topics[topic] = where
        return where

    async def _apply_news(self, news: list[_News]) -> None:
        """Consecutive news, the newest state per printer, in one transaction (acknowledged
        by `_guarded` after it)."""
        newest = {item.where: item.state for item in news}
        grace_s = self._farm.settings.timing.offline_grace_s
        try:
            changes, statuses, summaries, refused = await self._farm.store.run(
                _states, newest, grace_s
            )
        except BaseException:
            for _site, printer in newest:
                self._ingest.not_applied(printer)
            raise
        for (site, printer), state in newest.items():
            if printer in refused:
                self._ingest.forget(printer)
            else:
                self._ingest.applied(site, printer, state)
        for topic, payload in summaries:
            self._farm.link.publish(topic, payload, retain=True)
        if changes.events or changes.jobs or changes.requests:
            self._farm.publisher.after_commit(changes, statuses, summaries_sent=changes.printers)
            self._farm.wake_for(changes)

    async def _handle(self, message: Inbound) -> None:
        parsed = topics.parse_topic(message.topic)
        assert parsed.site is not None and parsed.printer is not None
        if parsed.kind == topics.TopicKind.PRINTER_EVENTS:
            event = decode(message.payload, PrinterEvent)
            applied = await self._farm.apply(_event, parsed.site, parsed.printer, event)
            self.events_applied += applied
            if event.kind is not EventKind.PROGRESS:
                log(
                    _logger,
                    logging.INFO,
                    "printer event",
                    printer=parsed.printer,
                    kind=event.kind.value,
                    plate=event.plate_id,
                    applied=applied,
                    event_id=event.event_id,
                )

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SAVE_S)
            await self._save_heartbeats()

    async def _save_heartbeats(self) -> None:
        rows = self._ingest.take_heartbeats()
        for start in range(0, len(rows), HEARTBEAT_CHUNK):
            await self._farm.store.run(save_heartbeats, rows[start : start + HEARTBEAT_CHUNK])

    async def _grace_loop(self) -> None:
        while True:
            await asyncio.sleep(GRACE_CHECK_S)
            for printer_id in await self._farm.store.run(expired_grace_deadlines):
                log(
                    _logger,
                    logging.WARNING,
                    "printer offline past its grace period; its plate is interrupted",
                    printer=printer_id,
                )
                await self._farm.apply(_interrupt, printer_id)


def _states(
    session: Session,
    states: dict[tuple[str, str], PrinterState],
    grace_s: float,
) -> tuple[Changes, list[ShopStatus], list[tuple[str, bytes]], set[str]]:
    """Record each printer's newest state; the fleet summaries of printers that changed, and
    the printers whose state was refused."""
    changes = Changes()
    refused: set[str] = set()
    for (site, printer), state in states.items():
        try:
            changes.merge(
                record_printer_state(session, site, printer, state, grace_seconds=grace_s)
            )
        except LifecycleError as exc:  # checked before anything is written for the printer
            refused.add(printer)
            log(
                _logger,
                logging.WARNING,
                "printer state refused",
                printer=printer,
                reason=exc.reason,
            )
    statuses = job_statuses(session, changes.jobs)
    return changes, statuses, printer_summaries(session, changes.printers), refused


def _event(session: Session, site: str, printer: str, event: PrinterEvent) -> tuple[bool, Changes]:
    outcome = apply_printer_event(session, site, printer, event)
    return outcome.applied, outcome.changes


def _interrupt(session: Session, printer_id: str) -> tuple[None, Changes]:
    return None, interrupt_printer(session, printer_id)
