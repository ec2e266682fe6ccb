"""Read back what the slicer wrote: extrusion moves per layer and feature, for assertions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

_WORD = re.compile(r"([A-Z])(-?[\d.]+)")


@dataclass
class Layer:
    index: int
    z: float = 0.0
    # feature -> list of (x0, y0, x1, y1, e) extrusion moves
    moves: dict[str, list[tuple[float, float, float, float, float]]] = field(default_factory=dict)

    def points(self, kind: str) -> np.ndarray:
        found = self.moves.get(kind, [])
        if not found:
            return np.zeros((0, 2))
        arr = np.array(found)
        return np.vstack([arr[:, 0:2], arr[:, 2:4]])

    def extruded_mm(self) -> float:
        return float(sum(m[4] for moves in self.moves.values() for m in moves))


def read_layers(gcode: str) -> list[Layer]:
    """Layers with their extrusion moves (relative or absolute E both understood)."""
    layers: list[Layer] = []
    kind = ""
    x = y = e = 0.0
    relative = False
    for raw in gcode.splitlines():
        line = raw.split(";", 1)[0].strip()
        if raw.startswith(";LAYER:"):
            layers.append(Layer(index=int(raw[7:])))
            continue
        if raw.startswith(";TYPE:"):
            kind = raw[6:].strip()
            continue
        if raw.startswith(";Z:") and layers:
            layers[-1].z = float(raw[3:])
        if not line:
            continue
        head = line.split()[0]
        if head == "M83":
            relative = True
        elif head == "M82":
            relative = False
        elif head == "G92":
            words = dict((k, float(v)) for k, v in _WORD.findall(line[3:]))
            e = words.get("E", e)
        elif head in ("G0", "G1"):
            words = dict((k, float(v)) for k, v in _WORD.findall(line[2:]))
            nx, ny = words.get("X", x), words.get("Y", y)
            amount = 0.0
            if "E" in words:
                amount = words["E"] if relative else words["E"] - e
                e = e + words["E"] if relative else words["E"]
            if amount > 0 and (nx != x or ny != y) and layers:
                layers[-1].moves.setdefault(kind, []).append((x, y, nx, ny, amount))
            x, y = nx, ny
    return layers
