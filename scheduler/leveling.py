"""The end of the plan, re-packed per site so every printer ends at one water level T.

The timetable sizes each night plate from the printer's planned share; what is really left
in each colour's pool at closing time differs, so a few parts used to wait for the next
morning and the farm finished a day later than its capacity allows. This pass re-solves the
end of every site as one packing problem:

- the cut: the opening of the site's last staffed day that closes before T. Plates started
  before it stay; every later plate goes back to the site's pool of open parts;
- the slots: from the end of its kept plates each printer gets a day plate until closing
  (the ends staggered so the site's operators can clear every bed and start the night plate
  before they leave) when enough of the day is left, then a night plate, ending at T or, when
  T falls in the next day, at staff return followed by a day plate ending at T;
- the colours: a printer keeps its loaded colour while that colour has work; the other
  colours go, largest first, to the printers whose free slots fit them best (one spool
  change each, split over more printers only when no single printer can take it);
- the parts: longest first, each to the slot of its colour that does not make it late and
  has most time left, nested on that bed (exact outlines, as every plate).

T is found by bisection (the earliest T at which every part of the site fits), then every
site packs to the farm's T (the slowest site's), which leaves the others room to keep their
spools. The result replaces the timetable's end only when the plan's cost, with its makespan
priced in, goes down. Pure and deterministic like the rest of the planner.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from scheduler.draft import Draft
from scheduler.farm import Farm
from scheduler.nesting import Layout, Placed
from scheduler.staffing import StaffCalendar
from scheduler.timeline import initial_clock

HOUR = 3600.0
DAY_PLATE_MIN = 2 * HOUR  # a day slot shorter than this is not worth a plate
FINAL_MIN = 0.5 * HOUR  # a printer whose start is this close to T gets no slot
BISECTIONS = 8
WORK_LEFT = 60.0  # seconds of a colour treated as covered
SMALL_SHARE = 0.5  # a colour needing less of a night slot than this leaves it to others
SPLIT_MIN = 1.5 * HOUR  # a day slot is cut when this much more than needed is left
SPLIT_MARGIN = 0.5 * HOUR  # a cut slot keeps this much more than the colour needs
PIECE_MARGIN = 1.0 * HOUR  # a colour gets up to its longest part more room than its work
OVERSHOOT = 0.25 * HOUR  # a part may make a plate end this much after its slot


@dataclass
class Slot:
    printer: int
    start: float
    end: float  # the plate should end by then
    staffed: bool  # an operator can change the spool at its start
    divisible: bool = False  # ends while staff are there: may be cut into two plates
    group: int = -1
    layout: Layout | None = None
    parts: list[int] = field(default_factory=list)
    placements: list[Placed] = field(default_factory=list)
    used: float = 0.0  # seconds of parts
    failed: bool = False


def level(
    farm: Farm,
    plates: list[list[Draft]],
    objective: Callable[[Farm, list[list[Draft]]], float],
) -> list[list[Draft]]:
    """The plan with each site's end re-packed to a common finish, when that costs less."""
    ends = [d.end for seq in plates for d in seq if math.isfinite(d.end)]
    if not ends:
        return plates
    last = max(ends)
    best_t: dict[int, float] = {}
    for s in range(len(farm.spec.sites)):
        found = _site_best(farm, plates, s, last)
        if found is not None:
            best_t[s] = found
    if not best_t:
        return plates
    common = max(best_t.values())
    out = [list(seq) for seq in plates]
    for s in sorted(best_t):
        packed = _pack_site(farm, plates, s, common)
        if packed is None:
            packed = _pack_site(farm, plates, s, best_t[s])
        if packed is None:
            continue
        for p, seq in packed.items():
            out[p] = seq
    before, old = objective(farm, plates), _shape(farm, plates)
    after, new = objective(farm, out), _shape(farm, out)
    if after < before - 1e-9 and new[0] <= old[0] + 1e-6 and new[1] <= old[1]:
        return out
    objective(farm, plates)  # re-time the plan kept
    return plates


def _shape(farm: Farm, plates: list[list[Draft]]) -> tuple[float, int]:
    """(last plate end, spool changes) of timed plates: neither may get worse."""
    end = max((d.end for seq in plates for d in seq if math.isfinite(d.end)), default=0.0)
    return end, sum(int(d.spool_change) for seq in plates for d in seq)


def _site_best(farm: Farm, plates: list[list[Draft]], s: int, last: float) -> float | None:
    """The earliest water level at which site `s` fits all of its end's parts."""
    printers = np.flatnonzero((farm.printer_site == s) & farm.printer_available)
    if printers.size == 0 or not any(plates[p] for p in printers):
        return None
    hi = last
    if _pack_site(farm, plates, s, hi) is None:
        return None
    lo = 0.0
    for _ in range(BISECTIONS):
        mid = (lo + hi) / 2.0
        if _pack_site(farm, plates, s, mid) is not None:
            hi = mid
        else:
            lo = mid
    return hi


def _fixed(d: Draft) -> bool:
    return d.locked or d.promised or d.running


def _pack_site(
    farm: Farm, plates: list[list[Draft]], s: int, finish: float
) -> dict[int, list[Draft]] | None:
    """Every printer of site `s`: its kept plates and the new end, or None if it cannot fit."""
    calendar = farm.calendars[s]
    printers = [int(p) for p in np.flatnonzero((farm.printer_site == s) & farm.printer_available)]
    cut = _cut(calendar, finish)
    costs = farm.spec.costs
    clear = costs.bed_clear_minutes * 60.0
    kept: dict[int, list[Draft]] = {}
    pool: list[int] = []
    ready: dict[int, tuple[float, bool, int]] = {}
    for p in printers:
        seq = plates[p]
        i = 0
        while i < len(seq) and (_fixed(seq[i]) or seq[i].start < cut):
            i += 1
        kept[p] = seq[:i]
        for d in seq[i:]:
            if _fixed(d):
                return None  # a fixed plate after a movable one: leave this site alone
            pool.extend(d.parts)
        if kept[p]:
            ready[p] = (kept[p][-1].end, True, kept[p][-1].group)
        else:
            clock = initial_clock(farm, p, None)
            ready[p] = (clock.ready, clock.bed_full, clock.loaded)
    if not pool:
        return None
    operators = max(1, farm.spec.sites[s].operators)
    service = (costs.bed_clear_minutes + costs.spool_change_minutes) * 60.0
    slots: dict[int, list[Slot]] = {}
    for rank, p in enumerate(printers):
        r, full, _loaded = ready[p]
        stagger = (rank // operators + 1) * service
        slots[p] = _slots(calendar, p, r, full, finish, stagger, clear) if math.isfinite(r) else []
    loaded_at = {p: ready[p][2] for p in printers}
    if not _assign_colours(farm, printers, slots, loaded_at, pool):
        return None
    if not _place_parts(farm, slots, loaded_at, pool):
        return None
    overhead = costs.plate_overhead_seconds
    out: dict[int, list[Draft]] = {}
    for p in printers:
        seq = list(kept[p])
        for slot in slots[p]:
            if not slot.parts or slot.layout is None:
                continue
            seq.append(
                Draft(
                    p,
                    slot.group,
                    slot.parts,
                    overhead + slot.used,
                    slot.placements,
                    utilisation=slot.layout.utilisation(),
                    bed_full=slot.failed,
                )
            )
        out[p] = seq
    return out


def _cut(calendar: StaffCalendar, finish: float) -> float:
    """When the staffed day holding the last closing before `finish` opens (minus infinity
    when there is none): plates started before it stay as they are."""
    i = bisect.bisect_right(calendar.ends, finish) - 1
    return calendar.starts[i] if i >= 0 else -math.inf


def _slots(
    calendar: StaffCalendar,
    p: int,
    ready: float,
    bed_full: bool,
    finish: float,
    stagger: float,
    clear: float,
) -> list[Slot]:
    """The plates printer `p` should print from `ready` so it ends at `finish`."""
    out: list[Slot] = []
    t = calendar.next_staffed(ready) + clear if bed_full else max(0.0, ready)
    while math.isfinite(t) and t < finish - FINAL_MIN:
        staffed = calendar.staffed_at(t)
        if staffed:
            leave, back, _leave, _ = calendar.window_after(t)
            if finish <= leave:
                out.append(Slot(p, t, finish, True, divisible=True))
                break
            day_end = leave - stagger
            if day_end - t >= DAY_PLATE_MIN:
                out.append(Slot(p, t, day_end, True, divisible=True))
                t = day_end + clear
        else:
            back = calendar.next_staffed(t)
        if finish <= back + DAY_PLATE_MIN:
            out.append(Slot(p, t, finish, staffed))
            break
        out.append(Slot(p, t, back, staffed))
        t = back + clear
    return out


def _capacity(farm: Farm, slot: Slot, change: bool) -> float:
    """Seconds of parts `slot` holds (a spool change needs staff at its start)."""
    costs = farm.spec.costs
    if change and not slot.staffed:
        return 0.0
    start = slot.start + (costs.spool_change_minutes * 60.0 if change else 0.0)
    return max(0.0, slot.end - start - costs.plate_overhead_seconds)


def _assign_colours(
    farm: Farm,
    printers: list[int],
    slots: dict[int, list[Slot]],
    loaded_at: dict[int, int],
    pool: list[int],
) -> bool:
    """A colour per slot: loaded spools first, then each colour to the best-fitting printer.

    A slot that ends while staff are there may be cut in two when a colour needs only part
    of it; a night slot is one plate, so a small colour does not take one."""
    parts = np.array(pool, dtype=np.int64)
    groups = farm.part_group[parts]
    work = {}
    for g in np.unique(groups):  # the parts come in pieces: a margin of about one part
        seconds = farm.part_seconds[parts[groups == g]]
        work[int(g)] = float(seconds.sum()) + min(float(seconds.max()), PIECE_MARGIN)
    able = {g: farm.eligible[parts[groups == g]].any(axis=0) for g in work}
    reach = {g: int(able[g].sum()) for g in work}
    for g in sorted(work, key=lambda g: (reach[g], work[g], g)):
        # its loaded printers keep it (no spool change) ...
        mine = [p for p in printers if loaded_at[p] == g and able[g][p]]
        for p in sorted(mine, key=lambda p: (-sum(_capacity(farm, x, False) for x in slots[p]), p)):
            if any(x.group >= 0 for x in slots[p]):
                continue
            for slot in list(slots[p]):
                cap = _capacity(farm, slot, False)
                if work[g] <= WORK_LEFT or (not slot.divisible and work[g] < SMALL_SHARE * cap):
                    break
                work[g] -= _take(farm, slots[p], slot, g, work[g], False)
        # ... and the rest goes to the printer whose free slots fit it best
        while work[g] > WORK_LEFT:
            options = []
            for p in printers:
                free = _free(slots[p])
                if able[g][p] and free:
                    change = len(free) == len(slots[p]) and loaded_at[p] != g
                    room = sum(_capacity(farm, x, change and i == 0) for i, x in enumerate(free))
                    if room > 0:
                        other = loaded_at[p] != g and work.get(loaded_at[p], 0.0) > WORK_LEFT
                        options.append(
                            (other and len(free) == len(slots[p]), room, p, free, change)
                        )
            if not options:
                return False
            keep = min(o[0] for o in options)
            options = [o for o in options if o[0] == keep]  # spare others' loaded spools
            fits = [o for o in options if o[1] >= work[g]]
            _keep, _room, p, free, change = (
                min(fits, key=lambda o: (o[1], o[2]))
                if fits
                else max(options, key=lambda o: (o[1], -o[2]))
            )
            for i, slot in enumerate(free):
                if work[g] <= WORK_LEFT:
                    break
                work[g] -= _take(farm, slots[p], slot, g, work[g], change and i == 0)
    return True


def _free(slots: list[Slot]) -> list[Slot]:
    """The printer's slots after its last one with a colour."""
    used = [i for i, x in enumerate(slots) if x.group >= 0]
    return slots[used[-1] + 1 :] if used else list(slots)


def _take(farm: Farm, slots: list[Slot], slot: Slot, g: int, need: float, change: bool) -> float:
    """Give `slot` to colour `g`, cut to what `g` needs when staff are there at its end;
    returns the seconds of parts it holds."""
    slot.group = g
    cap = _capacity(farm, slot, change)
    if not slot.divisible or cap < need + SPLIT_MIN:
        return cap
    costs = farm.spec.costs
    end = slot.end - cap + need + SPLIT_MARGIN
    rest = Slot(slot.printer, end + costs.bed_clear_minutes * 60.0, slot.end, True, divisible=True)
    slot.end = end
    slots.insert(slots.index(slot) + 1, rest)
    return _capacity(farm, slot, change)


def _place_parts(
    farm: Farm, slots: dict[int, list[Slot]], loaded_at: dict[int, int], pool: list[int]
) -> bool:
    """Longest parts first, each to a slot of its colour: not late, most time left, nested."""
    by_group: dict[int, list[Slot]] = {}
    room: dict[int, float] = {}
    for p in sorted(slots):
        loaded = loaded_at[p]
        for slot in slots[p]:
            if slot.group < 0:
                continue
            by_group.setdefault(slot.group, []).append(slot)
            room[id(slot)] = _capacity(farm, slot, slot.group != loaded)
            loaded = slot.group
    horizon = max((sl.end for group in by_group.values() for sl in group), default=0.0)

    def urgency(x: int) -> tuple[float, float, int]:  # due before the end: earliest first
        due = float(farm.part_due[x])
        return (round(due / HOUR) if due < horizon else math.inf, -float(farm.part_seconds[x]), x)

    for x in sorted(pool, key=urgency):
        g = int(farm.part_group[x])
        seconds = float(farm.part_seconds[x])
        due = float(farm.part_due[x])
        choices = [
            slot
            for slot in by_group.get(g, [])
            if farm.eligible[x, slot.printer] and room[id(slot)] - slot.used + OVERSHOOT >= seconds
        ]
        choices.sort(
            key=lambda sl: (
                room[id(sl)] - sl.used < seconds,
                sl.end > due,
                -(room[id(sl)] - sl.used),
                sl.printer,
                sl.start,
            )
        )
        for slot in choices:
            if slot.layout is None:
                slot.layout = Layout(farm.beds[int(farm.printer_bed[slot.printer])], farm.library)
            spot = slot.layout.place(int(farm.part_shape[x]))
            if spot is None:
                slot.failed = True
                if slot.divisible and slot.parts:  # a full bed in the day: one more plate
                    _continue(farm, slots[slot.printer], slot, room, by_group)
                continue
            slot.parts.append(int(x))
            slot.placements.append(spot)
            slot.used += seconds
            break
        else:
            return False
    return True


def _continue(
    farm: Farm,
    printer_slots: list[Slot],
    slot: Slot,
    room: dict[int, float],
    by_group: dict[int, list[Slot]],
) -> None:
    """Cut a day slot whose bed is full at what it holds; the rest of its time becomes a
    new plate of the same colour."""
    costs = farm.spec.costs
    end = slot.start + (slot.end - slot.start - costs.plate_overhead_seconds - room[id(slot)])
    end += costs.plate_overhead_seconds + slot.used
    rest = Slot(
        slot.printer, end + costs.bed_clear_minutes * 60.0, slot.end, True, group=slot.group
    )
    rest.divisible = True
    room[id(rest)] = _capacity(farm, rest, False)
    room[id(slot)] = slot.used
    slot.end = end
    if room[id(rest)] > 0:
        printer_slots.insert(printer_slots.index(slot) + 1, rest)
        by_group[slot.group].append(rest)
