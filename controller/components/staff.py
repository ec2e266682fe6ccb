"""Staff commands from each site's TUI (`sites/{site}/staff/cmd`).

Each command is decoded, applied in one transaction (`apply_staff_command`: accepted or
refused with a reason; a repeated command id gets its first answer again), answered on the
site's `staff/replies` topic, and forwarded to the agent where the printer must act: a bed
cleared (the agent refuses a new plate until it hears it), pause, resume, cancel a part or a
plate, maintenance. A malformed command is answered with a refusal naming what is wrong
when its id and user can be read, and logged either way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from datetime import UTC, datetime
from typing import cast

from sqlmodel import Session

from controller.component import Component
from controller.components import Farm
from controller.db.tables import Printer
from controller.lifecycle.staff import StaffOutcome, apply_staff_command, last_cleared_plate
from controller.lifecycle.transitions import Changes
from controller.logs import log
from controller.mqtt_link import Inbound
from protocol import topics
from protocol.codec import decode_any
from protocol.errors import ProtocolError
from protocol.messages.commands import BedCleared
from protocol.messages.staff import STAFF_COMMANDS, StaffBedCleared, StaffCommand, StaffReply

_logger = logging.getLogger(__name__)
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_ACTION = re.compile(r"staff\.[a-z_]{1,40}")


class StaffDesk(Component):
    name = "staff"

    def __init__(self, farm: Farm) -> None:
        super().__init__()
        self._farm = farm
        self._queue: asyncio.Queue[Inbound] = asyncio.Queue()
        farm.link.route(topics.topic_filter(topics.TopicKind.STAFF_CMD), self._enqueue)

    async def start(self) -> None:
        self.spawn(self._worker, "worker", restart=True)

    async def _enqueue(self, message: Inbound) -> None:
        await self._queue.put(message)

    async def _worker(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                await self._handle(message)
            finally:
                message.ack()

    async def _handle(self, message: Inbound) -> None:
        site = topics.parse_topic(message.topic).site
        assert site is not None
        try:
            command = decode_any(message.payload, STAFF_COMMANDS)
        except ProtocolError as exc:
            log(_logger, logging.WARNING, "staff command refused", site=site, reason=exc.reason)
            self._refuse_unreadable(site, message.payload, exc.reason)
            return
        staff_command = cast(StaffCommand, command)
        outcome = await self._farm.apply(_apply, site, staff_command)
        log(
            _logger,
            logging.INFO,
            "staff command",
            site=site,
            action=command.type,
            user=staff_command.staff_user,
            accepted=outcome.accepted,
            reason=outcome.reason,
        )
        forwarded = any(str(r.action) == "bed_cleared" for r in outcome.changes.requests)
        if outcome.accepted and not forwarded:
            # A replayed command is forwarded again: the controller may have died after its
            # commit and before the forward went out (the agent takes a repeat in its stride).
            await self._forward(site, staff_command)
        self._farm.publisher.staff_reply(
            site,
            StaffReply(
                command_id=staff_command.command_id,
                action=command.type,
                staff_user=staff_command.staff_user,
                accepted=outcome.accepted,
                reason=outcome.reason[:500],
                at=datetime.now(UTC),
            ),
        )

    async def _forward(self, site: str, command: StaffCommand) -> None:
        """What the lifecycle does not turn into agent commands itself."""
        if isinstance(command, StaffBedCleared):
            printer_site, plate_id = await self._farm.store.run(_bed_of, command.printer_id)
            forwarded = BedCleared(
                command_id="c" + uuid.uuid4().hex[:15],
                issued_at=datetime.now(UTC),
                plate_id=plate_id,
                staff_user=command.staff_user,
            )
            self._farm.publisher.command(printer_site or site, command.printer_id, forwarded)

    def _refuse_unreadable(self, site: str, payload: bytes, reason: str) -> None:
        """Answer a malformed command when its id, user and action can be read safely."""
        try:
            data = json.loads(payload) if len(payload) <= 64 * 1024 else None
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            return
        command_id, user, action = data.get("command_id"), data.get("staff_user"), data.get("type")
        if not (
            isinstance(command_id, str)
            and _ID.fullmatch(command_id)
            and isinstance(user, str)
            and 0 < len(user) <= 64
            and user.isprintable()
            and isinstance(action, str)
            and _ACTION.fullmatch(action)
        ):
            return
        self._farm.publisher.staff_reply(
            site,
            StaffReply(
                command_id=command_id,
                action=action,
                staff_user=user,
                accepted=False,
                reason=reason[:500] or "malformed command",
                at=datetime.now(UTC),
            ),
        )


def _apply(session: Session, site: str, command: StaffCommand) -> tuple[StaffOutcome, Changes]:
    outcome = apply_staff_command(session, site, command)
    return outcome, outcome.changes


def _bed_of(session: Session, printer_id: str) -> tuple[str | None, str | None]:
    """The printer's site and the plate staff last took off its bed."""
    printer = session.get(Printer, printer_id)
    if printer is None:
        return None, None
    return printer.site_id, last_cleared_plate(session, printer_id)
