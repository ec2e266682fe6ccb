"""Fixtures for the slicer tests: profiles, meshes loaded once per session, small solids."""

from __future__ import annotations

from pathlib import Path

import manifold3d
import numpy as np
import pytest

from firmware_profiles import Profile, load_profile
from slicing import PreparedMesh, load_mesh, prepare_mesh


@pytest.fixture(scope="session")
def generic() -> Profile:
    return load_profile("generic-220")


@pytest.fixture(scope="session")
def load_model(shared_models: Path):  # type: ignore[no-untyped-def]
    """load_model("benchy.stl") -> PreparedMesh, each file loaded once per session."""
    cache: dict[str, PreparedMesh] = {}

    def load(name: str) -> PreparedMesh:
        if name not in cache:
            data = (shared_models / name).read_bytes()
            cache[name] = load_mesh(data, name.rsplit(".", 1)[1], name=name.split(".")[0])
        return cache[name]

    return load


def solid(shape: manifold3d.Manifold, name: str = "solid") -> PreparedMesh:
    """A PreparedMesh from a manifold3d solid built in a test."""
    mesh = shape.to_mesh()
    vertices = np.asarray(mesh.vert_properties, dtype=np.float64)[:, :3]
    return prepare_mesh(vertices, np.asarray(mesh.tri_verts, dtype=np.int64), name=name)


def box(x: float, y: float, z: float, name: str = "box") -> PreparedMesh:
    return solid(manifold3d.Manifold.cube([x, y, z]), name)


def stl_bytes(vertices: np.ndarray, faces: np.ndarray) -> bytes:
    """Binary STL of a vertex/face mesh."""
    record = np.dtype([("normal", "<f4", (3,)), ("v", "<f4", (3, 3)), ("attr", "<u2")])
    data = np.zeros(len(faces), dtype=record)
    data["v"] = vertices[faces]
    header = b"makerfarm test".ljust(80, b" ") + np.uint32(len(faces)).tobytes()
    return header + data.tobytes()
