"""Why a part cannot be placed, said so a person can fix it.

The checks run from the broadest to the narrowest (material, enclosure, distance, height,
bed size, availability), and the first one that leaves no printer names the reason, with the
figures that matter: "no printer within 80 km runs PETG on a bed of 300 mm".
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from scheduler.farm import (
    Farm,
    bed_ok,
    enclosure_ok,
    height_ok,
    in_range,
    material_ok,
)
from scheduler.geometry import DIRECTIONS


def unplaceable(farm: Farm) -> dict[int, tuple[str, str]]:
    """part index -> (code, reason) for every open part no available printer may take."""
    stuck = np.flatnonzero(~farm.eligible.any(axis=1) & ~farm.part_locked)
    if stuck.size == 0:
        return {}
    checks = {
        "material": material_ok(farm),
        "enclosure": enclosure_ok(farm),
        "distance": in_range(farm),
        "height": height_ok(farm),
        "bed_size": bed_ok(farm),
    }
    available = farm.printer_available
    out: dict[int, tuple[str, str]] = {}
    for x in stuck:
        out[int(x)] = _reason(farm, int(x), checks, available)
    return out


def _reason(
    farm: Farm, x: int, checks: dict[str, NDArray[np.bool_]], available: NDArray[np.bool_]
) -> tuple[str, str]:
    part = farm.parts[x]
    km = farm.spec.costs.max_ship_km
    what = part.material + (" (enclosed)" if part.needs_enclosure else "")
    alive = np.ones(len(farm.printers), dtype=bool)
    for code in ("material", "enclosure", "distance", "height", "bed_size"):
        left = alive & checks[code][x]
        if not left.any():
            return code, _explain(farm, x, code, alive, what, km)
        alive = left
    names = ", ".join(farm.printers[p].id for p in np.flatnonzero(alive)[:5])
    return (
        "printer_unavailable",
        f"the only printers within {km:g} km that can print this {what} part are "
        f"unavailable (offline or in maintenance): {names}",
    )


def _explain(farm: Farm, x: int, code: str, alive: NDArray[np.bool_], what: str, km: float) -> str:
    part = farm.parts[x]
    if code == "material":
        return f"no printer in the farm runs {part.material}"
    if code == "enclosure":
        return f"{part.material} needs an enclosed printer and no enclosed printer runs it"
    if code == "distance":
        nearest = _nearest_site_text(farm, x, alive)
        return f"no printer within {km:g} km of the ship-to point runs {what}{nearest}"
    printers = np.flatnonzero(alive)
    if code == "height":
        tallest = max(farm.printers[p].max_height_mm for p in printers)
        return (
            f"part is {part.height_mm:g} mm tall; the tallest {what} printer within "
            f"{km:g} km builds {tallest:g} mm"
        )
    width, depth = _extent(farm, x)
    beds = sorted(
        {
            (
                farm.printers[p].bed.width_mm,
                farm.printers[p].bed.depth_mm or farm.printers[p].bed.width_mm,
            )
            for p in printers
        },
        reverse=True,
    )
    margin = farm.spec.packing.edge_margin_mm
    return (
        f"part is {width:.0f} x {depth:.0f} mm (plus {margin:g} mm edge margins); "
        f"the largest {what} bed within {km:g} km is {beds[0][0]:g} x {beds[0][1]:g} mm"
    )


def _nearest_site_text(farm: Farm, x: int, alive: NDArray[np.bool_]) -> str:
    sites = np.unique(farm.printer_site[alive])
    if sites.size == 0:
        return ""
    distances = farm.distance_km[x, sites]
    s = int(sites[int(np.argmin(distances))])
    return f" (the nearest that does is {farm.spec.sites[s].id}, {float(distances.min()):.0f} km)"


def _extent(farm: Farm, x: int) -> tuple[float, float]:
    """Smallest width x depth over the allowed rotations."""
    h = farm.library.shapes[int(farm.part_shape[x])].h
    quarter = DIRECTIONS // 4
    best = (np.inf, np.inf)
    step = max(1, farm.spec.packing.rotation_step_deg // 5)
    for steps in range(0, DIRECTIONS, step):
        r = np.roll(h, steps)
        size = (float(r[0] + r[2 * quarter]), float(r[quarter] + r[3 * quarter]))
        if max(size) < max(best):
            best = size
    return best
