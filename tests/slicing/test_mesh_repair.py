"""Repairs (holes, winding, duplicates) and rejections of meshes that cannot be printed."""

from __future__ import annotations

import numpy as np
import pytest

from slicing import MeshLimits, MeshRejected, load_mesh, prepare_mesh
from tests.slicing.conftest import box, stl_bytes


def test_bunny_open_base_is_closed_and_reported(load_model) -> None:  # type: ignore[no-untyped-def]
    bunny = load_model("stanford_bunny.stl")
    assert any("closed" in r and "223 open edges" in r for r in bunny.repairs)
    assert bunny.volume_mm3 > 100_000


def test_inward_normals_are_flipped() -> None:
    cube = box(10, 10, 10)
    flipped = prepare_mesh(cube.vertices, cube.faces[:, ::-1])
    assert flipped.volume_mm3 == pytest.approx(1000.0)
    assert any("inward" in r for r in flipped.repairs)


def test_one_inconsistently_wound_triangle_is_fixed() -> None:
    cube = box(10, 10, 10)
    faces = cube.faces.astype(np.int64).copy()
    faces[3] = faces[3, ::-1]
    fixed = prepare_mesh(cube.vertices, faces)
    assert fixed.volume_mm3 == pytest.approx(1000.0)
    assert any("winding" in r for r in fixed.repairs)


def test_duplicate_and_degenerate_triangles_are_dropped() -> None:
    cube = box(10, 10, 10)
    faces = np.vstack([cube.faces, cube.faces[:2], [[0, 0, 1]]]).astype(np.int64)
    fixed = prepare_mesh(cube.vertices, faces)
    assert fixed.triangles == cube.triangles
    assert any("duplicate" in r for r in fixed.repairs)
    assert any("degenerate" in r for r in fixed.repairs)


def test_a_missing_triangle_is_closed() -> None:
    cube = box(10, 10, 10)
    fixed = prepare_mesh(cube.vertices, cube.faces[1:])
    assert fixed.volume_mm3 == pytest.approx(1000.0)
    assert any("closed 1 holes" in r for r in fixed.repairs)


def test_non_finite_coordinates_are_rejected() -> None:
    cube = box(10, 10, 10)
    vertices = cube.vertices.astype(np.float64).copy()
    vertices[2, 1] = np.nan
    with pytest.raises(MeshRejected) as caught:
        load_mesh(stl_bytes(vertices, cube.faces), "stl")
    assert caught.value.code == "non_finite"
    assert "NaN" in caught.value.reason


def test_empty_stl_is_rejected() -> None:
    with pytest.raises(MeshRejected) as caught:
        load_mesh(b"\0" * 80 + np.uint32(0).tobytes(), "stl")
    assert caught.value.code == "empty"


def test_truncated_stl_is_rejected_as_unreadable() -> None:
    cube = box(10, 10, 10)
    data = stl_bytes(cube.vertices, cube.faces)
    with pytest.raises(MeshRejected) as caught:
        load_mesh(data[:-20], "stl")
    assert caught.value.code == "unreadable"
    assert "truncated" in caught.value.reason


def test_triangle_limit_is_checked_before_reading() -> None:
    cube = box(10, 10, 10)
    with pytest.raises(MeshRejected) as caught:
        load_mesh(stl_bytes(cube.vertices, cube.faces), "stl", MeshLimits(max_triangles=10))
    assert caught.value.code == "too_many_triangles"
    assert "12 triangles" in caught.value.reason


def test_a_mesh_in_metres_read_as_millimetres_is_too_large() -> None:
    cube = box(10, 10, 10)
    with pytest.raises(MeshRejected) as caught:
        prepare_mesh(cube.vertices * 1000, cube.faces)
    assert caught.value.code == "too_large"
    assert "units" in caught.value.reason


def test_a_flat_sheet_is_rejected() -> None:
    vertices = np.array([[0, 0, 0], [10, 0, 0], [10, 10, 0], [0, 10, 0]], dtype=float)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    with pytest.raises(MeshRejected) as caught:
        prepare_mesh(vertices, faces)
    assert caught.value.code == "flat"


def test_all_degenerate_triangles_are_rejected() -> None:
    vertices = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0]], dtype=float)
    with pytest.raises(MeshRejected) as caught:
        prepare_mesh(vertices, np.array([[0, 0, 1], [1, 1, 2]]))
    assert caught.value.code == "degenerate"


def test_too_many_open_edges_are_rejected_with_where_they_are(load_model, shared_models) -> None:  # type: ignore[no-untyped-def]
    data = (shared_models / "stanford_bunny.stl").read_bytes()
    with pytest.raises(MeshRejected) as caught:
        load_mesh(data, "stl", MeshLimits(max_open_edges=100))
    assert caught.value.code == "open_mesh"
    assert "223 open edges" in caught.value.reason
    assert "z=0.0" in caught.value.reason


def test_a_single_open_surface_is_rejected_as_having_no_volume() -> None:
    # An open box without lid and base closes into a solid; a lone bent sheet does not.
    vertices = np.array([[0, 0, 0], [10, 0, 0], [10, 10, 5], [0, 10, 5]], dtype=float)
    faces = np.array([[0, 1, 2], [0, 2, 3], [0, 2, 1], [0, 3, 2]])
    with pytest.raises(MeshRejected) as caught:
        prepare_mesh(vertices, faces)
    assert caught.value.code in ("no_volume", "degenerate")


def test_garbage_bytes_are_rejected_as_unreadable() -> None:
    for fmt in ("stl", "3mf", "obj"):
        with pytest.raises(MeshRejected) as caught:
            load_mesh(b"\x89PNG not a mesh at all" * 10, fmt)
        assert caught.value.code in ("unreadable", "empty")


def test_rejections_keep_code_and_reason_across_processes() -> None:
    import pickle

    error = MeshRejected("open_mesh", "the mesh has 223 open edges")
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, MeshRejected)
    assert (again.code, again.reason) == ("open_mesh", "the mesh has 223 open edges")
