"""The demo's products, generated in code: small meshes a shop would sell customised.

Each is a closed, printable solid built from trimesh primitives (booleans by manifold3d),
small enough to slice in well under a second, returned as binary STL bytes. They stand in
for what the five demo shops upload: a 20 mm calibration cube, keychain tags, small boxes,
coasters and cable clips.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import trimesh
from trimesh.creation import box, cylinder


@dataclass(frozen=True)
class DemoMesh:
    name: str
    stl: bytes
    size_mm: tuple[float, float, float]


def _on_bed(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    mesh.apply_translation(-mesh.bounds[0])
    return mesh


def calibration_cube() -> trimesh.Trimesh:
    return _on_bed(box(extents=(20.0, 20.0, 20.0)))


def keychain_tag() -> trimesh.Trimesh:
    """A 40 x 20 x 3 mm tag with a rounded end and a 4 mm ring hole."""
    body = box(extents=(30.0, 20.0, 3.0))
    end = cylinder(radius=10.0, height=3.0, sections=48)
    end.apply_translation((15.0, 0.0, 0.0))
    hole = cylinder(radius=2.5, height=5.0, sections=32)
    hole.apply_translation((18.0, 0.0, 0.0))
    return _on_bed(body.union(end, engine="manifold").difference(hole, engine="manifold"))


def small_box() -> trimesh.Trimesh:
    """An open 30 x 30 x 15 mm box with 2 mm walls and floor."""
    outer = box(extents=(30.0, 30.0, 15.0))
    inner = box(extents=(26.0, 26.0, 15.0))
    inner.apply_translation((0.0, 0.0, 2.0))
    return _on_bed(outer.difference(inner, engine="manifold"))


def coaster() -> trimesh.Trimesh:
    """A 60 mm round coaster, 4 mm thick, with a 1 mm recess."""
    disc = cylinder(radius=30.0, height=4.0, sections=64)
    recess = cylinder(radius=26.0, height=4.0, sections=64)
    recess.apply_translation((0.0, 0.0, 3.0))
    return _on_bed(disc.difference(recess, engine="manifold"))


def cable_clip() -> trimesh.Trimesh:
    """A 16 mm wide clip: a ring with a slot, 8 mm tall."""
    ring = cylinder(radius=8.0, height=8.0, sections=48)
    bore = cylinder(radius=5.0, height=10.0, sections=48)
    slot = box(extents=(6.0, 4.0, 10.0))
    slot.apply_translation((7.0, 0.0, 0.0))
    return _on_bed(ring.difference(bore, engine="manifold").difference(slot, engine="manifold"))


BUILDERS: dict[str, Callable[[], trimesh.Trimesh]] = {
    "cube": calibration_cube,
    "keychain_tag": keychain_tag,
    "small_box": small_box,
    "coaster": coaster,
    "cable_clip": cable_clip,
}


@cache
def demo_mesh(name: str) -> DemoMesh:
    """The named demo product as binary STL (built once per process)."""
    mesh = BUILDERS[name]()
    if not mesh.is_watertight:
        raise RuntimeError(f"demo mesh {name} is not a closed solid")
    data = mesh.export(file_type="stl")
    assert isinstance(data, bytes)
    size = tuple(float(v) for v in np.round(mesh.extents, 3))
    return DemoMesh(name, data, (size[0], size[1], size[2]))


def all_demo_meshes() -> list[DemoMesh]:
    return [demo_mesh(name) for name in BUILDERS]
