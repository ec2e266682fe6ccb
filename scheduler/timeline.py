"""When plates really start and end: printers, staffed hours and operators, simulated.

The rules, shared by the planner and by FarmBench's evaluator so every plan is timed alike:
- a printer with a clear bed and the right spool loaded starts a plate at once, staff or not
  (the G-code arrives over the network);
- after a plate the bed is full: the next plate starts only after an operator cleared it,
  and a different material or colour needs an operator to change the spool first;
- operators work only in the site's staffed hours, one printer at a time each;
- requests are served in the order printers ask (ties: printer order).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from scheduler.farm import Farm
from scheduler.staffing import StaffCalendar


@dataclass
class SiteStaff:
    """The operators of one site: each is free from some moment on."""

    calendar: StaffCalendar
    free_at: list[float]

    def serve(self, ready: float, minutes: float) -> float:
        """An operator works `minutes` on a printer ready at `ready`; returns when work ends."""
        i = min(range(len(self.free_at)), key=lambda k: (self.free_at[k], k))
        begin = self.calendar.next_staffed(max(ready, self.free_at[i]))
        if math.isinf(begin):
            return math.inf
        done = begin + minutes * 60.0
        self.free_at[i] = done
        return done


@dataclass
class PrinterClock:
    """One printer's state between plates."""

    index: int
    site: int
    ready: float  # when the current plate ends (or now)
    bed_full: bool
    loaded: int  # group index, -1 for nothing loaded
    visits: int = 0
    spool_changes: int = 0
    idle_full_seconds: float = 0.0


@dataclass
class Timed:
    start: float
    end: float
    spool_change: bool


@dataclass
class Clocks:
    """Every printer's clock and every site's staff, started from the instance."""

    farm: Farm
    printers: list[PrinterClock]
    staff: list[SiteStaff]
    heap: list[tuple[float, int]] = field(default_factory=list)

    @classmethod
    def start(cls, farm: Farm, locked_end: dict[int, float] | None = None) -> Clocks:
        staff = [
            SiteStaff(calendar, [0.0] * site.operators)
            for calendar, site in zip(farm.calendars, farm.spec.sites, strict=True)
        ]
        printers = [
            initial_clock(farm, i, (locked_end or {}).get(i)) for i in range(len(farm.printers))
        ]
        return cls(farm, printers, staff)

    def needs_service(self, printer: int, group: int) -> tuple[float, bool]:
        """(operator minutes before a plate of `group` can start, whether a spool change)."""
        clock = self.printers[printer]
        costs = self.farm.spec.costs
        change = group != clock.loaded
        minutes = (costs.bed_clear_minutes if clock.bed_full else 0.0) + (
            costs.spool_change_minutes if change else 0.0
        )
        return minutes, change

    def earliest_start(self, printer: int, group: int) -> float:
        """When a plate of `group` could start, without booking the operator."""
        clock = self.printers[printer]
        minutes, change = self.needs_service(printer, group)
        if not clock.bed_full and not change:
            return clock.ready
        staff = self.staff[clock.site]
        free = min(staff.free_at)
        begin = staff.calendar.next_staffed(max(clock.ready, free))
        return begin + minutes * 60.0

    def run(self, printer: int, group: int, seconds: float) -> Timed:
        """Book the operator if needed and run a plate of `seconds` on `printer`."""
        clock = self.printers[printer]
        minutes, change = self.needs_service(printer, group)
        if clock.bed_full or change:
            start = self.staff[clock.site].serve(clock.ready, minutes)
            if clock.bed_full and not math.isinf(start):
                clock.idle_full_seconds += max(0.0, start - minutes * 60.0 - clock.ready)
            clock.visits += 1
        else:
            start = clock.ready
        clock.spool_changes += int(change)
        end = start + seconds
        clock.ready, clock.bed_full, clock.loaded = end, True, group
        return Timed(start, end, change)

    def finish(self) -> None:
        """Count the last bed clear of every printer that printed something."""
        for clock in self.printers:
            if clock.bed_full and not math.isinf(clock.ready):
                calendar = self.staff[clock.site].calendar
                cleared = calendar.next_staffed(clock.ready)
                if not math.isinf(cleared):
                    clock.idle_full_seconds += cleared - clock.ready
                clock.visits += 1


def initial_clock(farm: Farm, index: int, locked_end: float | None) -> PrinterClock:
    spec = farm.printers[index]
    site = int(farm.printer_site[index])
    loaded = farm.group_of_printer_load(index)
    free = max(0.0, farm.seconds(spec.free_at)) if spec.free_at is not None else 0.0
    if not farm.printer_available[index]:
        return PrinterClock(index, site, math.inf, False, loaded)
    if locked_end is not None:
        return PrinterClock(index, site, max(0.0, locked_end), True, loaded)
    if spec.state in ("printing", "bed_full"):
        return PrinterClock(index, site, free, True, loaded)
    return PrinterClock(index, site, free, False, loaded)


def simulate(
    farm: Farm, sequences: list[list[tuple[int, float]]], locked_end: dict[int, float] | None = None
) -> tuple[list[list[Timed]], Clocks]:
    """Time every printer's plates, given as (group, seconds) in run order.

    Printers are served in the order they become ready, as the planner builds them.
    """
    clocks = Clocks.start(farm, locked_end)
    timed: list[list[Timed]] = [[] for _ in sequences]
    heap = [
        (clocks.printers[p].ready, p)
        for p, seq in enumerate(sequences)
        if seq and not math.isinf(clocks.printers[p].ready)
    ]
    heapq.heapify(heap)
    while heap:
        _ready, p = heapq.heappop(heap)
        group, seconds = sequences[p][len(timed[p])]
        result = clocks.run(p, group, seconds)
        timed[p].append(result)
        if len(timed[p]) < len(sequences[p]) and not math.isinf(result.end):
            heapq.heappush(heap, (clocks.printers[p].ready, p))
    clocks.finish()
    return timed, clocks
