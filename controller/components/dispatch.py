"""Dispatch: a sliced plate goes to its printer once the printer may take it.

A printer may take its next plate when it is online and idle, not in maintenance, its bed
confirmed clear by staff, nothing on its bed, and the plate's material and colour loaded
(`printers_ready_for_dispatch`). The plate is claimed in one transaction
(`claim_plate_for_dispatch`: never two plates on one bed, never one plate twice), then the
gzip'd G-code is published to the printer's gcode topic and `cmd.run_plate` names it by
sha256. Until the agent acknowledges the plate (`plate_received`), both are sent again every
`dispatch_resend_s` and after a controller restart; the agent ignores a plate it already has.

With several controllers every one dispatches (the claim is what keeps a plate from going
out twice), but only the leader resends and recovers at take-over (controller.leadership),
so a plate waiting for its acknowledgement is sent again once, not once per controller.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from controller.component import Component
from controller.components import Farm
from controller.components.publisher import agent_command
from controller.db.tables import Plate, Printer
from controller.lifecycle.plates import claim_plate_for_dispatch, placements
from controller.lifecycle.printers import printers_ready_for_dispatch
from controller.lifecycle.recovery import recover
from controller.lifecycle.states import PartState, PlateState
from controller.lifecycle.transitions import AgentRequest, Changes
from controller.logs import log
from protocol import topics
from protocol.codec import encode
from protocol.messages.commands import PlatePart, RunPlate

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shipment:
    """Everything needed to (re)send one plate to its printer."""

    plate_id: str
    site_id: str
    printer_id: str
    profile_id: str
    material: str
    colour: str
    gcode_sha256: str
    gcode_path: str
    gcode_bytes: int
    estimated_seconds: float
    parts: tuple[tuple[str, str], ...]  # (part id, object label)


class Dispatcher(Component):
    name = "dispatch"

    def __init__(self, farm: Farm) -> None:
        super().__init__()
        self._farm = farm
        self.dispatched = 0

    async def start(self) -> None:
        self._farm.signals.dispatch.poke()
        self.spawn(self._loop, "loop", restart=True)
        self.spawn(lambda: self._farm.leadership.while_leader(self._lead), "resend", restart=True)

    async def _lead(self) -> None:
        # After a restart or a take-over: plates sent but never acknowledged are sent again
        # at once, and part cancellations the agents may not have heard are repeated.
        recovery = await self._farm.store.run(_recover)
        for shipment in recovery.shipments:
            await self._send(shipment, resend=True)
        for request in recovery.requests:
            self._farm.publisher.command(
                request.site_id, request.printer_id, agent_command(request)
            )
        log(
            _logger,
            logging.INFO,
            "in-flight work recovered",
            resent=len(recovery.shipments),
            cancels=len(recovery.requests),
            open_jobs=recovery.open_jobs,
            offline_timers=recovery.timers,
        )
        await self._resend_loop()

    async def _loop(self) -> None:
        while True:
            await self._farm.signals.dispatch.wait(10.0)
            printers = await self._farm.store.run(_ready_printer_ids)
            for printer_id in printers:
                shipment = await self._farm.apply(_claim, printer_id, replan=False)
                if shipment is not None:
                    await self._send(shipment)
                    self.dispatched += 1

    async def _resend_loop(self) -> None:
        period = self._farm.settings.timing.dispatch_resend_s
        while True:
            await asyncio.sleep(period)
            cutoff = datetime.now(UTC) - timedelta(seconds=period)
            for shipment in await self._farm.store.run(unacknowledged, cutoff):
                await self._send(shipment, resend=True)

    async def _send(self, shipment: Shipment, resend: bool = False) -> None:
        try:
            packed = await asyncio.to_thread(Path(shipment.gcode_path).read_bytes)
        except OSError as exc:
            log(
                _logger,
                logging.ERROR,
                "sliced program missing; plate not sent",
                plate=shipment.plate_id,
                path=shipment.gcode_path,
                error=str(exc),
            )
            return
        command = RunPlate(
            command_id="c" + uuid.uuid4().hex[:15],
            issued_at=datetime.now(UTC),
            plate_id=shipment.plate_id,
            profile_id=shipment.profile_id,
            gcode_sha256=shipment.gcode_sha256,
            gcode_gzip_bytes=len(packed),
            gcode_bytes=shipment.gcode_bytes,
            parts=tuple(PlatePart(part_id=p, label=label) for p, label in shipment.parts),
            material=shipment.material,
            colour=shipment.colour,
            estimated_seconds=shipment.estimated_seconds,
        )
        link = self._farm.link
        link.publish(
            topics.printer_gcode_topic(
                shipment.site_id, shipment.printer_id, shipment.gcode_sha256
            ),
            packed,
        )
        link.publish(
            topics.printer_cmd_topic(shipment.site_id, shipment.printer_id), encode(command)
        )
        log(
            _logger,
            logging.INFO,
            "plate resent" if resend else "plate dispatched",
            plate=shipment.plate_id,
            printer=shipment.printer_id,
            parts=len(shipment.parts),
            gzip_bytes=len(packed),
        )


@dataclass(frozen=True)
class _Recovered:
    shipments: list[Shipment]
    requests: list[AgentRequest]
    open_jobs: int
    timers: int


def _recover(session: Session) -> _Recovered:
    found = recover(session)
    return _Recovered(
        shipments=[
            _shipment(d.plate, d.site_id, d.profile_id, d.parts)
            for d in found.unacknowledged_dispatches
            if d.parts
        ],
        requests=found.cancel_requests,
        open_jobs=len(found.open_jobs),
        timers=len(found.grace_deadlines),
    )


def _ready_printer_ids(session: Session) -> list[str]:
    return [printer.id for printer in printers_ready_for_dispatch(session)]


def _claim(session: Session, printer_id: str) -> tuple[Shipment | None, Changes]:
    claim = claim_plate_for_dispatch(session, printer_id)
    if claim is None:
        return None, Changes()
    return _shipment(claim.plate, claim.site_id, claim.profile_id, claim.parts), claim.changes


def _shipment(
    plate: Plate, site_id: str, profile_id: str, parts: list[tuple[str, str]]
) -> Shipment:
    assert plate.gcode_sha256 and plate.gcode_path and plate.gcode_bytes
    return Shipment(
        plate.id,
        site_id,
        plate.printer_id,
        profile_id,
        plate.material,
        plate.colour,
        plate.gcode_sha256,
        plate.gcode_path,
        plate.gcode_bytes,
        plate.estimated_seconds,
        tuple(parts),
    )


def unacknowledged(session: Session, before: datetime | None) -> list[Shipment]:
    """Dispatched plates the agent has not acknowledged (sent before `before`, if given)."""
    query = (
        select(Plate, Printer)
        .join(Printer, col(Printer.id) == Plate.printer_id)
        .where(Plate.state == PlateState.DISPATCHED.value, col(Plate.acknowledged_at).is_(None))
    )
    if before is not None:
        query = query.where(col(Plate.dispatched_at) <= before)
    shipments = []
    for plate, printer in session.exec(query):
        parts = [
            (part.id, placed.object_label)
            for placed, part in placements(session, plate.id)
            if part.plate_id == plate.id and part.state == PartState.DISPATCHED
        ]
        if parts:
            shipments.append(_shipment(plate, printer.site_id, printer.profile_id, parts))
    return shipments
