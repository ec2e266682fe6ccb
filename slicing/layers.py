"""Layer heights and cross-sections: where the plate is cut and what each cut contains.

Layers follow PrusaSlicer's rule (first layer, then equal layers until the top of the last
one reaches the part's height) and each is cut through its middle, so the counts match
(Benchy 240, Igea 497 at 0.2 mm). Closed meshes are cut by cutting.py (numpy, as fast as
manifold3d's slice and without its ~60 MB solid for a 250k-triangle scan); anything it
cannot chain goes to manifold3d's slice, and a mesh manifold3d refuses (edges shared by
three triangles, ...) to trimesh's sections. Loops are simplified to about 0.025 mm, which
drops most scan-noise vertices but keeps the area.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import manifold3d
import numpy as np

from slicing import cutting
from slicing.memory import release_memory

SIMPLIFY_MM = 0.025
_EPSILON_MM = 1e-4


@dataclass(frozen=True)
class LayerTable:
    """Layer tops (print z), heights and the z at which each layer is cut."""

    print_z: np.ndarray
    height: np.ndarray
    slice_z: np.ndarray

    def __len__(self) -> int:
        return len(self.print_z)


def layer_table(object_height_mm: float, first_mm: float, layer_mm: float) -> LayerTable:
    """Layers for an object of the given height (PrusaSlicer-compatible count)."""
    if object_height_mm <= first_mm + _EPSILON_MM:
        count = 1
    else:
        count = 1 + math.ceil((object_height_mm - first_mm - _EPSILON_MM) / layer_mm)
    index = np.arange(count, dtype=np.float64)
    print_z = np.where(index == 0, first_mm, first_mm + index * layer_mm)
    height = np.where(index == 0, first_mm, layer_mm)
    slice_z = print_z - height / 2
    # A last layer whose middle is above the top would be empty: cut just under the top.
    slice_z = np.minimum(slice_z, object_height_mm - 1e-3)
    return LayerTable(print_z=np.round(print_z, 6), height=height, slice_z=slice_z)


def part_layer_count(object_height_mm: float, table: LayerTable) -> int:
    """How many of the plate's layers reach into an object of this height."""
    if object_height_mm <= table.print_z[0] + _EPSILON_MM:
        return 1
    below = table.print_z < object_height_mm - _EPSILON_MM
    return min(len(table), int(below.sum()) + 1)


def slice_mesh(
    vertices: np.ndarray, faces: np.ndarray, slice_z: np.ndarray
) -> list[manifold3d.CrossSection]:
    """Cross-sections at each z (plate coordinates), simplified to SIMPLIFY_MM.

    The numpy cutter handles closed meshes (what `prepare_mesh` produces) in a fraction of
    manifold3d's memory; manifold3d takes what it cannot chain, trimesh what both refuse.
    """
    found = cutting.sections(vertices, faces, slice_z, SIMPLIFY_MM)
    if found is not None:
        return found
    mesh = manifold3d.Mesh(
        vert_properties=np.ascontiguousarray(vertices, dtype=np.float32),
        tri_verts=np.ascontiguousarray(faces, dtype=np.uint32),
    )
    solid = manifold3d.Manifold(mesh)
    del mesh
    if solid.status() != manifold3d.Error.NoError or solid.is_empty():
        return _slice_with_trimesh(vertices, faces, slice_z)
    sections = [solid.slice(float(z)).simplify(SIMPLIFY_MM) for z in slice_z]
    del solid
    release_memory()
    return sections


def _slice_with_trimesh(
    vertices: np.ndarray, faces: np.ndarray, slice_z: np.ndarray
) -> list[manifold3d.CrossSection]:
    """Fallback for meshes manifold3d refuses: trimesh sections, filled even-odd."""
    import trimesh

    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
    paths = mesh.section_multiplane(
        plane_origin=[0.0, 0.0, 0.0], plane_normal=[0.0, 0.0, 1.0], heights=list(slice_z)
    )
    sections = []
    for path in paths:
        if path is None:
            sections.append(manifold3d.CrossSection())
            continue
        loops = [np.asarray(loop, dtype=np.float64)[:, :2] for loop in path.discrete]
        loops = [loop for loop in loops if len(loop) >= 3]
        # section_multiplane returns loops in plane coordinates: add back the plane's XY.
        transform = np.asarray(path.metadata.get("to_3D", np.eye(4)))
        loops = [loop @ transform[:2, :2].T + transform[:2, 3] for loop in loops]
        section = manifold3d.CrossSection(loops, manifold3d.FillRule.EvenOdd)
        sections.append(section.simplify(SIMPLIFY_MM))
    return sections
