"""Meshes are stored once by content: the bytes on disk (the service writes them), the facts
the scheduler needs (size, footprint, volume) in the `meshes` table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from controller.db.tables import Mesh
from controller.db.types import utcnow
from controller.lifecycle.jobs import ensure_shop


@dataclass(frozen=True)
class MeshFacts:
    """What loading a mesh told us (from slicing.load_mesh's PreparedMesh)."""

    sha256: str
    format: str
    size_bytes: int
    stored_path: str
    triangles: int
    size_mm: tuple[float, float, float]
    footprint: Sequence[tuple[float, float]]  # outline on the bed, mm
    volume_mm3: float


def record_mesh(session: Session, facts: MeshFacts, *, uploaded_by: str | None = None) -> Mesh:
    """The mesh row for `facts.sha256`, created the first time (later uploads change nothing:
    the same sha256 is the same bytes)."""
    mesh = session.get(Mesh, facts.sha256)
    if mesh is not None:
        return mesh
    if uploaded_by is not None:
        ensure_shop(session, uploaded_by)
    mesh = Mesh(
        sha256=facts.sha256,
        format=facts.format,
        size_bytes=facts.size_bytes,
        stored_path=facts.stored_path,
        triangles=facts.triangles,
        size_mm=[float(value) for value in facts.size_mm],
        footprint=[[float(x), float(y)] for x, y in facts.footprint],
        volume_mm3=facts.volume_mm3,
        uploaded_by=uploaded_by,
        created_at=utcnow(),
    )
    session.add(mesh)
    session.flush()
    return mesh


def get_mesh(session: Session, sha256: str) -> Mesh | None:
    return session.get(Mesh, sha256)
