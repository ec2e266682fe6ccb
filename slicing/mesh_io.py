"""Read mesh bytes (STL binary/ASCII, OBJ, 3MF) into plain vertex and face arrays.

Binary and ASCII STL are parsed with numpy (the hot path: most uploads are STL); OBJ and 3MF
go through trimesh, which knows their many variants, including BambuStudio/OrcaSlicer 3MF
files that keep each object's mesh in a separate model part (3MF production extension).
Sizes are checked before anything large is allocated, so hostile uploads cannot exhaust
memory. Every problem is raised as `MeshRejected` with a reason a shop can act on.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Literal

import numpy as np

from slicing.errors import MeshRejected

MeshFormat = Literal["stl", "3mf", "obj"]

_STL_RECORD = np.dtype([("normal", "<f4", (3,)), ("v", "<f4", (3, 3)), ("attr", "<u2")])
_ASCII_VERTEX = re.compile(rb"vertex\s+(\S+)\s+(\S+)\s+(\S+)")
_UNIT_MM = {
    "micron": 0.001,
    "millimeter": 1.0,
    "millimeters": 1.0,
    "mm": 1.0,
    "centimeter": 10.0,
    "centimeters": 10.0,
    "inch": 25.4,
    "inches": 25.4,
    "foot": 304.8,
    "feet": 304.8,
    "meter": 1000.0,
    "meters": 1000.0,
    "m": 1000.0,
}


@dataclass(frozen=True)
class RawMesh:
    """Triangles as read from the file: vertices (N, 3) float64 in mm, faces (M, 3) int64.

    `soup` is True when every triangle has its own three vertices (STL): they still need
    merging into a shared-vertex mesh.
    """

    vertices: np.ndarray  # float32 for STL, float64 otherwise
    faces: np.ndarray
    soup: bool


def read_mesh(data: bytes, fmt: str, max_triangles: int, max_bytes: int) -> RawMesh:
    """Parse `data` in format `fmt` ("stl", "3mf" or "obj")."""
    if len(data) > max_bytes:
        raise MeshRejected(
            "too_large",
            f"the file is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit; "
            "simplify the mesh or export it with fewer triangles",
        )
    kind = fmt.lower().lstrip(".")
    if kind == "stl":
        return _read_stl(data, max_triangles)
    if kind == "obj":
        return _read_with_trimesh(data, "obj", max_triangles)
    if kind == "3mf":
        _check_zip(data, max_bytes)
        return _read_with_trimesh(data, "3mf", max_triangles)
    raise MeshRejected("unknown_format", f"format {fmt!r} is not supported; send STL, 3MF or OBJ")


def _too_many(count: int, max_triangles: int) -> MeshRejected:
    return MeshRejected(
        "too_many_triangles",
        f"the mesh has {count:,} triangles, over the limit of {max_triangles:,}; "
        "decimate it (most prints need under 1 million triangles)",
    )


def _read_stl(data: bytes, max_triangles: int) -> RawMesh:
    if len(data) >= 84:
        count = int(np.frombuffer(data, dtype="<u4", count=1, offset=80)[0])
        if 84 + 50 * count == len(data):
            if count > max_triangles:
                raise _too_many(count, max_triangles)
            records = np.frombuffer(data, dtype=_STL_RECORD, count=count, offset=84)
            triangles = records["v"].reshape(-1, 3).astype(np.float32)
            return _soup(triangles)
    head = data[:512].lstrip().lower()
    if head.startswith(b"solid") and b"facet" in data[:4096].lower():
        return _read_ascii_stl(data, max_triangles)
    raise MeshRejected(
        "unreadable",
        "the file is neither a binary STL (its size does not match the triangle count in "
        "its header: truncated?) nor an ASCII STL; export it again",
    )


def _read_ascii_stl(data: bytes, max_triangles: int) -> RawMesh:
    count = data.count(b"endfacet")
    if count > max_triangles:
        raise _too_many(count, max_triangles)
    matches = _ASCII_VERTEX.findall(data)
    if len(matches) % 3 or len(matches) // 3 != count:
        raise MeshRejected(
            "unreadable",
            f"the ASCII STL has {count} facets but {len(matches)} vertices; "
            "every facet needs exactly 3 vertices",
        )
    try:
        triangles: np.ndarray = np.array(matches, dtype=np.float64)
    except ValueError as exc:
        raise MeshRejected(
            "unreadable", f"the ASCII STL has a vertex that is not a number ({exc})"
        ) from None
    return _soup(triangles.reshape(-1, 3))


def _soup(points: np.ndarray) -> RawMesh:
    index_type = np.int32 if len(points) < 2**31 else np.int64
    faces: np.ndarray = np.arange(len(points), dtype=index_type).reshape(-1, 3)
    return RawMesh(vertices=points, faces=faces, soup=True)


def _check_zip(data: bytes, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            names = archive.namelist()
    except zipfile.BadZipFile:
        raise MeshRejected(
            "unreadable", "the 3MF file is not a valid zip archive; export it again"
        ) from None
    if unpacked > 8 * max_bytes:
        raise MeshRejected(
            "too_large",
            f"the 3MF unpacks to {unpacked / 1e6:.0f} MB, over the {8 * max_bytes / 1e6:.0f} MB "
            "limit; export a simpler mesh",
        )
    if not any(name.lower().endswith(".model") for name in names):
        raise MeshRejected("unreadable", "the 3MF archive holds no 3D model (no .model part)")


def _read_with_trimesh(data: bytes, kind: str, max_triangles: int) -> RawMesh:
    import trimesh  # only OBJ and 3MF uploads pay for importing trimesh

    if kind == "obj":
        face_lines = len(re.findall(rb"(?m)^\s*f\s", data))
        if face_lines > max_triangles:
            raise _too_many(face_lines, max_triangles)
    try:
        loaded = trimesh.load(file_obj=io.BytesIO(data), file_type=kind, process=False)
    except Exception as exc:  # trimesh raises many types for malformed files
        raise MeshRejected(
            "unreadable", f"the {kind.upper()} file could not be read: {exc}"
        ) from None
    scale = _unit_scale(getattr(loaded, "units", None))
    if isinstance(loaded, trimesh.Scene):
        if not loaded.geometry:
            raise MeshRejected("empty", f"the {kind.upper()} file contains no mesh")
        mesh = loaded.to_mesh()
    else:
        mesh = loaded
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise MeshRejected("empty", f"the {kind.upper()} file contains no triangles")
    if len(mesh.faces) > max_triangles:
        raise _too_many(len(mesh.faces), max_triangles)
    vertices = np.asarray(mesh.vertices, dtype=np.float64) * scale
    return RawMesh(vertices=vertices, faces=np.asarray(mesh.faces, dtype=np.int64), soup=False)


def _unit_scale(units: str | None) -> float:
    if not units:
        return 1.0
    key = units.strip().lower()
    if key not in _UNIT_MM:
        raise MeshRejected("bad_units", f"the file uses unit {units!r}; use millimetres or inches")
    return _UNIT_MM[key]
