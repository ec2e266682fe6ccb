"""Filling one plate: choose parts for a time budget, then nest them on the bed.

FDM prints a plate's parts one after another, so a plate lasts about the sum of its parts
plus the per-plate overhead. The dispatcher decides how long a plate should run (until staff
leave, or through the night); this module picks the most urgent parts that fit that time
and the bed, nests them largest first for density, and tops the plate up with further parts
placed one by one while time and room remain.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from scheduler.farm import Farm
from scheduler.nesting import Bed, Layout, Placed

SCAN_LIMIT = 400  # candidates looked at per plate: the pool is in urgency order
TOP_UP_FAILURES = 12
AREA_FILL = 0.95  # stop choosing by area estimate here; the nester has the last word


@dataclass(frozen=True)
class Budget:
    start: float  # when the plate will start (seconds after now)
    target: float  # plate seconds worth reaching (e.g. to last through the night)
    limit: float  # plate seconds not to exceed
    keep_due: bool  # do not make an already chosen part late by adding another


@dataclass
class Filled:
    parts: list[int] = field(default_factory=list)
    placements: list[Placed] = field(default_factory=list)
    seconds: float = 0.0  # including overhead
    utilisation: float = 0.0
    bed_full: bool = False


def fill_plate(
    farm: Farm,
    bed: Bed,
    candidates: Iterator[int],
    budget: Budget,
    cache: dict[tuple[Bed, tuple[int, ...]], list[Placed | None]],
) -> Filled:
    overhead = farm.spec.costs.plate_overhead_seconds
    chosen, rest, area_limited = _choose(farm, bed, candidates, budget, overhead)
    layout = Layout(bed, farm.library)
    placed_parts, placements, failed = _nest(farm, layout, chosen, cache)
    total = sum(float(farm.part_seconds[x]) for x in placed_parts)
    failures = 0
    for x in rest:
        if (placed_parts and overhead + total >= budget.target) or failures >= TOP_UP_FAILURES:
            break
        seconds = float(farm.part_seconds[x])
        if placed_parts and overhead + total + seconds > budget.limit:
            continue
        spot = layout.place(int(farm.part_shape[x]))
        if spot is None:
            failures += 1
            failed = True
            continue
        failures = 0
        placed_parts.append(x)
        placements.append(spot)
        total += seconds
    return Filled(
        placed_parts,
        placements,
        overhead + total if placed_parts else 0.0,
        layout.utilisation(),
        failed or area_limited,
    )


def _choose(
    farm: Farm, bed: Bed, candidates: Iterator[int], budget: Budget, overhead: float
) -> tuple[list[int], list[int], bool]:
    """Urgent parts first, within the time limit and about the bed's area."""
    chosen: list[int] = []
    total, area, earliest_due = 0.0, 0.0, float("inf")
    usable = _usable_area(bed) * AREA_FILL
    rest: list[int] = []
    scanned = 0
    for x in candidates:
        scanned += 1
        if scanned > SCAN_LIMIT:
            break
        seconds = float(farm.part_seconds[x])
        if chosen and overhead + total >= budget.target:
            rest.append(x)
            continue
        if chosen and overhead + total + seconds > budget.limit:
            continue
        end = budget.start + overhead + total + seconds
        if budget.keep_due and chosen and end > earliest_due >= end - seconds:
            continue
        claim = farm.library.shapes[int(farm.part_shape[x])].inflated_area(bed.spacing_mm)
        if area + claim > usable:
            if chosen:
                rest.append(x)
                return chosen, rest + list(_take(candidates, SCAN_LIMIT - scanned)), True
            continue
        chosen.append(x)
        total += seconds
        area += claim
        earliest_due = min(earliest_due, float(farm.part_due[x]))
    return chosen, rest, False


def _take(candidates: Iterator[int], count: int) -> Iterator[int]:
    for _ in range(max(0, count)):
        try:
            yield next(candidates)
        except StopIteration:
            return


def _nest(
    farm: Farm,
    layout: Layout,
    chosen: list[int],
    cache: dict[tuple[Bed, tuple[int, ...]], list[Placed | None]],
) -> tuple[list[int], list[Placed], bool]:
    """Largest first; identical part sets on identical beds reuse the earlier nesting."""
    shapes = farm.library.shapes
    order = sorted(chosen, key=lambda x: (-shapes[int(farm.part_shape[x])].area, x))
    key = (layout.bed, tuple(int(farm.part_shape[x]) for x in order))
    spots = cache.get(key)
    if spots is None:
        spots = [layout.place(shape) for shape in key[1]]
        cache[key] = spots
    else:
        for spot in spots:
            if spot is not None:
                layout.adopt(spot)
    parts = [x for x, spot in zip(order, spots, strict=True) if spot is not None]
    placements = [spot for spot in spots if spot is not None]
    return parts, placements, len(parts) < len(order)


def _usable_area(bed: Bed) -> float:
    if bed.shape == "circle":
        return 3.14159 * (bed.width_mm / 2.0 - bed.margin_mm) ** 2
    return (bed.width_mm - 2 * bed.margin_mm) * (bed.depth_mm - 2 * bed.margin_mm)
