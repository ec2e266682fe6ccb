"""Is a plan feasible? Exact checks of a `Plan` against its `PlanInstance`.

Used by the tests and by FarmBench on every plan it measures (ours and the baselines):
- every part on a plate lies inside its bed with the edge margin, and any two parts on a
  plate are at least the spacing apart (exact polygon distance, shapely, not bounding boxes);
- a plate's printer runs its material, is enclosed when a part needs it, is tall enough,
  is available, and its site is within the shipping radius of every part's ship-to point;
- no part is on two plates, locked plates are unchanged;
- every plate that needs staff (after a full bed or for a spool change) starts in staffed hours.
Returns a list of violations, empty when the plan is feasible.
"""

from __future__ import annotations

import numpy as np
from shapely import MultiPoint
from shapely.affinity import rotate, translate
from shapely.geometry.base import BaseGeometry

from protocol.planning import Plan, PlanInstance, PlannedPlate
from scheduler.farm import Farm, compile_farm

TOLERANCE_MM = 2e-3
TOLERANCE_S = 2e-3


def violations(instance: PlanInstance, plan: Plan, farm: Farm | None = None) -> list[str]:
    farm = farm or compile_farm(instance)
    problems: list[str] = []
    part_index = {part.id: i for i, part in enumerate(instance.parts)}
    printer_index = {printer.id: i for i, printer in enumerate(instance.printers)}
    seen: dict[str, str] = {}
    for plate in plan.plates:
        p = printer_index.get(plate.printer)
        if p is None:
            problems.append(f"plate {plate.id}: unknown printer {plate.printer}")
            continue
        for placement in plate.placements:
            if placement.part in seen:
                problems.append(
                    f"part {placement.part} is on {seen[placement.part]} and {plate.id}"
                )
            seen[placement.part] = plate.id
        if plate.locked:
            continue
        problems += _compatibility(farm, plate, p, part_index)
        problems += _geometry(instance, plate, p, part_index)
    problems += _locked_unchanged(instance, plan)
    problems += _staffed(farm, plan, printer_index)
    return problems


def _compatibility(
    farm: Farm, plate: PlannedPlate, p: int, part_index: dict[str, int]
) -> list[str]:
    out = []
    printer = farm.printers[p]
    if plate.material not in printer.materials:
        out.append(f"plate {plate.id}: printer {printer.id} does not run {plate.material}")
    for placement in plate.placements:
        x = part_index.get(placement.part)
        if x is None:
            out.append(f"plate {plate.id}: unknown part {placement.part}")
            continue
        part = farm.parts[x]
        if (part.material, part.colour) != (plate.material, plate.colour):
            out.append(f"plate {plate.id}: part {part.id} is {part.material} {part.colour}")
        if not farm.eligible[x, p]:
            out.append(
                f"plate {plate.id}: part {part.id} may not run on {printer.id} "
                "(material, enclosure, height, bed, distance or availability)"
            )
    return out


def _geometry(
    instance: PlanInstance, plate: PlannedPlate, p: int, part_index: dict[str, int]
) -> list[str]:
    printer = instance.printers[p]
    spacing = instance.packing.spacing_mm
    margin = instance.packing.edge_margin_mm
    polygons = []
    out = []
    for placement in plate.placements:
        x = part_index.get(placement.part)
        if x is None:
            continue
        hull = MultiPoint(instance.parts[x].footprint).convex_hull
        shape = rotate(hull, placement.rotation_deg, origin=(0, 0))
        shape = translate(shape, placement.x_mm, placement.y_mm)
        polygons.append((placement.part, shape))
        if not _inside_bed(
            shape,
            printer.bed.shape,
            printer.bed.width_mm,
            printer.bed.depth_mm or printer.bed.width_mm,
            margin,
        ):
            out.append(f"plate {plate.id}: part {placement.part} is off the bed or in its margin")
    for i, (name_a, a) in enumerate(polygons):
        for name_b, b in polygons[:i]:
            if a.distance(b) < spacing - TOLERANCE_MM:
                out.append(
                    f"plate {plate.id}: parts {name_a} and {name_b} are "
                    f"{a.distance(b):.3f} mm apart (spacing {spacing:g} mm)"
                )
    return out


def _inside_bed(shape: BaseGeometry, kind: str, width: float, depth: float, margin: float) -> bool:
    xs, ys = np.asarray(shape.convex_hull.boundary.coords if shape.area else shape.coords).T
    if kind == "circle":
        r = width / 2.0
        return bool((np.hypot(xs - r, ys - r) <= r - margin + TOLERANCE_MM).all())
    lo = margin - TOLERANCE_MM
    return bool(
        xs.min() >= lo and ys.min() >= lo and xs.max() <= width - lo and ys.max() <= depth - lo
    )


def _locked_unchanged(instance: PlanInstance, plan: Plan) -> list[str]:
    planned = {plate.id: plate for plate in plan.plates}
    out = []
    for locked in instance.locked_plates:
        plate = planned.get(locked.id)
        if plate is None:
            out.append(f"locked plate {locked.id} is missing from the plan")
        elif plate.printer != locked.printer or list(plate.placements) != list(locked.placements):
            out.append(f"locked plate {locked.id} was changed")
    return out


def _staffed(farm: Farm, plan: Plan, printer_index: dict[str, int]) -> list[str]:
    """Plates after a full bed, or with a spool change, start right after staffed work."""
    costs = farm.spec.costs
    by_id = {plate.id: plate for plate in plan.plates}
    out = []
    for queue in plan.queues:
        p = printer_index[queue.printer]
        printer = farm.printers[p]
        bed_full = printer.state in ("printing", "bed_full")
        calendar = farm.calendars[int(farm.printer_site[p])]
        for plate_id in queue.plates:
            plate = by_id[plate_id]
            if plate.start is None or plate.end is None:
                continue
            if plate.locked and plate.start < farm.spec.now:
                bed_full = True
                continue
            minutes = (costs.bed_clear_minutes if bed_full else 0.0) + (
                costs.spool_change_minutes if plate.spool_change else 0.0
            )
            if bed_full or plate.spool_change:
                began = farm.seconds(plate.start) - minutes * 60.0
                # plan times are rounded to the millisecond
                if not (
                    calendar.staffed_at(began - TOLERANCE_S)
                    or calendar.staffed_at(began + TOLERANCE_S)
                ):
                    out.append(
                        f"plate {plate.id} on {printer.id} needs staff at "
                        f"{plate.start.isoformat()} but nobody is there"
                    )
            bed_full = True
    return out
