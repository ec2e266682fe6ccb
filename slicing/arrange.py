"""Place several parts on one bed for `makerfarm slice`: rows of bounding boxes, centred.

The farm's scheduler does real plate packing; this is the simple, predictable layout a person
expects when slicing a few models by hand: parts in the order given, left to right in rows
from the front, `gap_mm` apart, the whole group centred on the bed. A part that does not fit
as it is gets turned to the rotation at which it fits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware_profiles.model import Profile
from slicing.errors import PlateRejected
from slicing.mesh import PreparedMesh, best_rotation_for_bed, rotated

Box = tuple[float, np.ndarray, np.ndarray]  # rotation, low corner, high corner


@dataclass(frozen=True)
class Placement:
    x_mm: float
    y_mm: float
    rotation_deg: float


def arrange(meshes: list[PreparedMesh], profile: Profile, gap_mm: float = 10.0) -> list[Placement]:
    """Positions for `meshes` on the profile's bed; PlateRejected when they do not fit."""
    min_x, min_y, max_x, max_y = profile.machine.bed_bounds()
    bed_w, bed_d = max_x - min_x, max_y - min_y
    boxes: list[Box] = []
    for mesh in meshes:
        angle = 0.0
        low, high = mesh.hull_xy.min(axis=0), mesh.hull_xy.max(axis=0)
        if high[0] - low[0] > bed_w or high[1] - low[1] > bed_d:
            found = best_rotation_for_bed(mesh, profile)
            if found is None:
                raise PlateRejected("too_large", _too_large(mesh, profile))
            angle = found
        hull = rotated(mesh.hull_xy, angle)
        boxes.append((angle, hull.min(axis=0), hull.max(axis=0)))
    rows: list[list[int]] = [[]]
    row_x = 0.0
    for index, (_angle, low, high) in enumerate(boxes):
        width = high[0] - low[0]
        if rows[-1] and row_x + gap_mm + width > bed_w:
            rows.append([])
            row_x = 0.0
        row_x += (gap_mm if rows[-1] else 0.0) + width
        rows[-1].append(index)
    placements: dict[int, Placement] = {}
    y = 0.0
    for r, row in enumerate(rows):
        depth = max(boxes[i][2][1] - boxes[i][1][1] for i in row)
        x = 0.0
        for i in row:
            angle, low, high = boxes[i]
            placements[i] = Placement(x - low[0], y - low[1], angle)
            x += high[0] - low[0] + gap_mm
        y += depth + (gap_mm if r < len(rows) - 1 else 0.0)
    return _centred([placements[i] for i in range(len(meshes))], boxes, profile, meshes)


def _centred(
    placements: list[Placement], boxes: list[Box], profile: Profile, meshes: list[PreparedMesh]
) -> list[Placement]:
    min_x, min_y, max_x, max_y = profile.machine.bed_bounds()
    lows = np.array(
        [[p.x_mm + b[1][0], p.y_mm + b[1][1]] for p, b in zip(placements, boxes, strict=True)]
    )
    highs = np.array(
        [[p.x_mm + b[2][0], p.y_mm + b[2][1]] for p, b in zip(placements, boxes, strict=True)]
    )
    used_low, used_high = lows.min(axis=0), highs.max(axis=0)
    if used_high[0] - used_low[0] > max_x - min_x + 1e-6 or (
        used_high[1] - used_low[1] > max_y - min_y + 1e-6
    ):
        names = ", ".join(m.name for m in meshes)
        raise PlateRejected(
            "plate_full",
            f"{names} do not fit together on the {max_x - min_x:g} x {max_y - min_y:g} mm bed "
            f"of {profile.id}; slice them on separate plates",
        )
    shift = np.array([(min_x + max_x) / 2, (min_y + max_y) / 2]) - (used_low + used_high) / 2
    return [
        Placement(p.x_mm + float(shift[0]), p.y_mm + float(shift[1]), p.rotation_deg)
        for p in placements
    ]


def _too_large(mesh: PreparedMesh, profile: Profile) -> str:
    x, y, z = mesh.size_mm
    machine = profile.machine
    return (
        f"{mesh.name} measures {x:.1f} x {y:.1f} x {z:.1f} mm and fits the "
        f"{machine.bed_x_mm:g} x {machine.bed_y_mm:g} x {machine.max_z_mm:g} mm build volume "
        f"of {profile.id} at no rotation; scale it down or choose a bigger printer"
    )
