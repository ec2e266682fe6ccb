"""Local improvement: move plates off the printer that finishes last.

The dispatcher builds plates greedily, printer by printer; the last hours of a plan are where
greed shows: one printer still works through small groups while others are done. This pass
repeatedly takes the last plate of the printer that ends last and moves it (all of it, or the
parts that fit) to the printer able to end it earliest: same material and colour, every part
allowed there, nested again for that bed. A move is kept when the plan's cost, with each
hour of makespan priced in, goes down. The work is bounded by a count of evaluations, never by
the clock, so the result is the same on every machine.
"""

from __future__ import annotations

import math

import numpy as np

from scheduler.draft import Draft
from scheduler.evaluate import measure, retime
from scheduler.farm import Farm
from scheduler.nesting import Layout

EVALUATIONS = 60_000  # budget in plate-simulations (plates x candidate plans tried)
MIN_EVALUATIONS = 10
RECEIVERS = 4  # printers tried per move


def improve(farm: Farm, plates: list[list[Draft]]) -> list[list[Draft]]:
    total_plates = sum(len(seq) for seq in plates)
    if total_plates == 0:
        return plates
    budget = max(MIN_EVALUATIONS, EVALUATIONS // total_plates)
    best = objective(farm, plates)
    tried: set[tuple[int, int]] = set()
    while budget > 0:
        ends = [seq[-1].end if seq and math.isfinite(seq[-1].end) else -math.inf
                for seq in plates]
        last = int(np.argmax(ends))
        if not plates[last] or _fixed(plates[last][-1]) or ends[last] <= 0:
            break
        plate = plates[last][-1]
        moved = False
        for q in _receivers(farm, plates, plate, last, ends, tried):
            budget -= 1
            candidate = _moved(farm, plates, last, q)
            if candidate is None:
                continue
            value = objective(farm, candidate)
            if value < best - 1e-9:
                best, plates, moved = value, candidate, True
                break
        if not moved:
            break
    retime(farm, plates)
    return plates


def _fixed(plate: Draft) -> bool:
    return plate.locked or plate.promised or plate.running


def objective(farm: Farm, plates: list[list[Draft]]) -> float:
    """The plan's cost with every hour of makespan priced in (re-times the plates)."""
    timing = retime(farm, plates)
    metrics = measure(farm, plates, timing.clocks)
    return metrics.cost + metrics.makespan_hours * farm.spec.costs.makespan_cost_per_hour


def _receivers(farm: Farm, plates: list[list[Draft]], plate: Draft, last: int,
               ends: list[float], tried: set[tuple[int, int]]) -> list[int]:
    allowed = np.asarray(farm.eligible[plate.parts].all(axis=0), dtype=bool)
    allowed[last] = False

    def could_start(q: int) -> float:
        free = max(ends[q], 0.0)
        if not plates[q]:
            return free
        return farm.calendars[int(farm.printer_site[q])].next_staffed(free)

    order = sorted(np.flatnonzero(allowed), key=lambda q: (could_start(int(q)), q))
    out = []
    for q in order:
        key = (id(plate), int(q))
        if key in tried:
            continue
        tried.add(key)
        out.append(int(q))
        if len(out) >= RECEIVERS:
            break
    return out


def _moved(farm: Farm, plates: list[list[Draft]], source: int,
           target: int) -> list[list[Draft]] | None:
    plate = plates[source][-1]
    layout = Layout(farm.beds[int(farm.printer_bed[target])], farm.library)
    shapes = farm.library.shapes
    order = sorted(plate.parts, key=lambda x: (-shapes[int(farm.part_shape[x])].area, x))
    spots = [layout.place(int(farm.part_shape[x])) for x in order]
    if any(spot is None for spot in spots):
        return None
    new = Draft(target, plate.group, order, plate.seconds,
                [spot for spot in spots if spot is not None],
                utilisation=layout.utilisation(), bed_full=plate.bed_full)
    out = [list(seq) for seq in plates]
    out[source] = out[source][:-1]
    out[target] = out[target] + [new]
    return out
