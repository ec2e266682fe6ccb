"""Toolpaths: what the nozzle draws, before any G-code is written.

A `Path` is a polyline (or closed loop) of one feature type at one width and speed. The
extrusion cross-section follows PrusaSlicer's model: a rectangle with semicircular sides,
so lines laid `spacing(width, height)` apart fill an area exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# Feature names as written in `;TYPE:` comments (Cura's vocabulary, which most viewers read).
WALL_OUTER = "WALL-OUTER"
WALL_INNER = "WALL-INNER"
SKIN = "SKIN"
TOP_SKIN = "TOP-SKIN"
BRIDGE = "BRIDGE"
FILL = "FILL"
SUPPORT = "SUPPORT"
SUPPORT_INTERFACE = "SUPPORT-INTERFACE"
SKIRT = "SKIRT"
BRIM = "BRIM"


def extrusion_area(width_mm: float, height_mm: float) -> float:
    """Cross-section of one extruded line (mm²): rectangle with round sides."""
    if width_mm <= height_mm:
        return math.pi * (width_mm / 2) ** 2
    return (width_mm - height_mm) * height_mm + math.pi * (height_mm / 2) ** 2


def bridge_area(width_mm: float) -> float:
    """A bridge thread hangs free: a round section as wide as the nozzle."""
    return math.pi * (width_mm / 2) ** 2


def spacing(width_mm: float, height_mm: float) -> float:
    """Distance between the centres of neighbouring lines that just fill the area."""
    if width_mm <= height_mm:
        return width_mm
    return width_mm - height_mm * (1 - math.pi / 4)


@dataclass
class Path:
    """One continuous extrusion. `points` is (N, 2); a closed loop does not repeat its start."""

    kind: str
    points: np.ndarray
    closed: bool
    width_mm: float
    speed_mm_s: float
    # Straight infill comes as line, link, line, ...: the links run along the edge between
    # neighbouring lines and are moved without extruding (and without retracting).
    travel_links: bool = False
    # The travel onto this path stays inside its island (crosses no wall): no retraction.
    combed: bool = False

    @property
    def start(self) -> np.ndarray:
        return self.points[0]

    @property
    def end(self) -> np.ndarray:
        return self.points[0] if self.closed else self.points[-1]


@dataclass
class ObjectLayer:
    """One part's paths on one layer, already in print order."""

    part_index: int
    paths: list[Path] = field(default_factory=list)


@dataclass
class LayerPlan:
    """Everything printed on one layer of the plate, in order."""

    index: int
    print_z: float
    height_mm: float
    before_objects: list[Path] = field(default_factory=list)  # skirt (first layer)
    objects: list[ObjectLayer] = field(default_factory=list)
    fan_percent: int = 0
    speed_factor: float = 1.0
    estimated_seconds: float = 0.0
