"""The functions the controller runs in its worker processes (never on the event loop).

Each takes and returns plain picklable data (paths, ids, dataclasses), loads what it needs
itself (meshes from the content-addressed store, profiles by id) and keeps small
per-process caches, so repeated work on the same mesh or profile is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from firmware_profiles import Profile, load_profile

if TYPE_CHECKING:
    from slicing import PreparedMesh, SliceSettings


@dataclass(frozen=True)
class MeshFacts:
    """What intake and the scheduler need to know about one stored mesh."""

    sha256: str
    fmt: str
    size_bytes: int
    triangles: int
    size_mm: tuple[float, float, float]
    footprint: list[tuple[float, float]]
    volume_mm3: float
    repairs: tuple[str, ...]
    # profile id -> fits its bed (at some rotation) and height
    fits: dict[str, bool] = field(default_factory=dict)
    # (profile id, material) -> (print seconds, filament grams) for one part
    estimates: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class MeshProblem:
    """The mesh cannot be printed; `code` and `reason` go to the shop."""

    code: str
    reason: str


@lru_cache(maxsize=64)
def profile(profile_id: str) -> Profile:
    return load_profile(profile_id)


@lru_cache(maxsize=16)
def prepared_mesh(path: str, fmt: str, scale: float = 1.0) -> PreparedMesh:
    """The stored mesh loaded, checked and repaired (scaled first when asked)."""
    from slicing import MeshLimits, load_mesh, prepare_mesh
    from slicing.mesh_io import read_mesh

    data = Path(path).read_bytes()
    if scale == 1.0:
        return load_mesh(data, fmt)
    limits = MeshLimits()
    raw = read_mesh(data, fmt, limits.max_triangles, limits.max_bytes)
    return prepare_mesh(raw.vertices * scale, raw.faces)


def analyse_mesh(
    path: str,
    sha256: str,
    fmt: str,
    profile_ids: tuple[str, ...],
    material: str | None,
    quality: str,
    scale: float = 1.0,
) -> MeshFacts | MeshProblem:
    """Load and check a stored mesh; which of `profile_ids` it fits; part estimates for
    `material` on the profiles it fits."""
    from slicing import MeshRejected, SliceSettings, SlicingError, fits_bed

    try:
        mesh = prepared_mesh(path, fmt, scale)
    except MeshRejected as exc:
        return MeshProblem(exc.code, exc.reason)
    fits = {pid: fits_bed(mesh, profile(pid)) for pid in profile_ids}
    estimates: dict[tuple[str, str], tuple[float, float]] = {}
    if material is not None:
        settings = SliceSettings.for_quality(quality, material=material)
        for pid, ok in fits.items():
            if ok and _runs(profile(pid), material):
                try:
                    estimates[(pid, material)] = _estimate(mesh, profile(pid), material, settings)
                except SlicingError:
                    continue  # this printer cannot run it now; intake judges the others
    x, y, z = mesh.size_mm
    return MeshFacts(
        sha256=sha256,
        fmt=fmt,
        size_bytes=Path(path).stat().st_size,
        triangles=mesh.triangles,
        size_mm=(round(x, 3), round(y, 3), round(z, 3)),
        footprint=[(round(px, 3), round(py, 3)) for px, py in mesh.footprint_xy],
        volume_mm3=float(mesh.volume_mm3),
        repairs=tuple(mesh.repairs),
        fits=fits,
        estimates=estimates,
    )


def _estimate(
    mesh: PreparedMesh, printer_profile: Profile, material: str, settings: SliceSettings
) -> tuple[float, float]:
    """(print seconds, filament grams) of one part, from the slicer's estimate; when that
    cannot give a figure, from slicing the part alone on a plate."""
    from slicing import PlatePart, estimate_part, slice_plate

    try:
        seconds, grams = estimate_part(mesh, printer_profile, material, settings)
        return float(seconds), float(grams)
    except (TypeError, ValueError):
        low_x, low_y, high_x, high_y = printer_profile.machine.bed_bounds()
        alone = PlatePart(mesh, (low_x + high_x) / 2, (low_y + high_y) / 2, 0.0, "part")
        result = slice_plate([alone], printer_profile, material, settings)
        return float(result.print_seconds), float(result.filament_g or 0.0)


def _runs(printer_profile: Profile, material: str) -> bool:
    return any(name.upper() == material.upper() for name in printer_profile.materials)


def plan_farm(instance_json: str, previous_json: str | None, seed: int) -> str:
    """`scheduler.plan` on JSON in, JSON out (the models cross the process boundary as text)."""
    from protocol.planning import Plan, PlanInstance
    from scheduler import plan

    instance = PlanInstance.model_validate_json(instance_json)
    previous = Plan.model_validate_json(previous_json) if previous_json else None
    return plan(instance, previous=previous, seed=seed).model_dump_json(by_alias=True)


@dataclass(frozen=True)
class PartOnPlate:
    """What a worker needs to put one part on a plate."""

    part_id: str
    label: str
    mesh_path: str
    mesh_format: str
    scale: float
    x_mm: float  # from the bed's front-left corner (the plan's coordinates)
    y_mm: float
    rotation_deg: float


@dataclass(frozen=True)
class SlicedPlate:
    gcode_sha256: str  # of the gzip'd program, as it travels
    gcode_path: str
    gcode_bytes: int  # uncompressed
    gcode_gzip_bytes: int
    print_seconds: float
    filament_g: float
    layers: int
    from_cache: bool


@dataclass(frozen=True)
class SliceProblem:
    code: str
    reason: str


def slice_plate_to_store(
    parts: tuple[PartOnPlate, ...], profile_id: str, material: str, quality: str, gcode_dir: str
) -> SlicedPlate | SliceProblem:
    """Slice a plate, check it, gzip it and store it by content; a plate with the same
    meshes, placements, profile, material and settings is sliced once."""
    import hashlib
    import json

    from protocol.blobs import compress_gcode, sha256_hex
    from slicing import PlatePart, SliceSettings, SlicingError, slice_plate

    settings = SliceSettings.for_quality(quality, material=material)
    key = hashlib.sha256(
        json.dumps(
            {
                "parts": [
                    (
                        p.label,
                        Path(p.mesh_path).name,
                        p.mesh_format,
                        p.scale,
                        p.x_mm,
                        p.y_mm,
                        p.rotation_deg,
                    )
                    for p in parts
                ],
                "profile": profile(profile_id).model_dump(mode="json"),
                "material": material,
                "settings": settings.model_dump(mode="json"),
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()
    directory = Path(gcode_dir)
    index = directory / "by-content" / f"{key}.json"
    if index.is_file():
        cached = json.loads(index.read_text())
        if Path(cached["gcode_path"]).is_file():
            return SlicedPlate(**{**cached, "from_cache": True})
    printer_profile = profile(profile_id)
    low_x, low_y, _, _ = printer_profile.machine.bed_bounds()
    try:
        plate_parts = [
            PlatePart(
                prepared_mesh(p.mesh_path, p.mesh_format, p.scale),
                low_x + p.x_mm,
                low_y + p.y_mm,
                p.rotation_deg,
                p.label,
                p.part_id,
            )
            for p in parts
        ]
        result = slice_plate(plate_parts, printer_profile, material, settings)
    except SlicingError as exc:
        return SliceProblem(exc.code, exc.reason)
    raw = result.gcode.encode()
    packed = compress_gcode(raw)
    sha = sha256_hex(packed)
    from controller.blob_store import BlobStore

    store = BlobStore(directory, ".gcode.gz")
    store.put(packed, sha)
    sliced = SlicedPlate(
        gcode_sha256=sha,
        gcode_path=str(store.path(sha)),
        gcode_bytes=len(raw),
        gcode_gzip_bytes=len(packed),
        print_seconds=result.print_seconds,
        filament_g=result.filament_g,
        layers=result.layers,
        from_cache=False,
    )
    index.parent.mkdir(parents=True, exist_ok=True)
    fields = {k: v for k, v in sliced.__dict__.items() if k != "from_cache"}
    index.write_text(json.dumps(fields))
    return sliced
