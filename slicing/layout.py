"""Is a plate's layout printable: every part on the bed, under the gantry, none overlapping.

Parts are compared by their convex footprints (what the scheduler packs with), placed and
rotated; a touch is allowed, an overlap of more than 0.01 mm² is not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import manifold3d
import numpy as np

from firmware_profiles import Profile
from slicing.errors import PlateRejected

if TYPE_CHECKING:
    from slicing.plate import PlatePart


def check_layout(parts: list[PlatePart], profile: Profile) -> None:
    """Raise PlateRejected when a part leaves the bed, is too tall, or overlaps another."""
    if not parts:
        raise PlateRejected("empty_plate", "the plate has no parts")
    machine = profile.machine
    min_x, min_y, max_x, max_y = machine.bed_bounds()
    hulls = []
    for part in parts:
        if part.mesh.height_mm > machine.max_z_mm:
            raise PlateRejected(
                "too_tall",
                f"{part.name} is {part.mesh.height_mm:.1f} mm tall; {profile.id} prints up to "
                f"{machine.max_z_mm:g} mm",
            )
        hull = part.placed_hull()
        if machine.bed_shape == "circle":
            centre = np.array([(min_x + max_x) / 2, (min_y + max_y) / 2])
            outside = np.hypot(*(hull - centre).T).max() > machine.bed_x_mm / 2 + 1e-6
        else:
            low, high = hull.min(axis=0), hull.max(axis=0)
            outside = bool(
                low[0] < min_x - 1e-6
                or low[1] < min_y - 1e-6
                or high[0] > max_x + 1e-6
                or high[1] > max_y + 1e-6
            )
        if outside:
            raise PlateRejected(
                "off_bed",
                f"{part.name} at ({part.x_mm:.1f}, {part.y_mm:.1f}) rotated "
                f"{part.rotation_deg:g}° reaches outside the bed of {profile.id}",
            )
        hulls.append(manifold3d.CrossSection([hull]))
    for a in range(len(parts)):
        for b in range(a + 1, len(parts)):
            overlap = (hulls[a] ^ hulls[b]).area()
            if overlap > 0.01:
                raise PlateRejected(
                    "parts_collide",
                    f"{parts[a].name} and {parts[b].name} overlap by {overlap:.1f} mm² on the "
                    "bed; place them apart",
                )
