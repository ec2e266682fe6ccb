"""A customer's mesh made ready to slice: loaded, checked, repaired and placed on z = 0.

`load_mesh(data, fmt)` is the intake entry point; it returns a `PreparedMesh` (plain numpy
arrays, cheap to pickle to a worker process) or raises `MeshRejected(code, reason)`. The mesh
is centred on its bounding box in X and Y and rests on z = 0, so a plate places it by the
position of that centre and a rotation about it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import manifold3d
import numpy as np

from firmware_profiles.model import Profile
from slicing import mesh_repair
from slicing.errors import MeshRejected
from slicing.memory import release_memory
from slicing.mesh_io import read_mesh


@dataclass(frozen=True)
class MeshLimits:
    """What intake accepts; the defaults suit desktop FDM printers."""

    max_bytes: int = 200_000_000
    max_triangles: int = 2_000_000
    max_extent_mm: float = 1000.0  # any side of the bounding box
    min_extent_mm: float = 0.2  # thinner than this in X, Y or Z is not a printable solid
    max_open_edges: int = 5000  # larger holes are not guessed at: the shop must fix the mesh
    min_volume_mm3: float = 0.01


@dataclass(frozen=True)
class PreparedMesh:
    """A closed, outward-wound mesh in mm, centred in X/Y on its bounding box, on z = 0."""

    vertices: np.ndarray  # (N, 3) float32
    faces: np.ndarray  # (M, 3) uint32
    volume_mm3: float
    repairs: tuple[str, ...] = ()
    name: str = "part"
    # The outline's convex hull on the bed around the mesh origin, (K, 2) float64, CCW.
    hull_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    @property
    def triangles(self) -> int:
        """Number of triangles."""
        return len(self.faces)

    @property
    def size_mm(self) -> tuple[float, float, float]:
        extent = self.vertices.max(axis=0) - self.vertices.min(axis=0)
        return (float(extent[0]), float(extent[1]), float(extent[2]))

    @property
    def height_mm(self) -> float:
        return float(self.vertices[:, 2].max())

    @property
    def footprint_xy(self) -> list[tuple[float, float]]:
        """Convex hull of the part's outline on the bed (mm, around the mesh origin)."""
        return [(float(x), float(y)) for x, y in self.hull_xy]


def load_mesh(
    data: bytes, fmt: str, limits: MeshLimits | None = None, name: str = "part"
) -> PreparedMesh:
    """Load, check and repair mesh bytes; raise MeshRejected with a reason when unprintable."""
    limits = limits or MeshLimits()
    raw = read_mesh(data, fmt, limits.max_triangles, limits.max_bytes)
    try:
        return prepare_mesh(raw.vertices, raw.faces, limits, name=name)
    finally:
        del raw
        release_memory()


def prepare_mesh(
    vertices: np.ndarray, faces: np.ndarray, limits: MeshLimits | None = None, name: str = "part"
) -> PreparedMesh:
    """Check and repair a vertex/face mesh (mm) and place it on z = 0, centred in X/Y."""
    limits = limits or MeshLimits()
    vertices = np.asarray(vertices)
    if vertices.dtype not in (np.float32, np.float64):
        vertices = vertices.astype(np.float64)
    faces = np.asarray(faces)
    _check_basic(vertices, faces, limits)
    vertices, faces = mesh_repair.merge_vertices(vertices, faces)
    repairs: list[str] = []
    faces, note = mesh_repair.drop_degenerate(faces)
    _note(repairs, note)
    if len(faces) == 0:
        raise MeshRejected("degenerate", "every triangle of the mesh is degenerate (zero area)")
    _check_extent(vertices[_used(faces, len(vertices))], limits)
    vertices, faces = _close(vertices, faces, limits, repairs)
    volume = mesh_repair.signed_volume(vertices, faces)
    if volume < 0:
        faces = faces[:, ::-1].copy()
        volume = -volume
        repairs.append("flipped all normals, which pointed inward")
    if volume < limits.min_volume_mm3:
        raise MeshRejected(
            "no_volume",
            f"the mesh encloses {volume:.3g} mm³: it is a surface, not a solid; "
            "export it as a closed solid",
        )
    return _placed(vertices, faces, volume, tuple(repairs), name)


def _note(repairs: list[str], note: str | None) -> None:
    if note:
        repairs.append(note)


def _check_basic(vertices: np.ndarray, faces: np.ndarray, limits: MeshLimits) -> None:
    if len(faces) == 0 or len(vertices) < 3:
        raise MeshRejected("empty", "the file contains no triangles")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise MeshRejected("unreadable", "faces must be triangles")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise MeshRejected("unreadable", "a triangle refers to a vertex that does not exist")
    if len(faces) > limits.max_triangles:
        raise MeshRejected(
            "too_many_triangles",
            f"the mesh has {len(faces):,} triangles, over the limit of {limits.max_triangles:,}; "
            "decimate it",
        )
    finite = np.isfinite(vertices).all(axis=1)
    if not finite.all():
        bad = int((~finite).sum())
        raise MeshRejected(
            "non_finite",
            f"{bad} vertices have non-finite coordinates (NaN or infinity); "
            "the exporter wrote a broken file: export it again",
        )


def _check_extent(vertices: np.ndarray, limits: MeshLimits) -> None:
    extent = vertices.max(axis=0) - vertices.min(axis=0)
    size = " x ".join(f"{v:.1f}" for v in extent)
    if extent.max() > limits.max_extent_mm:
        raise MeshRejected(
            "too_large",
            f"the mesh measures {size} mm, over the {limits.max_extent_mm:.0f} mm limit; "
            "check the export units (metres or inches instead of millimetres?)",
        )
    if extent.min() < limits.min_extent_mm:
        raise MeshRejected(
            "flat",
            f"the mesh measures {size} mm: thinner than {limits.min_extent_mm} mm on one axis, "
            "so there is nothing to print; give it thickness",
        )


def _close(
    vertices: np.ndarray, faces: np.ndarray, limits: MeshLimits, repairs: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    faces, note = mesh_repair.fix_winding(vertices, faces)
    _note(repairs, note)
    loops = mesh_repair.boundary_loops(faces, len(vertices))
    if not loops:
        return vertices, faces
    open_edges = sum(len(loop) for loop in loops)
    z = vertices[np.concatenate(loops), 2]
    where = f"between z={z.min():.1f} and z={z.max():.1f} mm"
    if open_edges > limits.max_open_edges:
        raise MeshRejected(
            "open_mesh",
            f"the mesh has {open_edges} open edges {where}, too many to close safely "
            f"(limit {limits.max_open_edges}); close the holes or export it as a solid",
        )
    vertices, faces = mesh_repair.fill_holes(vertices, faces, loops)
    repairs.append(f"closed {len(loops)} holes ({open_edges} open edges {where})")
    return vertices, faces


def _used(faces: np.ndarray, count: int) -> np.ndarray:
    mask = np.zeros(count, dtype=bool)
    mask[faces.ravel()] = True
    return mask


def _placed(
    vertices: np.ndarray, faces: np.ndarray, volume: float, repairs: tuple[str, ...], name: str
) -> PreparedMesh:
    used = np.flatnonzero(_used(faces, len(vertices)))
    if len(used) != len(vertices):
        remap = np.full(len(vertices), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        vertices = vertices[used]
        faces = remap[faces]
    low = vertices.min(axis=0)
    high = vertices.max(axis=0)
    offset = np.array([(low[0] + high[0]) / 2, (low[1] + high[1]) / 2, low[2]])
    placed = (vertices - offset).astype(np.float32)
    return PreparedMesh(
        vertices=placed,
        faces=faces.astype(np.uint32),
        volume_mm3=float(volume),
        repairs=repairs,
        name=name,
        hull_xy=convex_hull(placed[:, :2].astype(np.float64)),
    )


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise convex hull of 2D points."""
    hull = manifold3d.CrossSection.hull_points(np.ascontiguousarray(points, dtype=np.float64))
    polygons = hull.to_polygons()
    if not polygons:
        return np.zeros((0, 2))
    return np.asarray(polygons[0], dtype=np.float64)


def rotated(points: np.ndarray, rotation_deg: float) -> np.ndarray:
    """Points (N, 2+) rotated about the origin in X/Y by `rotation_deg` counter-clockwise."""
    angle = math.radians(rotation_deg)
    c, s = math.cos(angle), math.sin(angle)
    out = np.array(points, dtype=np.float64, copy=True)
    x = points[:, 0]
    y = points[:, 1]
    out[:, 0] = c * x - s * y
    out[:, 1] = s * x + c * y
    return out


def best_rotation_for_bed(mesh: PreparedMesh, profile: Profile) -> float | None:
    """A rotation about Z (degrees) at which the part fits the bed, or None."""
    machine = profile.machine
    if mesh.height_mm > machine.max_z_mm:
        return None
    hull = mesh.hull_xy
    if machine.bed_shape == "circle":
        centre = (hull.max(axis=0) + hull.min(axis=0)) / 2
        radius = float(np.hypot(*(hull - centre).T).max())
        return 0.0 if radius <= min(machine.bed_x_mm, machine.bed_y_mm) / 2 else None
    for angle in np.arange(0.0, 180.0, 1.0):
        turned = rotated(hull, float(angle))
        width, depth = turned.max(axis=0) - turned.min(axis=0)
        if width <= machine.bed_x_mm and depth <= machine.bed_y_mm:
            return float(angle)
    return None


def fits_bed(mesh: PreparedMesh, profile: Profile) -> bool:
    """True when the part fits the profile's bed and height at some rotation about Z."""
    return best_rotation_for_bed(mesh, profile) is not None
