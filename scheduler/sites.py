"""Which site prints each part: a transportation problem against a common finish time.

Every part starts at its nearest site that can print it (shipping is cheapest there). Then:

1. Consolidation. A material and colour with little work at a site where no printer has it
   loaded costs a spool change there for a few parts; those parts move to the site nearest
   them that has the colour loaded or has work in it, when the extra distance costs less than
   the change (`costs.cost_per_km` against `costs.spool_change_cost`).
2. Balance. The sites should finish together: for a finish time T each site can print its
   printers' capacity up to T (`capacity`, per group of printers a part may use), and a
   site over capacity hands parts to sites with room, the parts whose extra distance is
   smallest first (a colour new to the receiving site counts as a spool change's worth of
   km). T is found by bisection: the earliest T whose moves keep the mean shipping distance
   within `SHIP_SLACK` of the nearest-site distance, plus what the hours saved are worth
   (`costs.makespan_cost_per_hour` against `costs.cost_per_km`), never more than `SHIP_CAP`
   in all unless a site is saturated (it would finish `SATURATED_HOURS` after the balanced
   finish). Shops cluster around sites and demand follows printers, so little has to move.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from scheduler.capacity import MaskLoad, finish_for, masks_of
from scheduler.farm import Farm

SHIP_SLACK = 0.15  # mean km may exceed the nearest-site mean by this share to balance load
SHIP_CAP = 0.18  # and never by more than this share, whatever the hours saved are worth
CONSOLIDATE_SHARE = 0.5  # of that cap, what moving small colours to loaded spools may use
SATURATED_HOURS = 12.0  # unless a site would finish this much later than balanced: it spills
BISECTIONS = 14
MAX_PASSES = 400
TOLERANCE_S = 60.0


def assign_sites(
    farm: Farm,
    start_load: NDArray[np.float64],
    open_parts: NDArray[np.int64],
    preferred_site: dict[int, int] | None = None,
    seed: int = 0,
) -> NDArray[np.int64]:
    """Site index for every part (-1 for parts not in `open_parts` or with no printer).

    `start_load`: when each printer can take new work, seconds after now (inf: unavailable).
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
    )
    km = np.where(can, farm.distance_km[open_parts], np.inf)
    nearest = km.min(axis=1)
    where = km.argmin(axis=1)
    if preferred_site:
        for i, x in enumerate(open_parts):
            s = preferred_site.get(int(x))
            if s is not None and can[i, s]:
                where[i] = s
    jitter = np.random.default_rng(seed).random(open_parts.size) * 1e-6
    cap = SHIP_CAP * float(nearest.sum())
    where = _consolidate(farm, open_parts, km, where, CONSOLIDATE_SHARE * cap)
    spent = float((km[np.arange(km.shape[0]), where] - nearest).sum())
    budget = SHIP_SLACK * float(nearest.sum()) - spent
    balancer = Balancer(farm, start_load, open_parts, km, jitter)
    site_of[open_parts] = balancer.balance(where, max(budget, 0.0), max(cap - spent, 0.0))
    return site_of


def _present(farm: Farm) -> NDArray[np.bool_]:
    """(groups, sites): some available printer at the site has the group loaded."""
    out = np.zeros((len(farm.groups), len(farm.spec.sites)), dtype=bool)
    for p in range(len(farm.printers)):
        g = farm.group_of_printer_load(p)
        if g >= 0 and farm.printer_available[p]:
            out[g, int(farm.printer_site[p])] = True
    return out


def _consolidate(
    farm: Farm,
    parts: NDArray[np.int64],
    km: NDArray[np.float64],
    where: NDArray[np.int64],
    cap_km: float,
) -> NDArray[np.int64]:
    costs = farm.spec.costs
    groups = farm.part_group[parts]
    loaded = _present(farm)
    seconds = farm.part_seconds[parts]
    pairs = sorted(
        {(int(g), int(s)) for g, s in zip(groups, where, strict=True)},
        key=lambda gs: (float(seconds[(groups == gs[0]) & (where == gs[1])].sum()), gs),
    )
    for g, s in pairs:
        if loaded[g, s]:
            continue
        mine = np.flatnonzero((groups == g) & (where == s))
        if mine.size == 0:
            continue
        has_work = np.array([((groups == g) & (where == t)).any() for t in range(km.shape[1])])
        targets = np.flatnonzero((loaded[g] | has_work) & np.isfinite(km[mine]).all(axis=0))
        targets = targets[targets != s]
        if targets.size == 0:
            continue
        extra = (km[np.ix_(mine, targets)] - km[mine, s][:, None]).sum(axis=0)
        best = int(np.argmin(extra + targets * 1e-9))
        if extra[best] * costs.cost_per_km < costs.spool_change_cost and extra[best] <= cap_km:
            where[mine] = targets[best]
            cap_km -= float(extra[best])
    return where


class Balancer:
    """Moves parts off sites that cannot finish by T, cheapest extra distance first."""

    def __init__(
        self,
        farm: Farm,
        start_load: NDArray[np.float64],
        parts: NDArray[np.int64],
        km: NDArray[np.float64],
        jitter: NDArray[np.float64],
    ) -> None:
        self.farm = farm
        self.parts = parts
        self.km = km
        self.jitter = jitter
        self.seconds = farm.part_seconds[parts]
        self.groups = farm.part_group[parts]
        n_sites = km.shape[1]
        self.site_printers = [
            np.flatnonzero((farm.printer_site == s) & np.isfinite(start_load))
            for s in range(n_sites)
        ]
        self.starts = [np.asarray(start_load[ps], dtype=np.float64) for ps in self.site_printers]
        eligible = farm.eligible[parts]
        self.masks = np.zeros((parts.size, n_sites), dtype=object)
        for s, ps in enumerate(self.site_printers):
            self.masks[:, s] = masks_of(eligible[:, ps]) if ps.size else [0] * parts.size
        self.loaded = _present(farm)
        costs = farm.spec.costs
        self.hour_km = costs.makespan_cost_per_hour / max(costs.cost_per_km, 1e-9)
        self.change_km = (
            farm.spec.costs.spool_change_cost / farm.spec.costs.cost_per_km
            if farm.spec.costs.cost_per_km > 0
            else 1e6
        )

    def loads(self, where: NDArray[np.int64]) -> list[MaskLoad]:
        out = []
        for s, ps in enumerate(self.site_printers):
            load = MaskLoad(self.farm, ps, self.starts[s])
            for i in np.flatnonzero(where == s):
                load.add(self.masks[i, s], float(self.seconds[i]))
            out.append(load)
        return out

    def balance(
        self, where: NDArray[np.int64], budget_km: float, cap_km: float = math.inf
    ) -> NDArray[np.int64]:
        """The earliest common finish whose moves fit the km budget, where every hour
        the farm finishes sooner buys `costs.makespan_cost_per_hour` worth of km more,
        up to `cap_km` in all."""
        loads = self.loads(where)
        high = max((load.finish() for load in loads if load.work), default=0.0)
        total = float(self.seconds.sum())
        every = np.concatenate(self.starts) if self.starts else np.zeros(0)
        low = finish_for(self.farm, every, total)
        if not math.isfinite(high) or high <= low:
            return where

        def allowed(finish: float) -> float:
            saved = (high - finish) / 3600.0
            value = budget_km + self.hour_km * saved
            return value if saved >= SATURATED_HOURS else min(cap_km, value)

        best = where
        moved, km = self.spill(where, low)
        if moved is not None and km <= allowed(low):
            return moved
        for _ in range(BISECTIONS):
            mid = (low + high) / 2.0
            moved, km = self.spill(where, mid)
            if moved is not None and km <= allowed(mid):
                best, high = moved, mid
            else:
                low = mid
        return best

    def spill(
        self, start: NDArray[np.int64], finish: float
    ) -> tuple[NDArray[np.int64] | None, float]:
        """Parts moved so every site meets `finish` (None if impossible) and the extra km."""
        where = start.copy()
        loads = self.loads(where)
        present = self.loaded.copy()
        present[self.groups, where] = True
        extra_km = 0.0
        n_sites = self.km.shape[1]
        for _ in range(MAX_PASSES):
            worst = max(
                ((load.excess(finish), s) for s, load in enumerate(loads) if load.work),
                default=((0.0, 0), -1),
            )
            (over, mask), s = worst
            if over <= TOLERANCE_S:
                return where, extra_km
            mine = np.flatnonzero(where == s)
            inside = np.array([self.masks[i, s] & ~mask == 0 for i in mine], dtype=bool)
            mine = mine[inside]
            if mine.size == 0:
                return None, math.inf
            extra = self.km[mine] - self.km[mine, s][:, None]
            penalty = np.where(present[self.groups[mine]], 0.0, self.change_km)
            price = extra + penalty + self.jitter[mine][:, None]
            price[:, s] = np.inf
            order = np.argsort(price, axis=None, kind="stable")
            need = over
            done = False
            for flat in order:
                i, r = divmod(int(flat), n_sites)
                if not np.isfinite(price[i, r]):
                    break
                x = int(mine[i])
                if where[x] != s:
                    continue
                seconds = float(self.seconds[x])
                if loads[r].room(self.masks[x, r], finish) < seconds:
                    continue
                where[x] = r
                loads[s].add(self.masks[x, s], -seconds)
                loads[r].add(self.masks[x, r], seconds)
                present[self.groups[x], r] = True
                extra_km += float(extra[i, r])
                need -= seconds
                done = True
                if need <= TOLERANCE_S:
                    break
            if not done:
                return None, math.inf
        return None, math.inf
