"""How much shipping a given makespan needs, in the fluid relaxation of a FarmBench class.

`.venv/bin/python bench/scheduler_relaxation.py M-tight M-loose [--staff]`

For makespans of 1.00 to 1.50 times the class's lower bound it solves a min-cost flow
(networkx's network simplex): every job's print minutes flow to the printers allowed to print
it, each printer takes at most the minutes it has between when it can start and the makespan,
and a minute costs the job's extra kilometres over its nearest eligible site (per part).
Parts may be split across printers and plates are ignored, so the figure printed is a lower
bound on the shipping ratio (mean km over the nearest-site mean) any plan with that makespan
must pay. `--staff` makes it a little less loose: a printer still busy at the start waits for
staff to clear its bed, and every printer pays one plate's overhead.

It answers one question about the issue's goals: are "makespan within 1.10 of the bound" and
"shipping within 1.2 of its bound" compatible on a class? If the ratio printed at 1.10 is
above 1.2, no planner can meet both; if it is near 1.0, the limit is the planner's packing of
plates along staffed hours, not geography.
"""

from __future__ import annotations

import argparse

import networkx as nx
import numpy as np

from scheduler.farm import Farm, compile_farm
from scheduler.farmbench.bounds import lower_bounds
from scheduler.farmbench.generator import generate
from scheduler.farmbench.runner import CLASSES, _busy

RATIOS = (1.0, 1.05, 1.10, 1.20, 1.30, 1.50)
UNIT_S = 60  # flow in minutes of printing


def least_ship_ratio(farm: Farm, busy: np.ndarray, makespan_s: float) -> float | None:
    """The least mean-km ratio of any fractional plan finishing by `makespan_s`; None when
    the printers cannot hold the work by then."""
    parts = np.flatnonzero(farm.eligible.any(axis=1) & ~farm.part_locked)
    site_km = farm.distance_km[parts][:, farm.printer_site]
    nearest = np.where(farm.eligible[parts], site_km, np.inf).min(axis=1)
    jobs: dict[str, list[int]] = {}
    for row, x in enumerate(parts):
        jobs.setdefault(farm.parts[int(x)].job, []).append(row)
    graph = nx.DiGraph()
    total = 0
    for job, rows in jobs.items():
        first = int(parts[rows[0]])
        amount = round(float(farm.part_seconds[parts[rows]].sum()) / UNIT_S)
        if amount == 0:
            continue
        total += amount
        graph.add_node(("job", job), demand=-amount)
        part_units = float(farm.part_seconds[first]) / UNIT_S
        for p in np.flatnonzero(farm.eligible[first]):
            extra_km = float(farm.distance_km[first, farm.printer_site[p]] - nearest[rows[0]])
            graph.add_edge(
                ("job", job), ("printer", int(p)), weight=round(extra_km / part_units * 1000)
            )
    room = 0
    for p in range(len(farm.printers)):
        minutes = int(max(0.0, makespan_s - busy[p]) / UNIT_S) if np.isfinite(busy[p]) else 0
        graph.add_edge(("printer", p), "end", capacity=minutes, weight=0)
        room += minutes
    if room < total:
        return None
    graph.add_node("end", demand=total)
    try:
        cost, _flow = nx.network_simplex(graph)
    except nx.NetworkXUnfeasible:
        return None
    return float((nearest.sum() + cost / 1000.0) / nearest.sum())


def _start_with_staff(farm: Farm, busy: np.ndarray) -> np.ndarray:
    out = busy.copy()
    overhead = farm.spec.costs.plate_overhead_seconds
    for p, spec in enumerate(farm.printers):
        if not np.isfinite(out[p]):
            continue
        if spec.state in ("printing", "bed_full"):
            calendar = farm.calendars[int(farm.printer_site[p])]
            out[p] = calendar.next_staffed(out[p]) + farm.spec.costs.bed_clear_minutes * 60
        out[p] += overhead
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("classes", nargs="*", default=["M-tight", "M-loose"])
    parser.add_argument("--staff", action="store_true", help="busy printers wait for staff")
    args = parser.parse_args()
    print(f"{'class':>8} {'makespan/LB':>12} {'hours':>7} {'least ship km/LB':>17}")
    for name in args.classes:
        bench = next((b for b in CLASSES if b.name == name), None)
        if bench is None:
            parser.error(f"no class {name!r}; choose from {', '.join(b.name for b in CLASSES)}")
        farm = compile_farm(generate(bench.spec))
        busy = _busy(farm)
        bound_s = lower_bounds(farm, busy).makespan_hours * 3600.0
        if args.staff:
            busy = _start_with_staff(farm, busy)
        for ratio in RATIOS:
            least = least_ship_ratio(farm, busy, bound_s * ratio)
            shown = "infeasible" if least is None else f"{least:.3f}"
            print(f"{name:>8} {ratio:12.2f} {bound_s * ratio / 3600:7.1f} {shown:>17}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
