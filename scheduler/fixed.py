"""Plates that are not re-planned: locked ones, and the previous plan's promised ones.

Locked plates (sliced, dispatched or printing) stay exactly as the instance gives them. With
a previous plan, its plates that start within `freeze_hours` of `now` are promises: they keep
their id, printer, parts and places, unless that became impossible (the printer is offline
or no longer compatible, a part was cancelled or locked elsewhere: such parts leave the
plate, and a plate with none left goes).
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from protocol.planning import Plan, PlannedPlate
from scheduler.draft import Draft
from scheduler.farm import Farm

Fixed = dict[int, list[Draft]]


def locked_plates(farm: Farm) -> tuple[Fixed, dict[int, float], list[str]]:
    """(locked plates per printer, end of each printer's running plate, warnings)."""
    printer_index = {printer.id: i for i, printer in enumerate(farm.printers)}
    part_index = {part.id: i for i, part in enumerate(farm.parts)}
    groups = farm.group_index
    fixed: Fixed = {}
    locked_end: dict[int, float] = {}
    warnings: list[str] = []
    for plate in farm.spec.locked_plates:
        p = printer_index[plate.printer]
        parts = [part_index[pl.part] for pl in plate.placements if pl.part in part_index]
        draft = Draft(
            p,
            groups[(plate.material, plate.colour)],
            parts,
            plate.print_seconds,
            fixed_placements=list(plate.placements),
            fixed_id=plate.id,
            locked=True,
            utilisation=_utilisation(farm, p, parts),
        )
        if plate.status == "printing":
            draft.running = True
            draft.end = _running_end(farm, p, plate.print_seconds, plate.started_at)
            draft.start = draft.end - plate.print_seconds
            locked_end[p] = draft.end
        if not farm.printer_available[p]:
            warnings.append(
                f"locked plate {plate.id} is on printer {plate.printer}, which is "
                f"{farm.printers[p].state}; unlock its parts to plan them elsewhere"
            )
        fixed.setdefault(p, []).append(draft)
    return fixed, locked_end, warnings


def _running_end(farm: Farm, p: int, seconds: float, started_at: datetime | None) -> float:
    printer = farm.printers[p]
    if printer.state == "printing" and printer.free_at is not None:
        return max(0.0, farm.seconds(printer.free_at))
    if started_at is not None:
        return max(0.0, farm.seconds(started_at) + seconds)
    return seconds


def promised_plates(farm: Farm, previous: Plan, fixed: Fixed) -> Fixed:
    """The previous plan's plates starting within the freeze window, still possible."""
    printer_index = {printer.id: i for i, printer in enumerate(farm.printers)}
    part_index = {part.id: i for i, part in enumerate(farm.parts)}
    used = np.zeros(len(farm.parts), dtype=bool)
    for plates in fixed.values():
        for d in plates:
            used[d.parts] = True
    horizon = farm.spec.freeze_hours * 3600.0
    by_id = {plate.id: plate for plate in previous.plates}
    out: Fixed = {}
    for queue in previous.queues:
        p = printer_index.get(queue.printer)
        if p is None or not farm.printer_available[p]:
            continue
        for plate_id in queue.plates:
            plate = by_id.get(plate_id)
            if plate is None or plate.locked or plate.start is None:
                continue
            if farm.seconds(plate.start) > horizon:
                break
            draft = _keep(farm, p, plate, part_index, used)
            if draft is not None:
                used[draft.parts] = True
                out.setdefault(p, []).append(draft)
    return out


def _keep(
    farm: Farm, p: int, plate: PlannedPlate, part_index: dict[str, int], used: np.ndarray
) -> Draft | None:
    group = farm.group_index.get((plate.material, plate.colour))
    if group is None:
        return None
    kept = [
        pl
        for pl in plate.placements
        if pl.part in part_index
        and not used[part_index[pl.part]]
        and not farm.part_locked[part_index[pl.part]]
        and farm.eligible[part_index[pl.part], p]
        and int(farm.part_group[part_index[pl.part]]) == group
    ]
    if not kept:
        return None
    parts = [part_index[pl.part] for pl in kept]
    seconds = farm.spec.costs.plate_overhead_seconds + float(farm.part_seconds[parts].sum())
    return Draft(
        p,
        group,
        parts,
        seconds,
        fixed_placements=kept,
        fixed_id=plate.id,
        promised=True,
        utilisation=_utilisation(farm, p, parts),
        bed_full=plate.bed_full,
        start=math.nan,
    )


def _utilisation(farm: Farm, p: int, parts: list[int]) -> float:
    bed = farm.beds[int(farm.printer_bed[p])]
    area = sum(farm.library.shapes[int(farm.part_shape[x])].area for x in parts)
    return min(1.0, area / bed.area_mm2)
