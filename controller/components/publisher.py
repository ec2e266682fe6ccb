"""Publishing: job statuses to shops on every change, commands to agents, fleet summaries.

Job statuses go out right after the transaction that changed them, in commit order, on the
job's retained status topic, so a shop (or `makerfarm submit`) sees every job's states in
order and a late subscriber gets the newest. Commands the lifecycle asks for (cancel a part,
pause, ...) become protocol `PrinterCommand`s on the printer's cmd topic. Fleet summaries
for the TUI are retained and published when something changed, at most once per
`fleet_publish_interval_s`: the summaries of the printers a commit touched (directly or
through their plates), and the farm-wide ones (queue, sites, plates, alerts). Every printer's
summary is also refreshed once per `PRINTER_REFRESH_S`, a slice at a time, so its
`last_seen_at` (heartbeats are not news) never lags by more than that, and no publish ever
holds the database thread for the whole fleet.

At start every open job's status is published again: a controller killed between a commit
and its publish leaves no shop with a stale status. With several controllers only the leader
re-announces (at each take-over) and builds the fleet summaries (controller.leadership).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, func, select

from controller.component import Component
from controller.components import Wakeup
from controller.config import ControllerSettings
from controller.db.tables import Job, Printer
from controller.effects import ShopStatus, job_statuses
from controller.fleet_summaries import farm_summaries, printer_summaries, printers_of_plates
from controller.leadership import Leadership, SoloLeadership
from controller.lifecycle.states import OPEN_JOB_STATES
from controller.lifecycle.transitions import AgentAction, AgentRequest, Changes
from controller.logs import log
from controller.mqtt_link import MqttLink
from controller.store import Store
from protocol import topics
from protocol.base import Message
from protocol.codec import encode
from protocol.messages.commands import (
    BedCleared,
    CancelPart,
    CancelPlate,
    Pause,
    Resume,
    SetMaintenance,
)
from protocol.messages.jobs import Rejection
from protocol.messages.staff import StaffReply

_logger = logging.getLogger(__name__)
# Jobs finished this recently are re-announced at start too (their final status may be the
# one a crash kept from being published).
RECENT_FINAL_S = 24 * 3600
# Every printer's summary is published again within this long (in slices, one per publish).
PRINTER_REFRESH_S = 60.0


def new_command_id() -> str:
    return "c" + uuid.uuid4().hex[:15]


def agent_command(request: AgentRequest) -> Message:
    """The protocol command for a lifecycle request."""
    common: dict[str, Any] = {"command_id": new_command_id(), "issued_at": datetime.now(UTC)}
    action = str(request.action)
    if action == AgentAction.CANCEL_PART:
        return CancelPart(
            plate_id=request.plate_id, part_id=request.part_id, reason=request.reason, **common
        )
    if action == AgentAction.CANCEL_PLATE:
        return CancelPlate(plate_id=request.plate_id, reason=request.reason, **common)
    if action == AgentAction.PAUSE:
        return Pause(**common)
    if action == AgentAction.RESUME:
        return Resume(**common)
    if action == AgentAction.SET_MAINTENANCE:
        return SetMaintenance(on=bool(request.on), reason=request.reason, **common)
    if action == "bed_cleared":
        return BedCleared(plate_id=request.plate_id, **common)
    raise ValueError(f"no protocol command for the agent request {action!r}")


class Publisher(Component):
    name = "publisher"

    def __init__(
        self,
        settings: ControllerSettings,
        store: Store,
        link: MqttLink,
        leadership: Leadership | SoloLeadership | None = None,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._store = store
        self._link = link
        self._leadership = leadership or SoloLeadership()
        self.fleet_changed = Wakeup()
        self._dirty_printers: set[str] = set()
        self._dirty_plates: set[str] = set()
        self._refresh_after = ""  # the rolling refresh continues after this printer id

    async def start(self) -> None:
        self.spawn(
            lambda: self._leadership.while_leader(self._lead), "fleet-summaries", restart=True
        )

    async def _lead(self) -> None:
        statuses = await self._store.run(_statuses_to_announce)
        for entry in statuses:
            self.job_status(entry)
        log(_logger, logging.INFO, "job statuses re-announced", jobs=len(statuses))
        self.fleet_changed.poke()
        await self._fleet_loop()

    def after_commit(
        self,
        changes: Changes,
        statuses: list[ShopStatus],
        *,
        summaries_sent: Collection[str] = (),
    ) -> None:
        """Publish what a commit changed; `summaries_sent`: printers whose new summaries the
        caller already published."""
        for entry in statuses:
            self.job_status(entry)
        for request in changes.requests:
            self.command(request.site_id, request.printer_id, agent_command(request))
        self._dirty_printers |= changes.printers.difference(summaries_sent)
        self._dirty_plates |= changes.plates
        self.fleet_changed.poke()

    def job_status(self, entry: ShopStatus) -> None:
        self._link.publish(
            topics.job_status_topic(entry.shop_id, entry.status.job_id),
            encode(entry.status),
            retain=True,
        )

    def command(self, site_id: str, printer_id: str, command: Message) -> None:
        log(_logger, logging.INFO, "command to agent", printer=printer_id, command=command.type)
        self._link.publish(topics.printer_cmd_topic(site_id, printer_id), encode(command))

    def rejection(self, shop_id: str, rejection: Rejection) -> None:
        self._link.publish(topics.shop_errors_topic(shop_id), encode(rejection))

    def staff_reply(self, site_id: str, reply: StaffReply) -> None:
        self._link.publish(topics.staff_replies_topic(site_id), encode(reply))

    async def publish_statuses(self, job_ids: list[str]) -> None:
        """Publish the current status of these jobs (e.g. to answer a resubmit)."""
        for entry in await self._store.run(job_statuses, job_ids):
            self.job_status(entry)

    async def _fleet_loop(self) -> None:
        interval = self._settings.timing.fleet_publish_interval_s
        last = -PRINTER_REFRESH_S  # the first pass publishes every printer's summary
        while True:
            changed = await self.fleet_changed.wait(interval)
            started = time.monotonic()
            printers, self._dirty_printers = self._dirty_printers, set()
            plates, self._dirty_plates = self._dirty_plates, set()
            share = (started - last) / PRINTER_REFRESH_S  # of the fleet, to refresh now
            last = started
            summaries, self._refresh_after = await self._store.run(
                _fleet_summaries, printers, plates, changed, self._refresh_after, share
            )
            for topic, payload in summaries:
                self._link.publish(topic, payload, retain=True)
            # A big farm's summaries take a while to build: keep them to a tenth of the
            # database's time.
            await asyncio.sleep(max(interval, 10 * (time.monotonic() - started)))


def _fleet_summaries(
    session: Session,
    printers: set[str],
    plates: set[str],
    changed: bool,
    refresh_after: str,
    share: float,
) -> tuple[list[tuple[str, bytes]], str]:
    """The summaries of changed printers and the next slice of the rolling refresh, plus
    the farm-wide summaries when something changed; where the refresh goes on next time."""
    total = session.exec(select(func.count()).select_from(Printer)).one()
    slice_size = max(1, math.ceil(total * min(1.0, share)))
    refresh = list(
        session.exec(
            select(Printer.id)
            .where(col(Printer.id) > refresh_after)
            .order_by(col(Printer.id))
            .limit(slice_size)
        )
    )
    next_after = refresh[-1] if len(refresh) == slice_size else ""
    ids = printers | printers_of_plates(session, plates) | set(refresh)
    summaries = printer_summaries(session, ids)
    if changed:
        summaries += farm_summaries(session)
    return summaries, next_after


def _statuses_to_announce(session: Session) -> list[ShopStatus]:
    cutoff = datetime.fromtimestamp(datetime.now(UTC).timestamp() - RECENT_FINAL_S, UTC)
    open_states = [state.value for state in OPEN_JOB_STATES]
    query = select(Job.id).where(col(Job.state).in_(open_states) | (col(Job.updated_at) >= cutoff))
    return job_statuses(session, list(session.exec(query)))


def printer_site(session: Session, printer_id: str) -> str | None:
    printer = session.get(Printer, printer_id)
    return printer.site_id if printer else None
