"""Per site, which printers run which material and colour: a second assignment problem.

The site's printers share its work until a common finish time (`capacity`), set a spool
change's worth of hours (`costs.spool_change_cost` over `costs.makespan_cost_per_hour`)
after the earliest possible one so loaded printers may run a little longer: each printer
has that many seconds to fill. A spool change costs an operator visit, so each printer should
run one long campaign, or very few, on the spools already loaded:

1. a min-cost flow (networkx, in minutes) from colours to printers, free on a printer's
   loaded spool and priced on any other, decides how much of each colour the loaded printers
   keep (it respects the printers a part may use and every printer's room);
2. the work no loaded printer covers goes to the printers with room left, the colours
   confined to few printers (enclosure, TPU) first, each to the printer whose room fits it
   best (one change), split over several only when none can take it all;
3. a printer runs its loaded colour first, then its other campaigns by their most urgent
   part, its largest last (it runs through the night).

The quotas are a plan, not a cage: printers take parts from a shared pool per colour in
due-date order, so urgent parts take the earliest slots of their colour, and a printer out
of campaigns helps with what is left (see `timetable`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from scheduler.capacity import HOUR, MaskLoad, capacity, masks_of, staffed_start
from scheduler.farm import Farm

MIN_QUOTA = 0.25 * HOUR


@dataclass
class Campaign:
    group: int
    seconds: float  # planned printing of this group on this printer


def site_campaigns(
    farm: Farm,
    printers: NDArray[np.int64],
    free: NDArray[np.float64],
    bed_full: NDArray[np.bool_],
    parts: NDArray[np.int64],
    common_finish: float | None = None,
) -> dict[int, list[Campaign]]:
    """Campaigns of every printer in `printers` (one site), for its `parts`.

    `common_finish`: when the farm as a whole plans to finish; a site that could finish
    sooner plans to that moment instead, so its loaded printers keep more of their colours
    and fewer printers change spools. Without it, the site's own earliest finish plus a
    spool change's worth of hours.
    """
    out: dict[int, list[Campaign]] = {int(p): [] for p in printers}
    if parts.size == 0 or printers.size == 0:
        return out
    seconds = farm.part_seconds[parts]
    groups = farm.part_group[parts]
    eligible = farm.eligible[np.ix_(parts, printers)]  # (parts, printers)
    present = np.unique(groups)
    work_gp = {
        int(g): (seconds[groups == g][:, None] * eligible[groups == g]).sum(axis=0) for g in present
    }
    loaded = np.array([farm.group_of_printer_load(int(p)) for p in printers])
    load = site_load(farm, printers, free, bed_full, parts)
    starts = load.starts
    # a spool change is worth this much later finish: loaded printers may run that longer
    own = load.finish()
    finish = own + change_hours(farm) * HOUR if common_finish is None else max(own, common_finish)
    room = capacity(farm, starts, finish) if math.isfinite(finish) else np.zeros(printers.size)
    left = {int(g): float(seconds[groups == g].sum()) for g in present}
    flow = _transport(left, work_gp, room, loaded)
    quota: dict[tuple[int, int], float] = {}
    room = room.copy()
    for (g, j), amount in flow.items():
        if loaded[j] == g:  # the flow's loaded-spool part is kept
            quota[(g, j)] = amount
            room[j] -= amount
            left[g] -= amount
    _best_fit(left, work_gp, room, quota)
    # 3. order: loaded spool first, then by urgency
    first_key = {int(g): float(farm.part_key[parts[groups == g]].min()) for g in present}
    for (g, j), amount in sorted(quota.items()):
        if amount > 0:
            out[int(printers[j])].append(Campaign(g, amount))
    for j, p in enumerate(printers):
        mine = out[int(p)]
        others = [c for c in mine if c.group != loaded[j]]
        last = max(others, key=lambda c: (c.seconds, -c.group)).group if others else -1
        mine.sort(
            key=lambda c: (c.group != loaded[j], c.group == last, first_key[c.group], c.group)
        )
    return out


def estimate(
    farm: Farm,
    printers: NDArray[np.int64],
    starts: NDArray[np.float64],
    plans: dict[int, list[Campaign]],
    parts: NDArray[np.int64],
) -> tuple[int, float]:
    """(spool changes, cost of lateness) the campaigns of one site are expected to cost.

    Each colour's parts, most urgent first, go to whichever of its printers is free first,
    a printer working through its campaigns in order from its start: a quick list schedule,
    enough to tell campaigns that make parts late from those that do not.
    """
    changes = 0
    clock = {int(p): float(t) for p, t in zip(printers, starts, strict=True)}
    windows: dict[int, list[tuple[float, float, int]]] = {}  # group -> (begin, seconds, p)
    for p in (int(p) for p in printers):
        loaded = farm.group_of_printer_load(p)
        t = clock[p]
        for campaign in plans.get(p, []):
            changes += int(campaign.group != loaded)
            loaded = campaign.group
            windows.setdefault(campaign.group, []).append((t, campaign.seconds, p))
            t += campaign.seconds
    groups = farm.part_group[parts]
    late = 0.0
    for g, slots in windows.items():
        mine = parts[groups == g]
        mine = mine[np.argsort(farm.part_key[mine], kind="stable")]
        heap = [[begin, begin + seconds] for begin, seconds, _p in slots]
        for x in mine:
            k = min(range(len(heap)), key=lambda i: heap[i][0])
            heap[k][0] += float(farm.part_seconds[x])
            over = heap[k][0] - float(farm.part_due[x])
            if over > 0:
                late += over / HOUR * float(farm.part_weight[x])
    return changes, late * farm.spec.costs.lateness_cost_per_hour


def change_hours(farm: Farm) -> float:
    """Hours of later finish a spool change is worth."""
    costs = farm.spec.costs
    return costs.spool_change_cost / max(costs.makespan_cost_per_hour, 1e-9)


def site_load(
    farm: Farm,
    printers: NDArray[np.int64],
    free: NDArray[np.float64],
    bed_full: NDArray[np.bool_],
    parts: NDArray[np.int64],
) -> MaskLoad:
    """The site's work per group of printers, each printer starting when it can (a printer
    whose loaded colour has no work here waits for staff to change its spool)."""
    seconds = farm.part_seconds[parts]
    groups = farm.part_group[parts]
    eligible = farm.eligible[np.ix_(parts, printers)]
    loaded = np.array([farm.group_of_printer_load(int(p)) for p in printers])
    own_work = np.array(
        [float((seconds[:, None] * eligible)[groups == g, j].sum()) for j, g in enumerate(loaded)]
    )
    starts = np.array(
        [
            staffed_start(farm, int(p), float(free[j]), own_work[j] <= 0.0, bool(bed_full[j]))
            for j, p in enumerate(printers)
        ]
    )
    load = MaskLoad(farm, np.arange(printers.size), starts)
    for mask, s in zip(masks_of(eligible), seconds, strict=True):
        load.add(mask, float(s))
    return load


def _transport(
    left: dict[int, float],
    work_gp: dict[int, NDArray[np.float64]],
    room: NDArray[np.float64],
    loaded: NDArray[np.int64],
) -> dict[tuple[int, int], float]:
    """Seconds of each group per printer: a min-cost flow in minutes.

    Work on the loaded spool is free, on any other spool costs one unit per minute (so the
    flow keeps loaded printers on their colour and, being a vertex of the flow polytope,
    splits few groups); work beyond every printer's capacity goes to the printer with the
    most room, at a high cost.
    """
    graph = nx.DiGraph()
    total = 0
    for g, seconds in left.items():
        minutes = math.ceil(seconds / 60.0)
        total += minutes
        graph.add_node(("g", g), demand=-minutes)
        for j in (int(k) for k in np.flatnonzero(work_gp[g] > 0)):
            cost = 0 if loaded[j] == g else 10
            graph.add_edge(
                ("g", g), ("p", int(j)), capacity=math.ceil(work_gp[g][j] / 60.0), weight=cost
            )
        graph.add_edge(("g", g), "over", weight=1000)
    for j, r in enumerate(room):
        graph.add_edge(("p", j), "sink", capacity=max(0, int(r // 60.0)), weight=0)
    graph.add_edge("over", "sink", weight=0)
    graph.add_node("sink", demand=total)
    flow = nx.min_cost_flow(graph)
    out: dict[tuple[int, int], float] = {}
    spare = room.copy()
    for g in left:
        for target, minutes in flow[("g", g)].items():
            if minutes <= 0:
                continue
            if target == "over":
                able = np.flatnonzero(work_gp[g] > 0)
                k = int(able[np.argmax(spare[able])])
            else:
                k = int(target[1])
            out[(g, k)] = out.get((g, k), 0.0) + minutes * 60.0
            spare[k] -= minutes * 60.0
    return out


def _best_fit(
    left: dict[int, float],
    work_gp: dict[int, NDArray[np.float64]],
    room: NDArray[np.float64],
    quota: dict[tuple[int, int], float],
) -> None:
    """The work no loaded spool covers: groups confined to few printers first, each to the
    printer whose room fits it best (one change), split only when none can take it all."""
    reach = {g: int((work_gp[g] > 0).sum()) for g in left}
    for g in sorted(left, key=lambda g: (reach[g], -left[g], g)):
        able = [int(j) for j in np.flatnonzero(work_gp[g] > 0)]
        while left[g] > 60.0 and able:
            spare = [j for j in able if room[j] > MIN_QUOTA]
            fits = [j for j in spare if room[j] >= left[g]]
            if fits:
                j, amount = min(fits, key=lambda j: (room[j], j)), left[g]
            elif spare:
                j = max(spare, key=lambda j: (room[j], -j))
                amount = room[j]
            else:  # beyond every printer's room: the one with most room left
                j, amount = max(able, key=lambda j: (room[j], -j)), left[g]
            quota[(g, j)] = quota.get((g, j), 0.0) + amount
            room[j] -= amount
            left[g] -= amount
