"""`plan()`: the scheduler's one entry point, from a farm instance to a plan.

Steps: compile the instance; keep locked plates and the previous plan's promised plates
exactly as they are; give every open part a site so the sites finish together within a
shipping budget (`sites`, on the capacity model of `capacity`); per site, give each printer
its colour campaigns, loaded spools first (`campaigns`); cut each printer's campaigns into
plates along its staffed-hours timeline (`timetable`); move plates off the printer that
finishes last while that lowers the cost (`improve`); re-time everything with the shared
evaluator; write the plan with reasons for what could not be placed. Pure: same instance,
previous plan and seed give the same plan, byte for byte.
"""

from __future__ import annotations

import math

import numpy as np

from protocol.planning import Plan, PlanInstance
from scheduler.campaigns import Campaign, estimate, site_campaigns, site_load
from scheduler.draft import Draft
from scheduler.evaluate import measure, retime
from scheduler.farm import Farm, compile_farm
from scheduler.fixed import locked_plates, promised_plates
from scheduler.improve import improve, objective
from scheduler.leveling import level
from scheduler.output import write_plan
from scheduler.reasons import unplaceable
from scheduler.sites import assign_sites
from scheduler.timetable import Timetable

FINISH_STEP = 1800.0  # later common finishes tried, half an hour apart
FINISH_STEPS = 16


def plan(instance: PlanInstance, previous: Plan | None = None, seed: int = 0) -> Plan:
    """Plan plates for `instance`; with `previous`, plates it promised soon stay as they were.

    `seed` breaks ties between equally good choices; the same seed gives the same plan.
    """
    farm = compile_farm(instance)
    plates, warnings = build(farm, previous, seed)
    timing = retime(farm, plates)
    metrics = measure(farm, plates, timing.clocks)
    return write_plan(farm, plates, unplaceable(farm), warnings, metrics, seed)


def build(farm: Farm, previous: Plan | None, seed: int) -> tuple[list[list[Draft]], list[str]]:
    """Per printer, its plates in run order (locked, promised, then new)."""
    fixed, locked_end, warnings = locked_plates(farm)
    promised = promised_plates(farm, previous, fixed) if previous is not None else {}
    for p, plates in promised.items():
        fixed.setdefault(p, []).extend(plates)
    taken = np.zeros(len(farm.parts), dtype=bool)
    for plates in fixed.values():
        for plate in plates:
            taken[plate.parts] = True
    open_parts = np.flatnonzero(~taken & ~farm.part_locked & farm.eligible.any(axis=1))
    start_load = _start_load(farm, fixed, locked_end)
    preferred = _previous_sites(farm, previous)
    site_of = assign_sites(farm, start_load, open_parts, preferred, seed)
    running = {p: [d for d in plates if d.running] for p, plates in fixed.items()}
    queued = {p: [d for d in plates if not d.running] for p, plates in fixed.items()}
    campaigns = _campaigns(farm, start_load, site_of, fixed, locked_end)
    per_printer = Timetable(farm, site_of, campaigns, queued, locked_end).run()
    per_printer = improve(farm, per_printer)
    per_printer = level(farm, per_printer, objective)
    for p, drafts in running.items():
        per_printer[p][:0] = drafts
    for p, drafts in queued.items():
        if not farm.printer_available[p]:
            per_printer[p].extend(drafts)  # never dispatched: keep them listed, untimed
    return per_printer, warnings


def _start_load(
    farm: Farm, fixed: dict[int, list[Draft]], locked_end: dict[int, float]
) -> np.ndarray:
    load = np.zeros(len(farm.printers))
    for p, printer in enumerate(farm.printers):
        if not farm.printer_available[p]:
            load[p] = math.inf
            continue
        free = farm.seconds(printer.free_at) if printer.free_at is not None else 0.0
        load[p] = max(0.0, free, locked_end.get(p, 0.0))
        load[p] += sum(d.seconds for d in fixed.get(p, []) if not d.running)
    return load


def _campaigns(
    farm: Farm,
    start_load: np.ndarray,
    site_of: np.ndarray,
    fixed: dict[int, list[Draft]],
    locked_end: dict[int, float],
) -> dict[int, list[Campaign]]:
    out: dict[int, list[Campaign]] = {}
    full = np.array(
        [
            p in locked_end or bool(fixed.get(p)) or printer.state in ("printing", "bed_full")
            for p, printer in enumerate(farm.printers)
        ],
        dtype=bool,
    )
    sites = []
    for s in range(len(farm.spec.sites)):
        printers = np.flatnonzero((farm.printer_site == s) & np.isfinite(start_load))
        parts = np.flatnonzero(site_of == s)
        sites.append((printers, parts))
    # the farm finishes when its slowest site does; the others may use that time too, and
    # a later finish is worth it while the spool changes it saves cost more than its hours
    common = max(
        (
            site_load(farm, ps, start_load[ps], full[ps], xs).finish()
            for ps, xs in sites
            if ps.size and xs.size
        ),
        default=0.0,
    )
    if not math.isfinite(common):
        common = 0.0
    costs = farm.spec.costs
    best: tuple[float, dict[int, list[Campaign]]] | None = None
    for k in range(FINISH_STEPS + 1):
        finish = common + k * FINISH_STEP
        plans: dict[int, list[Campaign]] = {}
        value = costs.makespan_cost_per_hour * finish / 3600.0
        for printers, parts in sites:
            mine = site_campaigns(
                farm, printers, start_load[printers], full[printers], parts, finish
            )
            starts = site_load(farm, printers, start_load[printers], full[printers], parts).starts
            changes, late = estimate(farm, printers, starts, mine, parts)
            value += changes * costs.spool_change_cost + late
            plans.update(mine)
        if best is None or value < best[0] - 1e-9:
            best = (value, plans)
    assert best is not None
    out.update(best[1])
    return out


def _previous_sites(farm: Farm, previous: Plan | None) -> dict[int, int] | None:
    if previous is None:
        return None
    part_index = {part.id: i for i, part in enumerate(farm.parts)}
    site_index = {site.id: i for i, site in enumerate(farm.spec.sites)}
    out: dict[int, int] = {}
    for plate in previous.plates:
        s = site_index.get(plate.site)
        if s is None:
            continue
        for placement in plate.placements:
            x = part_index.get(placement.part)
            if x is not None:
                out[x] = s
    return out
