"""Which makerspace prints each part: the nearest one, unless a spool change or a full site says no.

Three passes over the open parts, each a small, explainable move away from "nearest":

1. Nearest: every part goes to the nearest site with a printer that may print it (within
   the shipping radius; a part the previous plan had at a site stays there when it still can).
2. Fewer spool changes: a material and colour with a little work at a site where no printer
   has it loaded would cost that site a spool change; its parts move together to a site that
   has it loaded (or already has that group's work) when the extra shipping costs less than
   the spool change.
3. Balance: sites with more work than their share of the farm's printer time hand parts to
   sites below their share, cheapest first (extra kilometres, plus a spool change when the
   receiving site has no work of that colour yet), until every site is within tolerance.

The dispatcher then builds each site's plates, and may still move work between sites at the
end (spill-over) when one site falls behind.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from scheduler.farm import Farm

BALANCE_TOLERANCE = 0.05  # a site may carry this much more than its share
MAX_PASSES = 12


def assign_sites(
    farm: Farm,
    start_load: NDArray[np.float64],
    open_parts: NDArray[np.int64],
    preferred_site: dict[int, int] | None = None,
    seed: int = 0,
) -> NDArray[np.int64]:
    """Site index for every part (-1 for parts not in `open_parts` or with no printer).

    `start_load`: seconds each printer is busy before it can take new work (inf: unavailable).
    `preferred_site`: a part's site in the previous plan, kept when still possible.
    `seed` breaks ties between equally cheap moves.
    """
    site_of = np.full(len(farm.parts), -1, dtype=np.int64)
    if open_parts.size == 0:
        return site_of
    n_sites = len(farm.spec.sites)
    can = np.stack(
        [farm.eligible[open_parts][:, farm.printer_site == s].any(axis=1) for s in range(n_sites)],
        axis=1,
    )  # (n, S)
    km = np.where(can, farm.distance_km[open_parts], np.inf)
    where = km.argmin(axis=1)
    if preferred_site:
        for i, x in enumerate(open_parts):
            s = preferred_site.get(int(x))
            if s is not None and can[i, s]:
                where[i] = s
    rng = np.random.default_rng(seed)
    jitter = rng.random(open_parts.size) * 1e-9
    where = _consolidate(farm, open_parts, km, where)
    where = _balance(farm, start_load, open_parts, km, where, jitter)
    site_of[open_parts] = where
    return site_of


def _loaded(farm: Farm) -> NDArray[np.bool_]:
    """(groups, sites): some available printer at the site has the group loaded."""
    out = np.zeros((len(farm.groups), len(farm.spec.sites)), dtype=bool)
    for p in range(len(farm.printers)):
        g = farm.group_of_printer_load(p)
        if g >= 0 and farm.printer_available[p]:
            out[g, int(farm.printer_site[p])] = True
    return out


def _consolidate(
    farm: Farm, parts: NDArray[np.int64], km: NDArray[np.float64], where: NDArray[np.int64]
) -> NDArray[np.int64]:
    costs = farm.spec.costs
    groups = farm.part_group[parts]
    present = _loaded(farm)
    seconds = farm.part_seconds[parts]
    pairs = sorted(
        {(int(g), int(s)) for g, s in zip(groups, where, strict=True)},
        key=lambda gs: float(seconds[(groups == gs[0]) & (where == gs[1])].sum()),
    )
    for g, s in pairs:
        if present[g, s]:
            continue
        mine = np.flatnonzero((groups == g) & (where == s))
        if mine.size == 0:
            continue
        has_work = np.array([((groups == g) & (where == t)).any() for t in range(km.shape[1])])
        targets = np.flatnonzero((present[g] | has_work) & np.isfinite(km[mine]).all(axis=0))
        targets = targets[targets != s]
        if targets.size == 0:
            continue
        extra = (km[np.ix_(mine, targets)] - km[mine, s][:, None]).sum(axis=0)
        best = int(np.argmin(extra + targets * 1e-9))
        if extra[best] * costs.cost_per_km < costs.spool_change_cost:
            where[mine] = targets[best]
    return where


def _balance(
    farm: Farm,
    start_load: NDArray[np.float64],
    parts: NDArray[np.int64],
    km: NDArray[np.float64],
    where: NDArray[np.int64],
    jitter: NDArray[np.float64],
) -> NDArray[np.int64]:
    costs = farm.spec.costs
    n_sites = km.shape[1]
    seconds = farm.part_seconds[parts]
    groups = farm.part_group[parts]
    available = np.isfinite(start_load)
    printers = np.bincount(farm.printer_site[available], minlength=n_sites).astype(float)
    busy = np.bincount(
        farm.printer_site[available], weights=start_load[available], minlength=n_sites
    )
    if printers.sum() == 0:
        return where
    total = seconds.sum() + busy.sum()
    share = total * printers / printers.sum()  # each site's fair part of all work
    for _ in range(MAX_PASSES):
        load = np.bincount(where, weights=seconds, minlength=n_sites) + busy
        over = load - share * (1.0 + BALANCE_TOLERANCE)
        room = share - load
        if (over <= 0).all() or (room <= 0).all():
            break
        donor = int(np.argmax(over))
        movable = np.flatnonzero(where == donor)
        takers = np.flatnonzero(room > 0)
        extra = km[np.ix_(movable, takers)] - km[movable, donor][:, None]
        present = np.zeros((len(farm.groups), n_sites), dtype=bool)
        present[groups, where] = True
        present |= _loaded(farm)
        penalty = np.where(present[groups[movable]][:, takers], 0.0, costs.spool_change_cost)
        price = extra * costs.cost_per_km + penalty + jitter[movable][:, None]
        order = np.argsort(price, axis=None, kind="stable")
        need, left = over[donor], room[takers].copy()
        moved = np.zeros(movable.size, dtype=bool)
        for flat in order:
            if need <= 0:
                break
            i, j = divmod(int(flat), takers.size)
            if moved[i] or not np.isfinite(price[i, j]) or left[j] <= 0:
                continue
            where[movable[i]] = takers[j]
            moved[i] = True
            need -= seconds[movable[i]]
            left[j] -= seconds[movable[i]]
        if not moved.any():
            break
    return where
