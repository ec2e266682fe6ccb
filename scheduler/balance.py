"""Which makerspace prints each part: near its ship-to point, spilling over when a site is full.

Parts are taken in due-date order (priority counts as earlier). Each candidate site within
the shipping radius is priced with what the part would cost there: distance, the lateness
and waiting its estimated finish implies, and a spool change when no printer at that site
is already given the part's material and colour. Estimated finishes come from a fluid view
of the site: each eligible printer's queue of assigned work, stretched by the share of time
a printer loses to unstaffed hours. The cheapest site wins and its least loaded printer's
queue grows. The dispatcher later runs each site's queue; this step only balances the load.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from scheduler.farm import Farm

# Printers lose time to nights and weekends with a full bed; queues are stretched by this.
FLUID_EFFICIENCY = 0.9


def assign_sites(farm: Farm, start_load: NDArray[np.float64],
                 open_parts: NDArray[np.int64],
                 preferred_site: dict[int, int] | None = None, seed: int = 0) -> NDArray[np.int64]:
    """Site index for every part in `open_parts` (-1 when no printer may take it).

    `start_load`: seconds each printer is busy before it can take new work.
    `preferred_site`: a part's site in the previous plan; moving it costs one spool change.
    `seed` orders parts that are due at the same moment.
    """
    costs = farm.spec.costs
    site_of = np.full(len(farm.parts), -1, dtype=np.int64)
    load = start_load.astype(np.float64).copy()
    n_sites = len(farm.spec.sites)
    printer_site = farm.printer_site
    site_groups: list[set[int]] = [set() for _ in range(n_sites)]
    for p in range(len(farm.printers)):
        if farm.printer_available[p]:
            site_groups[int(printer_site[p])].add(farm.group_of_printer_load(p))
    ties = np.random.default_rng(seed).random(open_parts.size)
    order = open_parts[np.lexsort((ties, farm.part_key[open_parts]))]
    for x in order:
        row = farm.eligible[x]
        if not row.any():
            continue
        printers = np.flatnonzero(row)
        sites = printer_site[printers]
        finish = load[printers] / FLUID_EFFICIENCY + farm.part_seconds[x]
        best_cost, best_printer = np.inf, -1
        for s in np.unique(sites):
            here = printers[sites == s]
            k = int(np.argmin(finish[sites == s]))
            done = float(finish[sites == s][k])
            cost = _site_cost(farm, int(x), int(s), done, site_groups)
            if preferred_site is not None and preferred_site.get(int(x), int(s)) != int(s):
                cost += costs.spool_change_cost
            if cost < best_cost - 1e-12:
                best_cost, best_printer = cost, int(here[k])
        s = int(printer_site[best_printer])
        site_of[x] = s
        load[best_printer] += farm.part_seconds[x]
        site_groups[s].add(int(farm.part_group[x]))
    return site_of


def _site_cost(farm: Farm, x: int, s: int, done: float, site_groups: list[set[int]]) -> float:
    costs = farm.spec.costs
    weight = float(farm.part_weight[x])
    late_hours = max(0.0, done - float(farm.part_due[x])) / 3600.0
    cost = float(farm.distance_km[x, s]) * costs.cost_per_km
    cost += weight * (costs.lateness_cost_per_hour * late_hours
                      + costs.waiting_cost_per_hour * done / 3600.0)
    if int(farm.part_group[x]) not in site_groups[s]:
        cost += costs.spool_change_cost
    return cost
