"""Skirt and brim: loops around the parts on the first layer.

The brim belongs to its part (it is cancelled with it); the skirt primes the nozzle around
everything on the plate, `skirt_distance_mm` away from the parts and their brims. Loops that
would leave the bed are left out with a warning instead of failing the plate.
"""

from __future__ import annotations

import manifold3d
import numpy as np

from slicing.infill import clip_open
from slicing.toolpaths import spacing

_ROUND = manifold3d.JoinType.Round


def outer_contours(region: manifold3d.CrossSection) -> list[np.ndarray]:
    """Only the outside contours (holes dropped)."""
    contours = []
    for piece in region.decompose():
        polygons = piece.to_polygons()
        if polygons:
            outer = max(polygons, key=lambda p: abs(_area(p)))
            contours.append(outer)
    return contours


def _area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return float(0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def brim_loops(
    first_layer: manifold3d.CrossSection, width_mm: float, line_mm: float, height_mm: float
) -> list[np.ndarray]:
    """Brim loops from the part outward, innermost first."""
    if width_mm <= 0 or first_layer.is_empty():
        return []
    step = spacing(line_mm, height_mm)
    count = max(1, round(width_mm / step))
    loops: list[np.ndarray] = []
    for k in range(count):
        ring = first_layer.offset(line_mm / 2 + k * step, _ROUND)
        loops.extend(outer_contours(ring))
    return loops


def skirt_loops(
    footprint: manifold3d.CrossSection,
    distance_mm: float,
    loops: int,
    line_mm: float,
    height_mm: float,
    bed: tuple[float, float, float, float],
    round_bed: bool = False,
) -> tuple[list[np.ndarray], list[str]]:
    """Skirt loops around `footprint` (first layer of every part and brim), outermost last."""
    if loops <= 0 or footprint.is_empty():
        return [], []
    step = spacing(line_mm, height_mm)
    hull = footprint.hull()
    result: list[np.ndarray] = []
    warnings: list[str] = []
    for k in range(loops):
        ring = hull.offset(distance_mm + line_mm / 2 + k * step, _ROUND)
        for contour in outer_contours(ring):
            if not _on_bed(contour, bed, round_bed):
                warnings.append(
                    f"skirt loop {k + 1} would leave the bed; left out "
                    "(the parts are too close to the edge for a skirt)"
                )
                return result, warnings
            result.append(contour)
    return result, warnings


def _on_bed(points: np.ndarray, bed: tuple[float, float, float, float], round_bed: bool) -> bool:
    min_x, min_y, max_x, max_y = bed
    if round_bed:
        centre = np.array([(min_x + max_x) / 2, (min_y + max_y) / 2])
        return bool(np.hypot(*(points - centre).T).max() <= (max_x - min_x) / 2)
    low, high = points.min(axis=0), points.max(axis=0)
    return bool(low[0] >= min_x and low[1] >= min_y and high[0] <= max_x and high[1] <= max_y)


def trim_brims(
    bodies: list[manifold3d.CrossSection], brims: list[list[np.ndarray]], line_mm: float
) -> list[list[np.ndarray]]:
    """Brim lines with what would run into another part, or an earlier part's brim, cut away.

    Parts placed closer than two brim widths would otherwise get overlapping brims (a double
    layer of plastic) or a brim printed under a neighbour, fusing the two.
    """
    if sum(1 for lines in brims if lines) == 0 or len(bodies) < 2:
        return brims
    trimmed: list[list[np.ndarray]] = []
    laid = manifold3d.CrossSection()
    for k, lines in enumerate(brims):
        if not lines:
            trimmed.append(lines)
            continue
        others = [body for j, body in enumerate(bodies) if j != k and not body.is_empty()]
        blocked = manifold3d.CrossSection.compose(others) if others else manifold3d.CrossSection()
        blocked = (blocked + laid).offset(line_mm, _ROUND)
        points = np.vstack(lines)
        low, high = points.min(axis=0) - 1.0, points.max(axis=0) + 1.0
        free = manifold3d.CrossSection.square(list(high - low)).translate(list(low)) - blocked
        kept = clip_open(lines, free)
        trimmed.append([line for line in kept if len(line) >= 2])
        laid = laid + manifold3d.CrossSection(
            [line for line in lines if len(line) >= 4], manifold3d.FillRule.Positive
        )
    return trimmed
