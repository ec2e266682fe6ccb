"""Plates along each printer's timeline: slots set by staffed hours, filled from campaigns.

The farm's future is replayed with the shared clocks (`timeline`): whenever a printer is
ready it takes its next plate, the operator is booked and its clock moves to the plate's end.
Each printer works through its campaigns (`campaigns`); a plate's length is set by the slot
it falls in:

- a plate started while nobody is there (a clear bed with the loaded spool, early morning)
  runs until staff arrive;
- during the day a plate ends shortly before staff leave, the ends staggered so the site's
  operators can clear each bed and start the next plate before closing, and sooner when
  a part on it is due (urgent parts take the earliest slots of their colour);
- the plate started at closing time runs through the night until staff are back: many parts
  on one bed, as long as they fit;
- the last plate holds what is left of the printer's share, so the printers of a site end
  at about the common finish time.

A plate holds parts of one colour from the site's shared pool of that colour, most urgent
first (`filling` chooses and nests them). The night plate needs a long campaign: when the
current one is too short, the printer's largest campaign takes the night and stays current.
A plate that takes more of a colour than the printer's share (a night, or the early plate
on the loaded spool) takes it from the other printers of that colour, which get as much of
this printer's other campaigns in exchange. A printer whose campaigns are done helps with
what is left at its site, its loaded colour first, then the colour with the most work left.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from scheduler.campaigns import Campaign
from scheduler.draft import Draft
from scheduler.farm import Farm
from scheduler.filling import Budget, Filled, fill_plate
from scheduler.nesting import Bed, Placed
from scheduler.timeline import Clocks

HOUR = 3600.0
DAY_PLATE_MIN = 2 * HOUR  # less staffed time left than this: start the night plate now
NIGHT_SLACK = 2 * HOUR  # a night plate may run this much past its target to fill the bed
QUOTA_LEFT = 0.1 * HOUR  # a campaign with less than this left is done
HELP_MIN = 0.5 * HOUR  # a printer out of campaigns changes spool for at least this much work


class Timetable:
    def __init__(
        self,
        farm: Farm,
        site_of_part: NDArray[np.int64],
        campaigns: dict[int, list[Campaign]],
        fixed: dict[int, list[Draft]],
        locked_end: dict[int, float],
    ) -> None:
        self.farm = farm
        self.clocks = Clocks.start(farm, locked_end)
        self.fixed = {p: list(plates) for p, plates in fixed.items()}
        self.campaigns = {
            p: [Campaign(c.group, c.seconds) for c in cs] for p, cs in campaigns.items()
        }
        self.taken = np.ones(len(farm.parts), dtype=bool)
        self.taken[site_of_part >= 0] = False
        for plates in fixed.values():
            for plate in plates:
                self.taken[plate.parts] = True
        self.pools: dict[tuple[int, int], list[int]] = {}
        self.cursor: dict[tuple[int, int], int] = {}
        self.work: dict[tuple[int, int], float] = {}
        for x in np.argsort(farm.part_key, kind="stable"):
            if self.taken[x]:
                continue
            key = (int(site_of_part[x]), int(farm.part_group[x]))
            self.pools.setdefault(key, []).append(int(x))
            self.work[key] = self.work.get(key, 0.0) + float(farm.part_seconds[x])
        self.plates: list[list[Draft]] = [[] for _ in farm.printers]
        self.cache: dict[tuple[Bed, tuple[int, ...]], list[Placed | None]] = {}
        self.closing: dict[tuple[int, float], list[float]] = {}
        self.waking: dict[tuple[int, float], int] = {}  # plates ending before staff are back
        self.strict = True  # printers out of campaigns leave covered work to planned ones
        self.skipped = False

    def run(self) -> list[list[Draft]]:
        heap = [(c.ready, p) for p, c in enumerate(self.clocks.printers) if not math.isinf(c.ready)]
        heapq.heapify(heap)
        waiting: list[int] = []
        while heap or waiting:
            if not heap:  # work the planned printers left: those waiting take it after all
                self.strict = False
                heap = [(self.clocks.printers[p].ready, p) for p in waiting]
                heapq.heapify(heap)
                waiting = []
            _t, p = heapq.heappop(heap)
            if self._next_plate(p):
                if not math.isinf(self.clocks.printers[p].ready):
                    heapq.heappush(heap, (self.clocks.printers[p].ready, p))
            elif self.strict and self.skipped:
                waiting.append(p)
        self.clocks.finish()
        return self.plates

    # ---- one plate ------------------------------------------------------------------------

    def _next_plate(self, p: int) -> bool:
        queue = self.fixed.get(p)
        if queue:
            self._commit(p, queue.pop(0))
            return True
        site = self.clocks.printers[p].site
        tried: set[int] = set()
        while True:
            choice = self._group(p, site, tried)
            if choice is None:
                return False
            g, share, planned = choice
            filled = self._fill(p, site, g, share, planned)
            if filled.parts:
                break
            tried.add(g)
        if math.isinf(self.clocks.earliest_start(p, g)):
            return False
        plate = Draft(
            p,
            g,
            filled.parts,
            filled.seconds,
            filled.placements,
            utilisation=filled.utilisation,
            bed_full=filled.bed_full,
        )
        self._commit(p, plate)
        self.taken[filled.parts] = True
        printed = float(self.farm.part_seconds[filled.parts].sum())
        self.work[(site, g)] -= printed
        for campaign in self.campaigns.get(p, []):
            if campaign.group == g and campaign.seconds > 0:
                used = min(campaign.seconds, printed)
                campaign.seconds -= used
                printed -= used
        if printed > QUOTA_LEFT:
            self._hand_over(p, g, printed)
        return True

    def _hand_over(self, p: int, g: int, extra: float) -> None:
        """`p` printed `extra` seconds of `g` beyond its share, taken from other printers'
        share of `g`: give them as much of `p`'s other campaigns in exchange, so every
        printer's total stays as planned."""
        mine = [c for c in self.campaigns.get(p, []) if c.seconds > QUOTA_LEFT and c.group != g]
        others = [
            (q, c)
            for q, cs in sorted(self.campaigns.items())
            if q != p
            for c in cs
            if c.group == g and c.seconds > QUOTA_LEFT
        ]
        for q, theirs in others:
            if extra <= QUOTA_LEFT or not mine:
                return
            groups = {c.group for c in self.campaigns[q]}
            mine.sort(key=lambda c: (c.group not in groups, -c.seconds, c.group))
            amount = min(extra, theirs.seconds)
            theirs.seconds -= amount
            extra -= amount
            while amount > QUOTA_LEFT and mine:
                give = mine[0]
                moved = min(amount, give.seconds)
                give.seconds -= moved
                amount -= moved
                self._add_campaign(q, give.group, moved)
                if give.seconds <= QUOTA_LEFT:
                    mine.pop(0)

    def _add_campaign(self, q: int, g: int, seconds: float) -> None:
        for campaign in self.campaigns[q]:
            if campaign.group == g:
                campaign.seconds += seconds
                return
        self.campaigns[q].append(Campaign(g, seconds))

    def _commit(self, p: int, plate: Draft) -> None:
        timed = self.clocks.run(p, plate.group, plate.seconds)
        plate.start, plate.end, plate.spool_change = timed.start, timed.end, timed.spool_change
        self.plates[p].append(plate)

    def _group(self, p: int, site: int, tried: set[int]) -> tuple[int, float, bool] | None:
        """(group, seconds this printer should still print, whether from its campaigns)."""
        own = self.campaigns.get(p, [])
        for campaign in own:
            if campaign.seconds > 0 and not self._first(site, campaign.group, p):
                campaign.seconds = 0.0  # its pool is empty for this printer
        left = sum(c.seconds for c in own if c.seconds > QUOTA_LEFT)
        clock = self.clocks.printers[p]
        calendar = self.farm.calendars[site]
        if (
            not clock.bed_full
            and not calendar.staffed_at(clock.ready)
            and clock.loaded not in tried
            and self._first(site, clock.loaded, p)
        ):  # a clear bed and its own spool: start now, before staff arrive
            return clock.loaded, left, False
        live = [c for c in own if c.seconds > QUOTA_LEFT and c.group not in tried]
        if live:
            current = live[0]
            night = self._night_length(p, current.group)
            if current.seconds < min(night, left):
                # the night plate needs a long campaign: the largest share runs it, and
                # becomes the current campaign (no switching back and forth)
                biggest = max(live, key=lambda c: (c.seconds, -live.index(c)))
                own.remove(biggest)
                own.insert(0, biggest)
                current = biggest
            return current.group, left, True
        loaded = self.clocks.printers[p].loaded
        self.skipped = False
        options = []
        for (s, g), work in self.work.items():
            if s != site or work <= 0 or g in tried or not self._first(site, g, p):
                continue
            busy = [
                c.seconds
                for q, cs in self.campaigns.items()
                if q != p
                for c in cs
                if c.group == g and c.seconds > QUOTA_LEFT
            ]
            uncovered = work - sum(busy)
            if self.strict and g != loaded and uncovered < HELP_MIN:
                self.skipped = True
                continue  # the printers planned for it will do it: no spool change for that
            share = work / (1 + len(busy)) if g == loaded else uncovered
            options.append((g != loaded, -share, g))
        if not options:
            return None
        _other, share, g = min(options)
        return g, -share, False

    def _night_length(self, p: int, g: int) -> float:
        """How long the next plate of `p` must run to last the night (0: a day plate)."""
        calendar = self.farm.calendars[self.clocks.printers[p].site]
        start = self.clocks.earliest_start(p, g)
        staff_leave, back, _leave, _ = calendar.window_after(start)
        if calendar.staffed_at(start):
            day = self._last_slot(self.clocks.printers[p].site, staff_leave) - start
            if day >= DAY_PLATE_MIN:
                return 0.0
        return back - start

    def _first(self, s: int, g: int, p: int) -> bool:
        return next(self._candidates(s, g, p), None) is not None

    def _candidates(self, s: int, g: int, p: int) -> Iterator[int]:
        key = (s, g)
        pool = self.pools.get(key, [])
        i = self.cursor.get(key, 0)
        while i < len(pool) and self.taken[pool[i]]:
            i += 1
        self.cursor[key] = i
        eligible = self.farm.eligible
        for x in pool[i:]:
            if not self.taken[x] and eligible[x, p]:
                yield x

    def _fill(self, p: int, s: int, g: int, share: float, planned: bool) -> Filled:
        farm = self.farm
        bed = farm.beds[int(farm.printer_bed[p])]
        filled = Filled()
        for budget in self._budgets(p, g, share, planned):
            filled = fill_plate(farm, bed, self._candidates(s, g, p), budget, self.cache)
            if filled.parts:
                break
        else:  # nothing fits any slot: print the most urgent part anyway
            anyway = Budget(self.clocks.earliest_start(p, g), 0.0, 0.0, keep_due=False)
            filled = fill_plate(farm, bed, self._candidates(s, g, p), anyway, self.cache)
        self._book_closing(p, filled.seconds)
        return filled

    def _budgets(self, p: int, g: int, share: float, planned: bool) -> list[Budget]:
        farm = self.farm
        clock = self.clocks.printers[p]
        calendar = farm.calendars[clock.site]
        start = self.clocks.earliest_start(p, g)
        overhead = farm.spec.costs.plate_overhead_seconds
        clear = farm.spec.costs.bed_clear_minutes * 60.0
        staff_leave, back, back_leave, _ = calendar.window_after(start)
        rest = share + overhead  # the whole remaining share in one plate
        wake = self.waking.get((clock.site, back), 0) * self._service_seconds()
        night_target = min(back - start + wake, rest)
        night_limit = min(back_leave - start - clear, night_target + NIGHT_SLACK)
        night = Budget(start, night_target, max(night_target, night_limit), keep_due=False)
        if not calendar.staffed_at(start):
            return [night]
        day = self._last_slot(clock.site, staff_leave) - start
        if day < DAY_PLATE_MIN:
            return [night]
        quota = self._quota(p, g) + overhead if planned else rest
        day_target = min(day, quota, rest)
        return [Budget(start, day_target, min(day, rest), keep_due=True), night]

    def _quota(self, p: int, g: int) -> float:
        return sum(c.seconds for c in self.campaigns.get(p, []) if c.group == g)

    # ---- operators at closing time --------------------------------------------------------

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
        """A day plate ending near closing time takes an operator slot before it; a plate
        ending while nobody is there takes a place in the queue for when they are back."""
        clock = self.clocks.printers[p]
        calendar = self.farm.calendars[clock.site]
        end = self.clocks.earliest_start(p, -2) + seconds  # -2: no group, worst-case start
        staff_leave, _back, _leave, _ = calendar.window_after(end)
        if not calendar.staffed_at(end):
            back = calendar.next_staffed(end)
            self.waking[(clock.site, back)] = self.waking.get((clock.site, back), 0) + 1
            return
        if staff_leave - end > 3 * HOUR:
            return
        self._last_slot(clock.site, staff_leave)
        slots = self.closing[(clock.site, staff_leave)]
        i = slots.index(max(slots))
        slots[i] = min(slots[i], end)
