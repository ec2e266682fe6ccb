"""Slicing: each printer's next plates become checked, gzip'd G-code in the data directory.

Woken when plans change, it picks the planned plates that are next in their printer's queue
(up to `LOOKAHEAD` per printer ahead of what is printing), marks each `slicing` (from then on
the scheduler keeps it as it is), slices it in a worker process (cached by content: the
same meshes, placements, profile, material and settings are sliced once), and records the
program (`sliced`) or the failure (the plate fails, its parts go back to the queue with the
attempt counted). At most one plate per worker process is sliced at a time.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter

from sqlmodel import Session, col, select

from controller.component import Component
from controller.components import Farm
from controller.db.tables import Job, Mesh, Part, Plate, PlatePart, Printer
from controller.lifecycle.plates import (
    mark_plate_slice_failed,
    mark_plate_sliced,
    mark_plate_slicing,
)
from controller.lifecycle.states import PartState, PlateState
from controller.lifecycle.transitions import Changes, LifecycleError
from controller.logs import log
from controller.process_pool import WorkerCrashed
from controller.workers import PartOnPlate, SlicedPlate, SliceProblem, slice_plate_to_store

_logger = logging.getLogger(__name__)
LOOKAHEAD = 2
_AHEAD_STATES = (PlateState.SLICING.value, PlateState.SLICED.value)


class Slicer(Component):
    name = "slicer"

    def __init__(self, farm: Farm) -> None:
        super().__init__()
        self._farm = farm
        self._busy: set[str] = set()
        self._slots = asyncio.Semaphore(farm.settings.workers)
        self.sliced = 0
        self.cache_hits = 0

    async def start(self) -> None:
        # With several controllers the leader slices (controller.leadership): plates left
        # `slicing` can then only be the work of a leader that is gone.
        self.spawn(lambda: self._farm.leadership.while_leader(self._lead), "loop", restart=True)

    async def _lead(self) -> None:
        await self._farm.store.run(_restart_interrupted_slices)
        self._farm.signals.slice.poke()
        await self._loop()

    async def _loop(self) -> None:
        while True:
            await self._farm.signals.slice.wait(30.0)
            for plate_id in await self._farm.store.run(plates_to_slice, LOOKAHEAD):
                if plate_id in self._busy:
                    continue
                self._busy.add(plate_id)
                self.spawn(functools.partial(self._slice, plate_id), f"slice-{plate_id}")

    async def _slice(self, plate_id: str) -> None:
        try:
            async with self._slots:
                job = await self._farm.apply(_begin, plate_id, replan=False)
                if job is None:
                    return
                parts, profile_id, material, quality = job
                try:
                    result = await self._farm.pool.run(
                        slice_plate_to_store,
                        parts,
                        profile_id,
                        material,
                        quality,
                        str(self._farm.settings.gcode_dir),
                    )
                except WorkerCrashed as exc:
                    result = SliceProblem("slicer_crashed", str(exc))
                await self._finish(plate_id, result)
        finally:
            self._busy.discard(plate_id)
            self._farm.signals.slice.poke()

    async def _finish(self, plate_id: str, result: SlicedPlate | SliceProblem) -> None:
        if isinstance(result, SliceProblem):
            log(
                _logger,
                logging.WARNING,
                "plate could not be sliced",
                plate=plate_id,
                code=result.code,
                reason=result.reason,
            )
            await self._farm.apply(_failed, plate_id, f"{result.code}: {result.reason}")
            return
        try:
            await self._farm.apply(_sliced, plate_id, result, replan=False)
        except LifecycleError as exc:
            log(
                _logger,
                logging.INFO,
                "sliced plate was dropped meanwhile",
                plate=plate_id,
                reason=exc.reason,
            )
            return
        self.sliced += 1
        self.cache_hits += result.from_cache
        log(
            _logger,
            logging.INFO,
            "plate sliced",
            plate=plate_id,
            sha256=result.gcode_sha256,
            seconds=round(result.print_seconds),
            layers=result.layers,
            cached=result.from_cache,
        )


def plates_to_slice(session: Session, lookahead: int) -> list[str]:
    """Planned plates next in their printer's queue, at most `lookahead` ahead per printer."""
    ahead = Counter(
        session.exec(select(Plate.printer_id).where(col(Plate.state).in_(_AHEAD_STATES)))
    )
    chosen = []
    query = (
        select(Plate.id, Plate.printer_id)
        .where(Plate.state == PlateState.PLANNED.value)
        .order_by(col(Plate.sequence), col(Plate.planned_start), col(Plate.id))
    )
    for plate_id, printer_id in session.exec(query):
        if ahead[printer_id] < lookahead:
            ahead[printer_id] += 1
            chosen.append(plate_id)
    return chosen


SliceJob = tuple[tuple[PartOnPlate, ...], str, str, str]


def _begin(session: Session, plate_id: str) -> tuple[SliceJob | None, Changes]:
    plate = session.get(Plate, plate_id)
    if plate is None or plate.state != PlateState.PLANNED:
        return None, Changes()
    printer = session.get(Printer, plate.printer_id)
    assert printer is not None
    changes = mark_plate_slicing(session, plate_id)
    return _slice_job(session, plate, printer.profile_id), changes


def _slice_job(session: Session, plate: Plate, profile_id: str) -> SliceJob:
    rows = session.exec(
        select(PlatePart, Part, Job, Mesh)
        .join(Part, col(Part.id) == PlatePart.part_id)
        .join(Job, col(Job.id) == Part.job_id)
        .join(Mesh, col(Mesh.sha256) == Job.mesh_sha256)
        .where(PlatePart.plate_id == plate.id, Part.plate_id == plate.id)
        .order_by(col(PlatePart.object_label))
    )
    parts, qualities = [], Counter[str]()
    for placed, part, job, mesh in rows:
        if part.state not in (PartState.PLANNED, PartState.SLICED):
            continue
        parts.append(
            PartOnPlate(
                part.id,
                placed.object_label,
                mesh.stored_path,
                mesh.format,
                job.scale,
                placed.x_mm,
                placed.y_mm,
                placed.rotation_deg,
            )
        )
        qualities[job.quality] += 1
    quality = qualities.most_common(1)[0][0] if qualities else "standard"
    return tuple(parts), profile_id, plate.material, quality


def _sliced(session: Session, plate_id: str, result: SlicedPlate) -> tuple[None, Changes]:
    changes = mark_plate_sliced(
        session,
        plate_id,
        gcode_sha256=result.gcode_sha256,
        gcode_path=result.gcode_path,
        gcode_bytes=result.gcode_bytes,
        estimated_seconds=result.print_seconds,
        stats={
            "filament_g": result.filament_g,
            "layers": result.layers,
            "gcode_gzip_bytes": result.gcode_gzip_bytes,
        },
    )
    return None, changes


def _failed(session: Session, plate_id: str, reason: str) -> tuple[None, Changes]:
    return None, mark_plate_slice_failed(session, plate_id, reason=reason)


def _restart_interrupted_slices(session: Session) -> None:
    """Plates left `slicing` by a crash are sliced again (the cache makes it cheap)."""
    for plate in session.exec(select(Plate).where(Plate.state == PlateState.SLICING.value)):
        changes = Changes()
        changes.move(
            session, plate, PlateState.PLANNED, actor="slicer", kind="plate.slice_restarted"
        )
