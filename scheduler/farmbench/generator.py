"""Generated farm instances: sites in a 60 km square, printers, shops and their parts.

Everything comes from one seeded generator, so `--seed` reproduces an instance exactly.
The shape of the farm follows the issue: 4-16 printers a site with beds of 180, 220, 256
and 350 mm (some enclosed), six materials with Zipf popularity (and colours, also Zipf),
footprints log-normal around 40 mm, heights around 30 mm, shops clustered around sites
(busier sites draw more shops), and due dates tight or loose over the benchmark's days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from protocol.planning import PlanInstance

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday, 07:00 in Berlin
CENTRE = (52.52, 13.40)
SQUARE_KM = 60.0
MATERIALS = ("PLA", "PETG", "ABS", "TPU", "ASA", "PA")
ENCLOSED_ONLY = {"ABS", "ASA", "PA"}
COLOURS = {
    "PLA": ("black", "white", "grey", "red", "blue", "orange", "green", "yellow"),
    "PETG": ("black", "white", "clear", "blue"),
    "ABS": ("black", "white"),
    "TPU": ("black", "clear"),
    "ASA": ("black", "white"),
    "PA": ("black",),
}
BEDS = ((180, 180, 0.2), (220, 250, 0.4), (256, 256, 0.25), (350, 350, 0.15))  # mm, height, p
PRIORITIES = (("normal", 0.8), ("high", 0.1), ("low", 0.07), ("urgent", 0.03))


@dataclass(frozen=True)
class Spec:
    parts: int
    sites: int
    days: float
    seed: int
    due: str = "tight"  # "tight" | "loose"
    printers_per_site: tuple[int, int] = (4, 16)


def zipf(count: int, exponent: float = 1.1) -> np.ndarray:
    weights = 1.0 / np.arange(1, count + 1) ** exponent
    out: np.ndarray = weights / weights.sum()
    return out


def generate(spec: Spec) -> PlanInstance:
    rng = np.random.default_rng(spec.seed)
    sites = [_site(rng, i) for i in range(spec.sites)]
    printers = [p for i, site in enumerate(sites) for p in _printers(rng, i, site, spec)]
    weights = np.array([sum(1 for p in printers if p["site"] == s["id"]) for s in sites], float)
    shops = _shops(rng, sites, weights * rng.uniform(0.9, 1.1, len(sites)), spec.parts)
    parts = _parts(rng, shops, spec)
    return PlanInstance.model_validate(
        {
            "now": NOW,
            "sites": sites,
            "printers": printers,
            "parts": parts,
            "costs": {},
            "packing": {},
        }
    )


def _km_to_latlon(x_km: float, y_km: float) -> tuple[float, float]:
    lat = CENTRE[0] + y_km / 111.2
    lon = CENTRE[1] + x_km / (111.2 * math.cos(math.radians(CENTRE[0])))
    return round(lat, 6), round(lon, 6)


def _site(rng: np.random.Generator, i: int) -> dict[str, Any]:
    x, y = rng.uniform(-SQUARE_KM / 2, SQUARE_KM / 2, 2)
    lat, lon = _km_to_latlon(float(x), float(y))
    open_at, close_at = [("09:00", "21:00"), ("08:00", "18:00"), ("10:00", "22:00")][i % 3]
    hours = {day: [f"{open_at}-{close_at}"] for day in ("mon", "tue", "wed", "thu", "fri")}
    hours["sat"] = ["10:00-16:00"]
    if i % 2 == 0:
        hours["sun"] = ["12:00-16:00"]
    return {
        "id": f"site-{i + 1}",
        "lat": lat,
        "lon": lon,
        "timezone": "Europe/Berlin",
        "staffed_hours": hours,
        "operators": 1 + int(rng.random() < 0.4),
    }


def _printers(
    rng: np.random.Generator, i: int, site: dict[str, Any], spec: Spec
) -> list[dict[str, Any]]:
    lo, hi = spec.printers_per_site
    count = int(rng.integers(lo, hi + 1))
    out = []
    popular = zipf(len(MATERIALS))
    for k in range(count):
        width, height, _p = BEDS[rng.choice(len(BEDS), p=[b[2] for b in BEDS])]
        enclosed = bool(rng.random() < 0.35) or k == 0
        materials = ["PLA", "PETG"] + (["TPU"] if rng.random() < 0.4 else [])
        if enclosed:
            materials += ["ABS", "ASA", "PA"]
        material = str(rng.choice(MATERIALS, p=popular))
        material = material if material in materials else "PLA"
        colours = COLOURS[material]
        colour = str(rng.choice(colours, p=zipf(len(colours))))
        busy = rng.random() < 0.25
        out.append(
            {
                "id": f"{site['id']}-p{k + 1}",
                "site": site["id"],
                "bed": {"shape": "rectangle", "width_mm": width, "depth_mm": width},
                "max_height_mm": height,
                "materials": materials,
                "enclosed": enclosed,
                "loaded_material": material,
                "loaded_colour": colour,
                "state": "printing" if busy else "idle",
                "free_at": NOW + timedelta(hours=float(rng.uniform(0.2, 8.0))) if busy else None,
            }
        )
    return out


def _shops(
    rng: np.random.Generator, sites: list[dict[str, Any]], weights: np.ndarray, parts: int
) -> list[tuple[str, float, float]]:
    count = max(3, parts // 8)
    home = rng.choice(len(sites), size=count, p=weights / weights.sum())
    shops = []
    for k, s in enumerate(home):
        site = sites[int(s)]
        lat = site["lat"] + rng.normal(0.0, 6.0) / 111.2
        lon = site["lon"] + rng.normal(0.0, 6.0) / (111.2 * math.cos(math.radians(site["lat"])))
        shops.append((f"shop-{k + 1}", round(float(lat), 6), round(float(lon), 6)))
    return shops


def _parts(
    rng: np.random.Generator, shops: list[tuple[str, float, float]], spec: Spec
) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    popular = zipf(len(MATERIALS))
    job = 0
    while len(parts) < spec.parts:
        job += 1
        shop, lat, lon = shops[int(rng.integers(len(shops)))]
        material = str(rng.choice(MATERIALS, p=popular))
        colours = COLOURS[material]
        colour = str(rng.choice(colours, p=zipf(len(colours))))
        quantity = min(spec.parts - len(parts), int(np.clip(rng.geometric(0.2), 1, 50)))
        outline = _outline(rng)
        height = float(np.clip(rng.lognormal(math.log(30.0), 0.4), 3.0, 200.0))
        due = _due(rng, spec)
        priority = str(rng.choice([p for p, _w in PRIORITIES], p=[w for _p, w in PRIORITIES]))
        seconds = _print_seconds(outline, height)
        for unit in range(quantity):
            parts.append(
                {
                    "id": f"j{job}-u{unit + 1}",
                    "job": f"j{job}",
                    "shop": shop,
                    "material": material,
                    "colour": colour,
                    "footprint": outline,
                    "height_mm": round(height, 2),
                    "print_seconds": seconds,
                    "due": due,
                    "ship_to": {"lat": lat, "lon": lon},
                    "priority": priority,
                    "needs_enclosure": material in ENCLOSED_ONLY,
                }
            )
    return parts


def _outline(rng: np.random.Generator) -> list[tuple[float, float]]:
    """A convex-ish outline, log-normal size around 40 mm, some long and thin."""
    size = float(np.clip(rng.lognormal(math.log(40.0), 0.45), 8.0, 200.0))
    aspect = float(rng.uniform(0.35, 1.0))
    n = int(rng.integers(4, 13))
    angles = np.sort(rng.uniform(0.0, 2 * math.pi, n))
    radii = rng.uniform(0.8, 1.0, n)
    xs = np.cos(angles) * radii * size / 2
    ys = np.sin(angles) * radii * size / 2 * aspect
    return [(round(float(x), 2), round(float(y), 2)) for x, y in zip(xs, ys, strict=True)]


def _print_seconds(outline: list[tuple[float, float]], height_mm: float) -> float:
    """Layers of 0.15 mm: three perimeters at 35 mm/s, 25 % sparse fill at 50 mm/s, solid
    top and bottom (8 layers), two seconds of travel and layer change per layer."""
    pts = np.array(outline)
    x, y = pts[:, 0], pts[:, 1]
    area = abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0
    perimeter = float(np.linalg.norm(np.roll(pts, -1, axis=0) - pts, axis=1).sum())
    layers = height_mm / 0.15
    walls = 3 * perimeter / 35.0
    sparse = area * 0.25 / (0.45 * 50.0)
    solid = area / (0.45 * 50.0)
    seconds = layers * (walls + sparse + 2.0) + 8 * (solid - sparse)
    return round(120.0 + seconds, 1)


def _due(rng: np.random.Generator, spec: Spec) -> datetime:
    day = 24 * 3600.0
    if spec.due == "tight":
        seconds = rng.uniform(0.1, 0.5) * spec.days * day + 4 * 3600.0
    else:
        seconds = rng.uniform(0.5, 1.2) * spec.days * day + 12 * 3600.0
    return NOW + timedelta(seconds=round(float(seconds)))
