"""The capacity model: how much printing a set of printers can do before a common finish time.

A printer can take new work from some moment on (`free`): now, when its running plate ends,
or after the plates that stay fixed. It starts at once when its bed is clear and the first
plate uses its loaded spool; otherwise it waits for staff (bed clear, spool change). From its
start to a finish time T it prints T - start, less one plate overhead for about every eight
hours (a plate a day, one through the night, one between).

Parts may be confined to some printers (enclosure, TPU, bed size, height). A group of
printers is a `Mask` (a bitmask over the printers considered); every part has the mask of
the printers it may use. The work of the parts whose mask lies inside a mask must fit that
mask's capacity (Hall's condition, as in the makespan bound), so the finish time of a set of
printers is the latest of those per-mask finish times, each found by bisection.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from scheduler.farm import Farm

HOUR = 3600.0
PLATE_EVERY = 8 * HOUR  # one plate overhead per this much printing (estimate)
BISECTIONS = 40


def staffed_start(farm: Farm, printer: int, free: float, change: bool, bed_full: bool) -> float:
    """When a printer free at `free` starts its next plate."""
    if math.isinf(free):
        return math.inf
    if not change and not bed_full:
        return free
    costs = farm.spec.costs
    minutes = (costs.bed_clear_minutes if bed_full else 0.0) + (
        costs.spool_change_minutes if change else 0.0
    )
    calendar = farm.calendars[int(farm.printer_site[printer])]
    return calendar.next_staffed(free) + minutes * 60.0


def capacity(farm: Farm, starts: NDArray[np.float64], finish: float) -> NDArray[np.float64]:
    """Seconds of part printing each printer does between its start and `finish`."""
    span = np.maximum(0.0, finish - np.where(np.isfinite(starts), starts, finish))
    overhead = farm.spec.costs.plate_overhead_seconds
    plates = np.where(span > 0, 1.0 + span / PLATE_EVERY, 0.0)
    out: NDArray[np.float64] = np.maximum(0.0, span - plates * overhead)
    return out


def finish_for(farm: Farm, starts: NDArray[np.float64], work: float) -> float:
    """The earliest common finish time at which `starts`' printers print `work` seconds."""
    if work <= 0.0:
        return 0.0
    finite = starts[np.isfinite(starts)]
    if finite.size == 0:
        return math.inf
    lo = float(finite.min())
    hi = float(finite.max()) + 2.0 * work / finite.size + 2 * PLATE_EVERY
    while capacity(farm, finite, hi).sum() < work:
        hi *= 2.0
    for _ in range(BISECTIONS):
        mid = (lo + hi) / 2.0
        if capacity(farm, finite, mid).sum() >= work:
            hi = mid
        else:
            lo = mid
    return hi


def bits(mask: int) -> list[int]:
    out, i = [], 0
    while mask:
        if mask & 1:
            out.append(i)
        mask >>= 1
        i += 1
    return out


def masks_of(eligible: NDArray[np.bool_]) -> list[int]:
    """One bitmask per row (bit j: column j)."""
    if eligible.shape[0] == 0:
        return []
    weights = np.array([1 << j for j in range(eligible.shape[1])], dtype=object)
    return [int(x) for x in (eligible.astype(object) * weights).sum(axis=1)]


class MaskLoad:
    """Work per mask over a fixed set of printers, with Hall's condition at a finish time."""

    def __init__(self, farm: Farm, printers: NDArray[np.int64], starts: NDArray[np.float64]):
        self.farm = farm
        self.printers = printers
        self.starts = starts  # per printer in `printers`
        self.full = (1 << len(printers)) - 1
        self.work: dict[int, float] = {}
        self._members: dict[int, NDArray[np.int64]] = {}

    def add(self, mask: int, seconds: float) -> None:
        self.work[mask] = self.work.get(mask, 0.0) + seconds

    def members(self, mask: int) -> NDArray[np.int64]:
        found = self._members.get(mask)
        if found is None:
            found = np.array(bits(mask), dtype=np.int64)
            self._members[mask] = found
        return found

    def cap(self, mask: int, finish: float) -> float:
        return float(capacity(self.farm, self.starts[self.members(mask)], finish).sum())

    def within(self, mask: int) -> float:
        return sum(w for m, w in self.work.items() if m & ~mask == 0)

    def candidates(self, extra: Iterable[int] = ()) -> list[int]:
        return sorted({self.full, *self.work, *extra})

    def excess(self, finish: float) -> tuple[float, int]:
        """(largest work over capacity over all masks, that mask)."""
        best, worst = -math.inf, self.full
        for mask in self.candidates():
            over = self.within(mask) - self.cap(mask, finish)
            if over > best:
                best, worst = over, mask
        return best, worst

    def room(self, mask: int, finish: float) -> float:
        """Seconds a part confined to `mask` may add without breaking any mask's capacity."""
        return min(
            self.cap(m, finish) - self.within(m) for m in self.candidates((mask,)) if mask & ~m == 0
        )

    def finish(self) -> float:
        """The earliest finish time meeting every mask's capacity."""
        best = 0.0
        for mask in self.candidates():
            work = self.within(mask)
            if work > 0:
                best = max(best, finish_for(self.farm, self.starts[self.members(mask)], work))
        return best
