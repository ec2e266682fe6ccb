"""Writing the plan: internal plates to the `Plan` model of protocol/planning.py.

Plate ids: locked and promised plates keep theirs; a new plate is named by its parts
("pl-" and a hash of the sorted part ids), so the same parts re-planned together keep the
same id across re-plans, and two plates of one plan never share one.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from protocol.planning import (
    Placement,
    Plan,
    PlanMetrics,
    PlannedPlate,
    PrinterQueue,
    UnplacedPart,
)
from scheduler.draft import Draft
from scheduler.farm import Farm


def plate_id(part_ids: list[str]) -> str:
    digest = hashlib.blake2b("\n".join(sorted(part_ids)).encode(), digest_size=6).hexdigest()
    return f"pl-{digest}"


def write_plan(
    farm: Farm,
    plates: list[list[Draft]],
    unplaced: dict[int, tuple[str, str]],
    warnings: list[str],
    metrics: PlanMetrics,
    seed: int,
) -> Plan:
    out_plates: list[PlannedPlate] = []
    queues: list[PrinterQueue] = []
    for p, seq in enumerate(plates):
        ids = []
        for draft in seq:
            plate = _plate(farm, draft)
            out_plates.append(plate)
            ids.append(plate.id)
        if ids:
            queues.append(PrinterQueue(printer=farm.printers[p].id, plates=ids))
    placed = {x for seq in plates for d in seq for x in d.parts}
    missing = [
        UnplacedPart(part=farm.parts[x].id, job=farm.parts[x].job, code=code, reason=reason)
        for x, (code, reason) in sorted(unplaced.items())
    ]
    for x, part in enumerate(farm.parts):
        if x not in placed and x not in unplaced and not farm.part_locked[x]:
            missing.append(
                UnplacedPart(
                    part=part.id,
                    job=part.job,
                    code="capacity",
                    reason="no compatible printer within range has staffed hours left to run it; "
                    "add staffed hours or printers near the ship-to point",
                )
            )
    return Plan(
        now=farm.spec.now,
        seed=seed,
        plates=out_plates,
        queues=queues,
        unplaced=missing,
        warnings=warnings,
        metrics=metrics,
    )


def _plate(farm: Farm, draft: Draft) -> PlannedPlate:
    printer = farm.printers[draft.printer]
    material, colour = farm.groups[draft.group]
    if draft.fixed_placements is not None:
        placements = list(draft.fixed_placements)
    else:
        assert draft.placements is not None
        placements = [
            Placement(
                part=farm.parts[x].id,
                x_mm=round(spot.x, 3),
                y_mm=round(spot.y, 3),
                rotation_deg=spot.rotation_deg,
            )
            for x, spot in zip(draft.parts, draft.placements, strict=True)
        ]
    ident = draft.fixed_id or plate_id([farm.parts[x].id for x in draft.parts])
    return PlannedPlate(
        id=ident,
        printer=printer.id,
        site=printer.site,
        material=material,
        colour=colour,
        placements=placements,
        print_seconds=round(draft.seconds, 3),
        start=_moment(farm.spec.now, draft.start),
        end=_moment(farm.spec.now, draft.end),
        locked=draft.locked,
        promised=draft.promised,
        spool_change=draft.spool_change,
        utilisation=round(min(1.0, draft.utilisation), 4),
        bed_full=draft.bed_full,
    )


def _moment(now: datetime, seconds: float) -> datetime | None:
    if not math.isfinite(seconds):
        return None
    return now + timedelta(seconds=round(seconds, 3))
