"""Lower bounds no plan can beat, to read the measured figures against.

- Makespan: for every set of printers that some parts are confined to, those parts' print
  time plus the printers' busy time, spread over the set (and no part ends before its
  earliest printer is free plus its own time). Staff hours and overheads are ignored.
- Spool changes: every material and colour with work that no eligible printer has loaded.
- Shipping: every part shipped from the nearest site that has a printer able to print it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scheduler.farm import Farm


@dataclass(frozen=True)
class Bounds:
    makespan_hours: float
    spool_changes: int
    mean_ship_km: float


def lower_bounds(farm: Farm, busy_seconds: np.ndarray) -> Bounds:
    """`busy_seconds`: when each printer can start new work (inf when unavailable)."""
    open_parts = np.flatnonzero(farm.eligible.any(axis=1) & ~farm.part_locked)
    return Bounds(
        makespan_hours=_makespan(farm, open_parts, busy_seconds) / 3600.0,
        spool_changes=_forced_changes(farm, open_parts),
        mean_ship_km=_ship_km(farm, open_parts),
    )


def _makespan(farm: Farm, parts: np.ndarray, busy: np.ndarray) -> float:
    if parts.size == 0:
        return 0.0
    eligible = farm.eligible[parts]
    masks: dict[int, float] = {}
    for row, seconds in zip(eligible, farm.part_seconds[parts], strict=True):
        key = int.from_bytes(np.packbits(row).tobytes(), "big")
        masks[key] = masks.get(key, 0.0) + float(seconds)
    width = len(farm.printers)
    best = 0.0
    for mask in masks:
        members = _members(mask, width)
        work = sum(w for other, w in masks.items() if other & ~mask == 0)
        best = max(best, (work + float(busy[members].sum())) / len(members))
    single = [
        float(busy[np.flatnonzero(row)].min()) + float(s)
        for row, s in zip(eligible, farm.part_seconds[parts], strict=True)
    ]
    return max(best, max(single))


def _members(mask: int, width: int) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(mask.to_bytes((width + 7) // 8, "big"), dtype=np.uint8))
    return np.flatnonzero(bits[:width])


def _forced_changes(farm: Farm, parts: np.ndarray) -> int:
    loaded = np.array([farm.group_of_printer_load(p) for p in range(len(farm.printers))])
    forced = 0
    for g in np.unique(farm.part_group[parts]):
        of_group = parts[farm.part_group[parts] == g]
        can = farm.eligible[of_group].any(axis=0)
        if not (can & (loaded == g)).any():
            forced += 1
    return forced


def _ship_km(farm: Farm, parts: np.ndarray) -> float:
    if parts.size == 0:
        return 0.0
    distance = farm.distance_km[parts][:, farm.printer_site]  # (parts, printers)
    nearest = np.where(farm.eligible[parts], distance, np.inf).min(axis=1)
    return float(nearest.mean())
