"""Perimeters (walls): loops following the outline, the outer one half a line inside.

The outer wall's centre line sits at half a line width inside the surface, so a 20 mm cube's
outer loop spans 20 mm minus one line width and prints to size. Inner walls follow at the
line spacing. Regions too thin for a full-width wall (fins, thin tips) get one narrower
wall, so no layer with area is left empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import manifold3d
import numpy as np

from slicing.toolpaths import spacing

_MITER = manifold3d.JoinType.Miter


@dataclass
class Walls:
    """Wall loops per wall index (0 = outer), thin-wall loops, and the area left inside."""

    loops: list[list[np.ndarray]]
    thin_loops: list[np.ndarray]
    inner: manifold3d.CrossSection


def make_walls(
    section: manifold3d.CrossSection,
    count: int,
    width_mm: float,
    height_mm: float,
    overlap: float,
) -> Walls:
    """Walls of one layer of one part; `inner` is the area for skins and infill."""
    step = spacing(width_mm, height_mm)
    outer = section.offset(-width_mm / 2, _MITER, 3.0)
    loops: list[list[np.ndarray]] = []
    for wall in range(count):
        ring = outer if wall == 0 else outer.offset(-wall * step, _MITER, 3.0)
        polygons = [p for p in ring.to_polygons() if len(p) >= 3]
        if not polygons:
            break
        loops.append(polygons)
    inset = (count - 1) * step + step / 2 - overlap * width_mm
    inner = outer.offset(-inset, _MITER, 3.0) if loops else manifold3d.CrossSection()
    return Walls(loops=loops, thin_loops=_thin_loops(section, outer, width_mm), inner=inner)


def _thin_loops(
    section: manifold3d.CrossSection, outer: manifold3d.CrossSection, width_mm: float
) -> list[np.ndarray]:
    """Loops for the parts of the section a full-width outer wall cannot reach."""
    covered = outer.offset(width_mm / 2 + 0.01, _MITER, 3.0)
    thin = section - covered
    if thin.is_empty() or thin.area() < width_mm * width_mm:
        return []
    core = thin.offset(-width_mm / 4, _MITER, 3.0)
    if core.is_empty():
        return []
    return [p for p in core.to_polygons() if len(p) >= 3 and _loop_length(p) > 2 * width_mm]


def _loop_length(points: np.ndarray) -> float:
    closed = np.vstack([points, points[:1]])
    return float(np.hypot(*np.diff(closed, axis=0).T).sum())
