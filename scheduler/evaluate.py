"""One evaluator for every plan: re-time the plates with the shared rules and measure them.

The planner's own plans, FarmBench's baselines and any plan read back from JSON are all
timed by `timeline.simulate` here, so lateness, spool changes, operator visits and idle
full beds are counted the same way for each. `measure` returns the `PlanMetrics` of the
plan format, including the cost the planner minimises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from protocol.planning import PlanMetrics
from scheduler.draft import Draft
from scheduler.farm import Farm
from scheduler.timeline import Clocks, simulate

LATE_TOLERANCE_S = 60.0


@dataclass
class Timing:
    clocks: Clocks
    plates: list[list[Draft]]


def retime(farm: Farm, plates: list[list[Draft]]) -> Timing:
    """Simulate every printer's plates in order and write start, end and spool change."""
    locked_end = {p: seq[0].end for p, seq in enumerate(plates) if seq and seq[0].running}
    runnable = [[d for d in seq if not d.running] for seq in plates]
    sequences = [[(d.group, d.seconds) for d in seq] for seq in runnable]
    for p, seq in enumerate(runnable):
        if not farm.printer_available[p]:
            sequences[p] = []
            for draft in seq:
                draft.start = draft.end = math.nan
    timed, clocks = simulate(farm, sequences, locked_end)
    for seq, times in zip(runnable, timed, strict=True):
        for draft, t in zip(seq, times, strict=False):
            draft.start, draft.end, draft.spool_change = t.start, t.end, t.spool_change
    return Timing(clocks, plates)


def measure(farm: Farm, plates: list[list[Draft]], clocks: Clocks | None = None) -> PlanMetrics:
    """Metrics of timed plates (run `retime` first, or pass the planner's clocks)."""
    costs = farm.spec.costs
    ends, parts_end, parts_printer = [], [], []
    spool_changes = 0
    utilisation, full = [], []
    for seq in plates:
        for draft in seq:
            if math.isfinite(draft.end):
                ends.append(draft.end)
            spool_changes += int(draft.spool_change)
            parts_end.extend([draft.end] * len(draft.parts))
            parts_printer.extend([draft.printer] * len(draft.parts))
            if not draft.locked:
                utilisation.append(draft.utilisation)
                if draft.bed_full:
                    full.append(draft.utilisation)
    placed = np.array([x for seq in plates for d in seq for x in d.parts], dtype=np.int64)
    end = np.array(parts_end, dtype=np.float64)
    finite = np.isfinite(end)
    late = np.maximum(0.0, np.where(finite, end, 0.0) - farm.part_due[placed]) / 3600.0
    weight = farm.part_weight[placed]
    site = farm.printer_site[np.array(parts_printer, dtype=np.int64)] if placed.size else placed
    km = farm.distance_km[placed, site] if placed.size else np.zeros(0)
    visits = sum(c.visits for c in clocks.printers) if clocks else 0
    idle = sum(c.idle_full_seconds for c in clocks.printers) if clocks else 0.0
    cost = (
        float((weight * late).sum()) * costs.lateness_cost_per_hour
        + float((weight * np.where(finite, end, 0.0)).sum()) / 3600.0 * costs.waiting_cost_per_hour
        + float(km.sum()) * costs.cost_per_km
        + spool_changes * costs.spool_change_cost
        + visits * costs.bed_clear_cost
    )
    n_open = int((~farm.part_locked).sum()) + int(farm.part_locked.sum())
    return PlanMetrics(
        parts=n_open,
        placed_parts=int(placed.size),
        unplaced_parts=n_open - int(placed.size),
        plates=sum(len(seq) for seq in plates),
        makespan_hours=max(ends, default=0.0) / 3600.0,
        mean_tardiness_hours=float(late.mean()) if late.size else 0.0,
        late_parts=int((late * 3600.0 > LATE_TOLERANCE_S).sum()),
        spool_changes=spool_changes,
        operator_visits=visits,
        mean_plate_utilisation=float(np.mean(utilisation)) if utilisation else 0.0,
        full_plate_utilisation=float(np.mean(full)) if full else None,
        mean_ship_km=float(km.mean()) if km.size else 0.0,
        idle_full_bed_hours=idle / 3600.0,
        cost=max(0.0, cost),
    )
