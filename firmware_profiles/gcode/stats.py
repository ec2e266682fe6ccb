"""What a program adds up to: `ProgramStats`, and the layer count behind it.

Layers are the distinct Z heights at which the program extrudes (moving in X or Y while
pushing filament), as PrusaSlicer counts them. Purge lines and other start-sequence
extrusion before the slicer's first layer marker (`;LAYER_CHANGE`, `;LAYER:0`, ...) are
not a layer; a program without any marker counts every extruding height.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from math import pi
from typing import Any

# Comments that mark a layer change, by slicer.
LAYER_MARKERS = (
    ";LAYER_CHANGE",  # PrusaSlicer, SuperSlicer, OrcaSlicer
    ";LAYER:",  # Cura, ideaMaker
    "; CHANGE_LAYER",  # Bambu Studio
    ";CHANGE_LAYER",
    "; layer ",  # Simplify3D
    "; BEGIN_LAYER",  # KISSlicer
)
_Z_DIGITS = 4  # layer heights are compared at 0.1 µm


@dataclass(frozen=True, slots=True)
class LayerStats:
    z_mm: float
    height_mm: float
    filament_mm: float


@dataclass(frozen=True, slots=True)
class Box:
    """The extent of the extruding moves."""

    min_x: float
    min_y: float
    min_z: float
    max_x: float
    max_y: float
    max_z: float


@dataclass(frozen=True, slots=True)
class TemperatureCommand:
    line: int
    command: str  # "M104", "G10", "SET_HEATER_TEMPERATURE"
    heater: str  # "hotend", "bed" or "chamber"
    tool: int | None  # hotend tool number
    celsius: float
    wait: bool


@dataclass(frozen=True, slots=True)
class ProgramStats:
    """Statistics of one G-code program."""

    lines: int
    layers: int
    per_layer: list[LayerStats]
    extrusion_box: Box | None
    # Filament the print uses after the start sequence (net of retractions), as
    # PrusaSlicer's "filament used [mm]"; the volume and weight are of this length too.
    filament_mm: float
    filament_volume_mm3: float
    filament_g: float | None  # None without a density (no profile material, no density)
    print_seconds: float  # moves and dwells; heating waits are in heatup_seconds
    heatup_seconds: float  # a rough estimate of the heating waits (see the README)
    dwell_seconds: float  # G4 pauses, included in print_seconds
    objects: list[str]
    travel_mm: float
    extrude_mm: float
    max_extrude_feedrate_mm_s: float
    max_travel_feedrate_mm_s: float
    temperatures: list[TemperatureCommand]
    moves: int  # motion blocks planned
    flavour: str
    planner: str  # "python" or "numpy"
    # Filament of the start sequence (purge lines) before the first layer marker.
    start_sequence_filament_mm: float = 0.0

    @property
    def layer_heights(self) -> list[float]:
        return [layer.height_mm for layer in self.per_layer]

    @property
    def total_filament_mm(self) -> float:
        """Everything the spool gives: the start sequence and the print."""
        return self.start_sequence_filament_mm + self.filament_mm

    @property
    def total_seconds(self) -> float:
        return self.print_seconds + self.heatup_seconds

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["layer_heights"] = self.layer_heights
        data["total_filament_mm"] = self.total_filament_mm
        data["total_seconds"] = self.total_seconds
        return data


class LayerCounter:
    """Filament per extruding Z height, split at the first layer marker."""

    def __init__(self) -> None:
        self.by_z: dict[float, float] = {}
        self.before_marker: dict[float, float] = {}
        self.marker_seen = False

    def add(self, z: float, filament_mm: float) -> None:
        if filament_mm:
            key = round(z, _Z_DIGITS)
            self.by_z[key] = self.by_z.get(key, 0.0) + filament_mm

    def marker(self) -> None:
        """A layer marker: what was extruded so far was the start sequence."""
        if not self.marker_seen:
            self.marker_seen = True
            self.before_marker, self.by_z = self.by_z, {}

    def layers(self) -> list[LayerStats]:
        result: list[LayerStats] = []
        below = 0.0
        for z in sorted(self.by_z):
            result.append(LayerStats(z, round(z - below, _Z_DIGITS), self.by_z[z]))
            below = z
        return result


def filament_volume_mm3(filament_mm: float, diameter_mm: float) -> float:
    return filament_mm * pi * (diameter_mm / 2) ** 2


def format_duration(seconds: float) -> str:
    """4321.4 -> '1h 12m 01s'."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s"
