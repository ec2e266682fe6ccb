"""The two baselines FarmBench compares against, timed by the same clocks as the planner.

- FIFO: parts in submission order, one part per plate, each on the first compatible
  printer to come free (any site within the shipping radius).
- FFD: first-fit-decreasing plates per material and colour: when a printer comes free it
  takes the earliest-due part shipped from its (nearest) site, keeps its loaded spool if that
  material has a part due within a day of it, and fills the bed with that group's parts,
  largest first, as long as they fit.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from scheduler.draft import Draft
from scheduler.farm import Farm
from scheduler.nesting import Layout
from scheduler.timeline import Clocks

AFFINITY_SECONDS = 24 * 3600.0
FFD_WINDOW = 200  # parts, in due order, that one plate is filled from


def fifo(farm: Farm) -> list[list[Draft]]:
    clocks = Clocks.start(farm)
    waiting = [int(x) for x in np.flatnonzero(farm.eligible.any(axis=1) & ~farm.part_locked)]
    taken = np.zeros(len(farm.parts), dtype=bool)
    plates: list[list[Draft]] = [[] for _ in farm.printers]
    overhead = farm.spec.costs.plate_overhead_seconds
    heap = [(c.ready, p) for p, c in enumerate(clocks.printers) if not math.isinf(c.ready)]
    heapq.heapify(heap)
    head = 0
    while heap:
        _t, p = heapq.heappop(heap)
        while head < len(waiting) and taken[waiting[head]]:
            head += 1
        x = next((x for x in waiting[head:] if not taken[x] and farm.eligible[x, p]), None)
        if x is None:
            continue
        g = int(farm.part_group[x])
        draft = _plate(farm, p, g, [x])
        if draft is None or math.isinf(clocks.earliest_start(p, g)):
            continue
        draft.seconds = overhead + float(farm.part_seconds[x])
        timed = clocks.run(p, g, draft.seconds)
        draft.start, draft.end = timed.start, timed.end
        taken[x] = True
        plates[p].append(draft)
        heapq.heappush(heap, (clocks.printers[p].ready, p))
    return plates


def ffd(farm: Farm) -> list[list[Draft]]:
    clocks = Clocks.start(farm)
    nearest = _nearest_site(farm)
    taken = farm.part_locked | (nearest < 0)
    by_due = {
        s: [int(x) for x in np.argsort(farm.part_due, kind="stable") if nearest[x] == s]
        for s in range(len(farm.spec.sites))
    }
    plates: list[list[Draft]] = [[] for _ in farm.printers]
    heap = [(c.ready, p) for p, c in enumerate(clocks.printers) if not math.isinf(c.ready)]
    heapq.heapify(heap)
    while heap:
        _t, p = heapq.heappop(heap)
        site = clocks.printers[p].site
        mine = [x for x in by_due[site] if not taken[x] and farm.eligible[x, p]]
        if not mine:
            continue
        g = _group(farm, mine, clocks.printers[p].loaded)
        same = [x for x in mine if farm.part_group[x] == g][:FFD_WINDOW]
        draft = _ffd_plate(farm, p, g, same)
        if draft is None or math.isinf(clocks.earliest_start(p, g)):
            continue
        timed = clocks.run(p, g, draft.seconds)
        draft.start, draft.end = timed.start, timed.end
        taken[draft.parts] = True
        plates[p].append(draft)
        heapq.heappush(heap, (clocks.printers[p].ready, p))
    return plates


def _nearest_site(farm: Farm) -> np.ndarray:
    distance = farm.distance_km[:, farm.printer_site]
    best = np.where(farm.eligible, distance, np.inf).argmin(axis=1)
    site = farm.printer_site[best]
    return np.where(farm.eligible.any(axis=1), site, -1)


def _group(farm: Farm, mine: list[int], loaded: int) -> int:
    first = mine[0]
    for x in mine:
        if farm.part_due[x] > farm.part_due[first] + AFFINITY_SECONDS:
            break
        if farm.part_group[x] == loaded:
            return loaded
    return int(farm.part_group[first])


def _ffd_plate(farm: Farm, p: int, g: int, parts: list[int]) -> Draft | None:
    shapes = farm.library.shapes
    order = sorted(parts, key=lambda x: (-shapes[int(farm.part_shape[x])].area, x))
    layout = Layout(farm.beds[int(farm.printer_bed[p])], farm.library)
    chosen, spots = [], []
    failed = False
    for x in order:
        spot = layout.place(int(farm.part_shape[x]))
        if spot is None:
            failed = True
            continue
        chosen.append(x)
        spots.append(spot)
    if not chosen:
        return None
    seconds = farm.spec.costs.plate_overhead_seconds + float(farm.part_seconds[chosen].sum())
    return Draft(p, g, chosen, seconds, spots, utilisation=layout.utilisation(), bed_full=failed)


def _plate(farm: Farm, p: int, g: int, parts: list[int]) -> Draft | None:
    layout = Layout(farm.beds[int(farm.printer_bed[p])], farm.library)
    spots = [layout.place(int(farm.part_shape[x])) for x in parts]
    if any(spot is None for spot in spots):
        return None
    return Draft(
        p, g, parts, 0.0, [s for s in spots if s is not None], utilisation=layout.utilisation()
    )
