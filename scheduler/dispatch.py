"""Building the plates, printer by printer, in the order the printers come free.

The dispatcher replays the farm's future: whenever a printer is ready (its bed cleared by
staff, or idle and clear), it decides what that printer prints next, books the operator and
moves the printer's clock to the plate's end. Each decision has three parts:

1. Material and colour. A printer keeps its loaded spool while that group has work at its
   site, unless another group is clearly short of printers: every group "needs" printers in
   proportion to its remaining work, and a printer switches only when that moves the site
   towards those shares by a margin (so spool changes stay rare), or when a group due within
   a day has no printer at all. For the plate that runs through the night the count is of
   printers already running each group overnight, so the night's plates cover many groups
   instead of leaving the small ones for the morning.
2. How long the plate should run. Staff must clear the bed before the next plate, so a plate
   should end while staff are there: during the day it runs until shortly before they leave
   (ends are staggered so the site's operators can clear each bed and start the night plate
   before closing); started near closing time it runs through the night until they are back.
   Plates never run past the site's water level (its open work and its printers' remaining
   plates spread over its printers), so near the end all printers finish together.
3. What is on it: see `filling`.

A printer whose site has nothing left for it takes work from a site that is behind (spill-over
beyond the balancing step), and otherwise stops.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from scheduler.draft import Draft
from scheduler.farm import Farm
from scheduler.filling import Budget, Filled, fill_plate
from scheduler.nesting import Bed, Placed
from scheduler.timeline import Clocks

HOUR = 3600.0
DAY_PLATE_MIN = 2 * HOUR  # less staffed time left than this: start the night plate now
SWITCH_MARGIN = 1.0  # printers' worth of imbalance a spool change must fix
URGENT_WINDOW = 24 * HOUR
FAIR_SHARE_MIN = 2 * HOUR
STEAL_BACKLOG = 2 * HOUR  # another site must be this far behind before work moves there


@dataclass
class SitePools:
    """Open parts assigned to one site, per group, in urgency order."""

    pools: dict[int, list[int]] = field(default_factory=dict)
    cursor: dict[int, int] = field(default_factory=dict)
    work: dict[int, float] = field(default_factory=dict)
    serving: dict[int, int] = field(default_factory=dict)
    active: int = 0

    @property
    def total_work(self) -> float:
        return sum(self.work.values())

    def backlog(self) -> float:
        return self.total_work / max(self.active, 1)


class Dispatcher:
    def __init__(
        self,
        farm: Farm,
        site_of_part: NDArray[np.int64],
        fixed: dict[int, list[Draft]],
        locked_end: dict[int, float],
    ) -> None:
        self.farm = farm
        self.clocks = Clocks.start(farm, locked_end)
        self.fixed = {p: list(plates) for p, plates in fixed.items()}
        self.taken = np.ones(len(farm.parts), dtype=bool)
        open_parts = np.flatnonzero(site_of_part >= 0)
        self.taken[open_parts] = False
        for plates in fixed.values():
            for plate in plates:
                self.taken[plate.parts] = True
        self.sites = [SitePools() for _ in farm.spec.sites]
        self._fill_pools(site_of_part)
        self.plates: list[list[Draft]] = [[] for _ in farm.printers]
        self.cache: dict[tuple[Bed, tuple[int, ...]], list[Placed | None]] = {}
        self.runs = [
            {g for g, (material, _c) in enumerate(farm.groups) if material in printer.materials}
            for printer in farm.printers
        ]
        self.retired = np.zeros(len(farm.printers), dtype=bool)
        # day plates already ending in a site's last staffed hour: the operator clears them
        # one after another, so later ones must end earlier
        self.closing: dict[tuple[int, float], list[float]] = {}
        # groups given to plates that run through a site's night, per (site, staff leaving)
        self.overnight: dict[tuple[int, float], dict[int, int]] = {}

    def _fill_pools(self, site_of_part: NDArray[np.int64]) -> None:
        farm = self.farm
        order = np.argsort(farm.part_key, kind="stable")
        for x in order:
            if self.taken[x]:
                continue
            site = self.sites[int(site_of_part[x])]
            g = int(farm.part_group[x])
            site.pools.setdefault(g, []).append(int(x))
            site.work[g] = site.work.get(g, 0.0) + float(farm.part_seconds[x])
        for clock in self.clocks.printers:
            if math.isinf(clock.ready):
                continue
            site = self.sites[clock.site]
            site.active += 1
            site.serving[clock.loaded] = site.serving.get(clock.loaded, 0) + 1

    # ---- the loop -------------------------------------------------------------------------

    def run(self) -> list[list[Draft]]:
        heap = [(c.ready, p) for p, c in enumerate(self.clocks.printers) if not math.isinf(c.ready)]
        heapq.heapify(heap)
        while heap:
            _t, p = heapq.heappop(heap)
            if self._next_plate(p) and not math.isinf(self.clocks.printers[p].ready):
                heapq.heappush(heap, (self.clocks.printers[p].ready, p))
            else:
                self._retire(p)
        self.clocks.finish()
        return self.plates

    def _next_plate(self, p: int) -> bool:
        queue = self.fixed.get(p)
        if queue:
            plate = queue.pop(0)
            self._commit(p, plate)
            return True
        excluded: set[tuple[int, int]] = set()
        while True:
            choice = self._choose(p, excluded)
            if choice is None:
                return False
            s, g = choice
            filled = self._fill(p, s, g)
            if filled.parts:
                break
            excluded.add((s, g))
        plate = Draft(
            p,
            g,
            filled.parts,
            filled.seconds,
            filled.placements,
            utilisation=filled.utilisation,
            bed_full=filled.bed_full,
        )
        if math.isinf(self.clocks.earliest_start(p, g)):
            return False
        night = self._night_key(p)
        self._commit(p, plate)
        self._take(s, g, filled.parts)
        if night is not None:
            counts = self.overnight.setdefault(night, {})
            counts[g] = counts.get(g, 0) + 1
        return True

    def _commit(self, p: int, plate: Draft) -> None:
        clock = self.clocks.printers[p]
        before = clock.loaded
        timed = self.clocks.run(p, plate.group, plate.seconds)
        plate.start, plate.end, plate.spool_change = timed.start, timed.end, timed.spool_change
        self.plates[p].append(plate)
        if before != plate.group:
            site = self.sites[clock.site]
            site.serving[before] = site.serving.get(before, 0) - 1
            site.serving[plate.group] = site.serving.get(plate.group, 0) + 1

    def _retire(self, p: int) -> None:
        if self.retired[p]:
            return
        self.retired[p] = True
        clock = self.clocks.printers[p]
        site = self.sites[clock.site]
        if math.isinf(clock.ready) and not self.plates[p]:
            return
        site.active -= 1
        site.serving[clock.loaded] = site.serving.get(clock.loaded, 0) - 1

    def _take(self, s: int, g: int, parts: list[int]) -> None:
        site = self.sites[s]
        self.taken[parts] = True
        site.work[g] = max(0.0, site.work[g] - float(self.farm.part_seconds[parts].sum()))

    # ---- decisions ------------------------------------------------------------------------

    def _choose(self, p: int, excluded: set[tuple[int, int]]) -> tuple[int, int] | None:
        home = self.clocks.printers[p].site
        g = self._choose_group(p, home, excluded, steal=False)
        if g is not None:
            return home, g
        for s in self._sites_behind(p):
            g = self._choose_group(p, s, excluded, steal=True)
            if g is not None:
                return s, g
        return None

    def _sites_behind(self, p: int) -> list[int]:
        home = self.clocks.printers[p].site
        behind = [
            (-site.backlog(), s)
            for s, site in enumerate(self.sites)
            if s != home and site.backlog() > STEAL_BACKLOG
        ]
        return [s for _b, s in sorted(behind)]

    def _choose_group(
        self, p: int, s: int, excluded: set[tuple[int, int]], steal: bool
    ) -> int | None:
        site = self.sites[s]
        clock = self.clocks.printers[p]
        options = [
            g
            for g in self.runs[p]
            if site.work.get(g, 0.0) > 0.0
            and (s, g) not in excluded
            and self._first(s, g, p) is not None
        ]
        if not options:
            return None
        share = max(site.total_work / max(site.active, 1), HOUR)
        now = clock.ready
        night = self._night_key(p)
        overnight = self.overnight.get(night) if night is not None else None

        def score(g: int) -> float:
            # overnight, each group needs its own printers: count those already running it
            serving = (
                0
                if steal
                else site.serving.get(g, 0)
                if overnight is None
                else overnight.get(g, 0) + (clock.loaded == g)
            )
            value = site.work[g] / share - serving
            first = self._first(s, g, p)
            urgent = first is not None and self.farm.part_key[first] - now < URGENT_WINDOW
            if serving <= 0 and urgent:
                value += 1.0
            return value

        ranked = sorted(options, key=lambda g: (-score(g), self._first_key(s, g, p), g))
        best = ranked[0]
        keep = clock.loaded in options and best != clock.loaded
        if keep and score(best) <= score(clock.loaded) + 1.0 + SWITCH_MARGIN:
            return clock.loaded
        return best

    def _night_key(self, p: int) -> tuple[int, float] | None:
        """(site, staff leaving) when this printer's next plate is its last before they leave."""
        clock = self.clocks.printers[p]
        calendar = self.farm.calendars[clock.site]
        start = self.clocks.earliest_start(p, clock.loaded)
        staff_leave = calendar.window_after(start)[0]
        if calendar.staffed_at(start) and staff_leave - start < DAY_PLATE_MIN + HOUR:
            return clock.site, staff_leave
        return None

    def _first(self, s: int, g: int, p: int) -> int | None:
        return next(self._candidates(s, g, p), None)

    def _first_key(self, s: int, g: int, p: int) -> float:
        x = self._first(s, g, p)
        return float(self.farm.part_key[x]) if x is not None else math.inf

    def _candidates(self, s: int, g: int, p: int) -> Iterator[int]:
        site = self.sites[s]
        pool = site.pools.get(g, [])
        i = site.cursor.get(g, 0)
        while i < len(pool) and self.taken[pool[i]]:
            i += 1
        site.cursor[g] = i
        eligible = self.farm.eligible
        for x in pool[i:]:
            if not self.taken[x] and eligible[x, p]:
                yield x

    def _fill(self, p: int, s: int, g: int) -> Filled:
        farm = self.farm
        bed = farm.beds[int(farm.printer_bed[p])]
        filled = Filled()
        for budget in self._budgets(p, g, s):
            filled = fill_plate(farm, bed, self._candidates(s, g, p), budget, self.cache)
            if filled.parts:
                break
        else:  # nothing fits any window: print the most urgent part anyway
            anyway = Budget(self.clocks.earliest_start(p, g), 0.0, 0.0, keep_due=False)
            filled = fill_plate(farm, bed, self._candidates(s, g, p), anyway, self.cache)
        self._book_closing(p, filled.seconds)
        return filled

    def _budgets(self, p: int, g: int, s: int) -> list[Budget]:
        """A day plate (ends before staff leave) if there is time for one, then a night plate."""
        farm = self.farm
        clock = self.clocks.printers[p]
        calendar = farm.calendars[clock.site]
        start = self.clocks.earliest_start(p, g)
        clear = farm.spec.costs.bed_clear_minutes * 60.0
        staff_leave, back, back_leave, _ = calendar.window_after(start)
        share = self._fair_share(p, g, s, start) + farm.spec.costs.plate_overhead_seconds
        night_limit = min(back_leave - start - clear, share)
        night = Budget(start, min(back - start, night_limit), night_limit, keep_due=False)
        if not calendar.staffed_at(start):
            return [night]
        day_limit = self._last_slot(clock.site, staff_leave) - start
        if day_limit < DAY_PLATE_MIN:
            return [night]
        day_limit = min(day_limit, share)
        return [Budget(start, day_limit, day_limit, keep_due=True), night]

    def _service_seconds(self) -> float:
        costs = self.farm.spec.costs
        return (costs.bed_clear_minutes + costs.spool_change_minutes) * 60.0

    def _last_slot(self, site: int, staff_leave: float) -> float:
        """Latest end for a day plate so an operator can still clear it and start the next."""
        slots = self.closing.setdefault(
            (site, staff_leave), [staff_leave] * len(self.clocks.staff[site].free_at)
        )
        return max(slots) - self._service_seconds()

    def _book_closing(self, p: int, seconds: float) -> None:
        """A day plate ending near closing time takes an operator slot before it."""
        clock = self.clocks.printers[p]
        calendar = self.farm.calendars[clock.site]
        end = self.clocks.earliest_start(p, -2) + seconds  # -2: no group, worst-case start
        staff_leave, _back, _leave, _ = calendar.window_after(end)
        if not calendar.staffed_at(end) or staff_leave - end > 3 * HOUR:
            return
        self._last_slot(clock.site, staff_leave)
        slots = self.closing[(clock.site, staff_leave)]
        i = slots.index(max(slots))
        slots[i] = min(slots[i], end)

    def _fair_share(self, p: int, g: int, s: int, start: float) -> float:
        """Seconds of work for this plate if the site's printers all finish together.

        The site's open work plus what its other printers still have to print, spread over
        all of them: the plate should end when that water level is reached.
        """
        site = self.sites[s]
        busy, count = 0.0, 1
        for q, clock in enumerate(self.clocks.printers):
            if q != p and clock.site == s and not self.retired[q]:
                busy += max(0.0, clock.ready - start)
                count += 1
        level = (site.total_work + busy) / count
        return max(level, FAIR_SHARE_MIN)
