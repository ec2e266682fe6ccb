"""Local improvement: move plates off the printer that finishes last.

The dispatcher builds plates greedily, printer by printer; the last hours of a plan are where
greed shows: one printer still works through small groups while others are done. This pass
repeatedly takes the last plate of the printer that ends last and moves it (all of it, or the
parts that fit) to the printer able to end it earliest: same material and colour, every part
allowed there, nested again for that bed. A move is kept when the plan's cost, with each
hour of makespan priced in, goes down. A second pass (`absorb`) folds the plates that end
last into another printer's plate of the same colour at the same site that ends earlier
(its last plate, or one ending while no staff are there), saving a plate, a bed clear and
often a spool change. The work is bounded by a count of evaluations, never by
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
ABSORB_EXTRA_KM = 3.0  # parts folded into another plate ship at most this much farther


def improve(farm: Farm, plates: list[list[Draft]]) -> list[list[Draft]]:
    total_plates = sum(len(seq) for seq in plates)
    if total_plates == 0:
        return plates
    budget = max(MIN_EVALUATIONS, EVALUATIONS // total_plates)
    best = objective(farm, plates)
    tried: set[tuple[int, int]] = set()
    while budget > 0:
        ends = [seq[-1].end if seq and math.isfinite(seq[-1].end) else -math.inf for seq in plates]
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
    plates = absorb(farm, plates, budget_total=max(MIN_EVALUATIONS, EVALUATIONS // total_plates))
    retime(farm, plates)
    return plates


def absorb(farm: Farm, plates: list[list[Draft]], budget_total: int) -> list[list[Draft]]:
    """Fold the plates that end last into other printers' last plates of the same colour.

    A plate left for the next morning often holds a few parts of a colour that another
    printer prints through the night; that printer's last plate can take them (nested again
    for the union) and end a little later, still overnight, with no spool change and no
    extra bed clear. Parts that do not fit stay where they were. A fold is kept when it lowers
    the plan's cost without moving the farm's last plate end later.
    """
    best = objective(farm, plates)
    last = _last_end(plates)
    budget = budget_total
    tried: set[tuple[int, ...]] = set()
    while budget > 0:
        move = _next_absorbable(farm, plates, tried)
        if move is None:
            break
        p, receivers = move
        for q in receivers:
            budget -= 1
            candidate = _merged(farm, plates, p, q)
            if candidate is None:
                continue
            value = objective(farm, candidate)
            if value < best - 1e-9 and _last_end(candidate) <= last + 1e-6:
                best, plates, last = value, candidate, _last_end(candidate)
                break
    return plates


def _last_end(plates: list[list[Draft]]) -> float:
    return max((d.end for seq in plates for d in seq if math.isfinite(d.end)), default=0.0)


def _next_absorbable(
    farm: Farm, plates: list[list[Draft]], tried: set[tuple[int, ...]]
) -> tuple[int, list[tuple[int, int]]] | None:
    """The latest-ending movable last plate not tried yet, and plates that could take it.

    A receiver is a plate of the same colour on another printer that ends before this one
    starts and is that printer's last plate or ends while no staff are there (it may then run
    longer without delaying the printer's next plate, which waits for staff anyway).
    """
    order = sorted(
        (seq[-1].end, p)
        for p, seq in enumerate(plates)
        if seq and math.isfinite(seq[-1].end) and not _fixed(seq[-1])
    )
    for _end, p in reversed(order):
        plate = plates[p][-1]
        key = (p, *plate.parts)
        if key in tried:
            continue
        tried.add(key)
        allowed = np.asarray(farm.eligible[plate.parts].any(axis=0), dtype=bool)
        km = farm.distance_km[plate.parts][:, farm.printer_site].mean(axis=0)
        near = np.asarray(km <= km[p] + ABSORB_EXTRA_KM, dtype=bool)
        receivers = [
            (q, i)
            for q, seq in enumerate(plates)
            if allowed[q] and near[q]
            for i, host in enumerate(seq)
            if host.group == plate.group
            and not _fixed(host)
            and math.isfinite(host.end)
            and host.end < plate.start
            and (i == len(seq) - 1 or _unstaffed(farm, q, host.end))
        ]
        if receivers:
            receivers.sort(
                key=lambda qi: (round(float(km[qi[0]]), 1), plates[qi[0]][qi[1]].end, qi)
            )
            return p, receivers[:RECEIVERS]
    return None


def _unstaffed(farm: Farm, printer: int, t: float) -> bool:
    return not farm.calendars[int(farm.printer_site[printer])].staffed_at(t)


def _merged(
    farm: Farm, plates: list[list[Draft]], source: int, target: tuple[int, int]
) -> list[list[Draft]] | None:
    """Move what fits of `source`'s last plate onto the `target` plate (printer, index)."""
    q, i = target
    plate, host = plates[source][-1], plates[q][i]
    movable = [x for x in plate.parts if farm.eligible[x, q]]
    joined = nested_plate(farm, q, host.parts + movable, plate.group, host.bed_full)
    if joined is None or not set(host.parts) <= set(joined.parts):
        return None
    moved = set(joined.parts) - set(host.parts)
    if not moved:
        return None
    out = [list(seq) for seq in plates]
    out[q][i] = joined
    left = [x for x in plate.parts if x not in moved]
    if left:
        rest = nested_plate(farm, source, left, plate.group, plate.bed_full)
        if rest is None or len(rest.parts) < len(left):
            return None
        out[source][-1] = rest
    else:
        out[source] = out[source][:-1]
    return out


def nested_plate(
    farm: Farm, printer: int, parts: list[int], group: int, bed_full: bool
) -> Draft | None:
    """A plate of `parts` on `printer`, nested largest first; parts that do not fit are left."""
    layout = Layout(farm.beds[int(farm.printer_bed[printer])], farm.library)
    shapes = farm.library.shapes
    order = sorted(parts, key=lambda x: (-shapes[int(farm.part_shape[x])].area, x))
    placed, spots = [], []
    for x in order:
        spot = layout.place(int(farm.part_shape[x]))
        if spot is not None:
            placed.append(x)
            spots.append(spot)
    if not placed:
        return None
    seconds = farm.spec.costs.plate_overhead_seconds + float(farm.part_seconds[placed].sum())
    return Draft(
        printer,
        group,
        placed,
        seconds,
        spots,
        utilisation=layout.utilisation(),
        bed_full=bed_full or len(placed) < len(order),
    )


def _fixed(plate: Draft) -> bool:
    return plate.locked or plate.promised or plate.running


def objective(farm: Farm, plates: list[list[Draft]]) -> float:
    """The plan's cost with every hour of makespan priced in (re-times the plates)."""
    timing = retime(farm, plates)
    metrics = measure(farm, plates, timing.clocks)
    return metrics.cost + metrics.makespan_hours * farm.spec.costs.makespan_cost_per_hour


def _receivers(
    farm: Farm,
    plates: list[list[Draft]],
    plate: Draft,
    last: int,
    ends: list[float],
    tried: set[tuple[int, int]],
) -> list[int]:
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


def _moved(
    farm: Farm, plates: list[list[Draft]], source: int, target: int
) -> list[list[Draft]] | None:
    plate = plates[source][-1]
    layout = Layout(farm.beds[int(farm.printer_bed[target])], farm.library)
    shapes = farm.library.shapes
    order = sorted(plate.parts, key=lambda x: (-shapes[int(farm.part_shape[x])].area, x))
    spots = [layout.place(int(farm.part_shape[x])) for x in order]
    if any(spot is None for spot in spots):
        return None
    new = Draft(
        target,
        plate.group,
        order,
        plate.seconds,
        [spot for spot in spots if spot is not None],
        utilisation=layout.utilisation(),
        bed_full=plate.bed_full,
    )
    out = [list(seq) for seq in plates]
    out[source] = out[source][:-1]
    out[target] = out[target] + [new]
    return out
