"""A corpus of hostile meshes through the controller's mesh path, each in a process of its
own with its address space capped (`tests/security/mesh_probe.py`) and a time bound: every
one is refused, at the upload check or by the loader, with the reason a shop can act on."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
BUDGET_MB = 512  # address space the probe may add to what its libraries take
TIME_BOUND_S = 60.0
TETRA = np.array([[0, 0, 0], [20, 0, 0], [0, 20, 0], [0, 0, 20]], dtype=np.float32)
TETRA_FACES = ((0, 2, 1), (0, 1, 3), (0, 3, 2), (1, 2, 3))


def binary_stl(triangles: np.ndarray, declared: int | None = None) -> bytes:
    """A binary STL of (N, 3, 3) triangles; `declared` overrides the header's count."""
    records = np.zeros(len(triangles), dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
    records["v"] = triangles
    count = len(triangles) if declared is None else declared
    return b"hostile".ljust(80, b" ") + struct.pack("<I", count) + records.tobytes()


def tetra(vertices: np.ndarray = TETRA) -> np.ndarray:
    return np.array([[vertices[i] for i in face] for face in TETRA_FACES], dtype=np.float32)


def ascii_stl(triangles: np.ndarray) -> bytes:
    lines = ["solid hostile"]
    for a, b, c in triangles.tolist():
        lines += [
            "facet normal 0 0 0",
            " outer loop",
            *(f"  vertex {x} {y} {z}" for x, y, z in (a, b, c)),
            " endloop",
            "endfacet",
        ]
    return ("\n".join([*lines, "endsolid hostile"]) + "\n").encode()


def zip_bomb(unpacked_mb: int) -> bytes:
    out = io.BytesIO()
    chunk = bytes(1024 * 1024)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("3D/3dmodel.model", "w") as member:
            for _ in range(unpacked_mb):
                member.write(chunk)
    return out.getvalue()


def crowded_3mf(members: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for n in range(members):
            archive.writestr(f"3D/part{n}.model", b"<model/>")
    return out.getvalue()


def degenerate() -> np.ndarray:
    """Twelve triangles whose corners lie on one line: no area, no volume."""
    line = np.linspace(0, 30, 36, dtype=np.float32).reshape(12, 3, 1)
    return np.concatenate([line, line * 0.5, line * 0.25], axis=2)


@dataclass(frozen=True)
class HostileMesh:
    name: str
    fmt: str
    make: Callable[[Path], bytes]
    stage: str  # "upload" or "loader": where it must be refused
    says: str  # a piece of the reason


def cube_stl(models: Path) -> bytes:
    return (models / "cube_20mm.stl").read_bytes()


def benchy_3mf(models: Path) -> bytes:
    return (models / "benchy_bambustudio.3mf").read_bytes()


CORPUS = [
    HostileMesh("3mf_zip_bomb", "3mf", lambda m: zip_bomb(256), "upload", "zip bomb"),
    HostileMesh("3mf_with_300_members", "3mf", lambda m: crowded_3mf(300), "upload", "300 members"),
    HostileMesh(
        "3mf_truncated",
        "3mf",
        lambda m: benchy_3mf(m)[: len(benchy_3mf(m)) // 2],
        "upload",
        "not a valid zip archive",
    ),
    HostileMesh(
        "stl_with_2_100_000_triangles",
        "stl",
        lambda m: binary_stl(np.zeros((2_100_000, 3, 3), dtype=np.float32)),
        "upload",
        "2,100,000 triangles",
    ),
    HostileMesh(
        "stl_claiming_10_million_triangles",
        "stl",
        lambda m: binary_stl(tetra(), declared=10_000_000),
        "loader",
        "does not match the triangle count",
    ),
    HostileMesh(
        "stl_claiming_a_billion_triangles",
        "stl",
        lambda m: binary_stl(tetra(), declared=1_000_000_000),
        "loader",
        "does not match the triangle count",
    ),
    HostileMesh(
        "stl_truncated_mid_triangle",
        "stl",
        lambda m: cube_stl(m)[: 84 + 50 * 5 + 17],
        "loader",
        "truncated?",
    ),
    HostileMesh(
        "ascii_stl_truncated",
        "stl",
        lambda m: ascii_stl(tetra())[:-60],
        "loader",
        "every facet needs exactly 3",
    ),
    HostileMesh(
        "nan_vertices",
        "stl",
        lambda m: binary_stl(tetra(np.where(TETRA > 0, np.nan, TETRA))),
        "loader",
        "NaN or infinity",
    ),
    HostileMesh(
        "infinite_vertices",
        "stl",
        lambda m: binary_stl(tetra(np.where(TETRA > 0, np.inf, TETRA))),
        "loader",
        "NaN or infinity",
    ),
    HostileMesh(
        "degenerate_zero_area", "stl", lambda m: binary_stl(degenerate()), "loader", "not a solid"
    ),
    HostileMesh(
        "enormous_extents",
        "stl",
        lambda m: binary_stl(tetra(TETRA * 1e6)),
        "loader",
        "over the 1000 mm limit",
    ),
    HostileMesh("stl_sent_as_3mf", "3mf", cube_stl, "loader", "not a valid zip archive"),
    HostileMesh("3mf_sent_as_stl", "stl", benchy_3mf, "loader", "nor an ASCII STL"),
    HostileMesh(
        "random_bytes_as_obj",
        "obj",
        lambda m: np.random.default_rng(8).bytes(4096),
        "loader",
        "OBJ file could not be read",
    ),
]


def run_probe(path: Path, fmt: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.security.mesh_probe", str(path), fmt, str(BUDGET_MB)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIME_BOUND_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    outcome: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcome


@pytest.mark.parametrize("hostile", CORPUS, ids=[case.name for case in CORPUS])
def test_hostile_mesh_is_refused_with_its_reason_in_bounded_time_and_memory(
    hostile: HostileMesh, shared_models: Path, tmp_path: Path
) -> None:
    path = tmp_path / f"{hostile.name}.{hostile.fmt}"
    path.write_bytes(hostile.make(shared_models))
    outcome = run_probe(path, hostile.fmt)
    assert outcome.get("refused_by") == hostile.stage, outcome
    reason = str(outcome["reason"])
    assert hostile.says in reason, outcome
    assert len(reason) > 20 and reason.isprintable(), outcome
    assert isinstance(outcome["peak_rss_mb"], int)
