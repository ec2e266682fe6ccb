"""Packing density alone: fill an empty bed with FarmBench outlines until nothing more fits.

The figure compares with PrusaSlicer's arranger (libnest2d), which fills 52-64 % of a
220 mm bed with 6 mm gaps. Outlines come from the generator, largest first.
"""

from __future__ import annotations

import numpy as np

from scheduler.farmbench.generator import _outline
from scheduler.nesting import Bed, Layout, ShapeLibrary


def fill_density(
    bed_mm: float = 220.0,
    spacing_mm: float = 6.0,
    rotation_step_deg: int = 90,
    plates: int = 10,
    seed: int = 0,
) -> float:
    """Mean part area over bed area of `plates` beds filled from 120 random outlines each."""
    rng = np.random.default_rng(seed)
    library = ShapeLibrary()
    bed = Bed("rectangle", bed_mm, bed_mm, 3.0, spacing_mm, rotation_step_deg)
    utilisation = []
    for _ in range(plates):
        shapes = [library.intern(np.array(_outline(rng))) for _ in range(120)]
        shapes.sort(key=lambda s: -library.shapes[s].area)
        layout = Layout(bed, library)
        for shape in shapes:
            layout.place(shape)
        utilisation.append(layout.utilisation())
    return float(np.mean(utilisation))
