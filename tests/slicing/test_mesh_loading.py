"""Loading meshes: STL (binary and ASCII), OBJ and 3MF (BambuStudio's too), units, placement."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest

from slicing import MeshRejected, load_mesh
from tests.slicing.conftest import box, stl_bytes


def test_binary_stl_cube_is_placed_on_the_bed_centred(load_model) -> None:  # type: ignore[no-untyped-def]
    cube = load_model("cube_20mm.stl")
    assert cube.size_mm == pytest.approx((20.0, 20.0, 20.0))
    assert cube.vertices[:, 2].min() == 0.0
    assert cube.vertices[:, :2].min(axis=0) == pytest.approx([-10.0, -10.0])
    assert cube.volume_mm3 == pytest.approx(8000.0)
    assert cube.triangles == 12
    assert cube.repairs == ()


def test_footprint_is_the_convex_hull_of_the_outline(load_model) -> None:  # type: ignore[no-untyped-def]
    hull = np.array(load_model("cube_20mm.stl").footprint_xy)
    assert len(hull) == 4
    assert hull.min(axis=0) == pytest.approx([-10, -10])
    assert hull.max(axis=0) == pytest.approx([10, 10])


def test_ascii_stl_loads_like_binary() -> None:
    mesh = box(10, 20, 5)
    text = ["solid test"]
    for tri in mesh.vertices[mesh.faces]:
        text.append("facet normal 0 0 0\nouter loop")
        text += [f"vertex {x:.6f} {y:.6f} {z + 7:.6f}" for x, y, z in tri]
        text.append("endloop\nendfacet")
    text.append("endsolid test")
    loaded = load_mesh("\n".join(text).encode(), "stl")
    assert loaded.size_mm == pytest.approx((10, 20, 5), abs=1e-5)
    assert loaded.vertices[:, 2].min() == 0.0  # lifted from z=7 down onto the bed


def test_obj_loads() -> None:
    obj = """v 0 0 0\nv 10 0 0\nv 10 10 0\nv 0 10 0\nv 0 0 10\nv 10 0 10\nv 10 10 10\nv 0 10 10
f 1 3 2\nf 1 4 3\nf 5 6 7\nf 5 7 8\nf 1 2 6\nf 1 6 5\nf 2 3 7\nf 2 7 6\nf 3 4 8\nf 3 8 7
f 4 1 5\nf 4 5 8\n"""
    loaded = load_mesh(obj.encode(), "obj")
    assert loaded.volume_mm3 == pytest.approx(1000.0)


def test_bambustudio_3mf_with_components_in_a_separate_part_loads(load_model) -> None:  # type: ignore[no-untyped-def]
    benchy = load_model("benchy_bambustudio.3mf")
    x, y, z = benchy.size_mm
    assert (x, y, z) == pytest.approx((60.0, 31.0, 48.0), abs=0.1)
    assert benchy.triangles == pytest.approx(225_154, rel=0.01)
    assert benchy.volume_mm3 == pytest.approx(load_model("benchy.stl").volume_mm3, rel=1e-3)


def test_3mf_in_inches_is_scaled_to_millimetres() -> None:
    model = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<model unit="inch" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">'
        '<resources><object id="1" type="model"><mesh><vertices>'
        + "".join(
            f'<vertex x="{x}" y="{y}" z="{z}"/>'
            for x, y, z in [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)]
        )
        + "</vertices><triangles>"
        + "".join(
            f'<triangle v1="{a}" v2="{b}" v3="{c}"/>'
            for a, b, c in [(0, 2, 1), (0, 1, 3), (1, 2, 3), (0, 3, 2)]
        )
        + '</triangles></mesh></object></resources><build><item objectid="1"/></build></model>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("3D/3dmodel.model", model)
        archive.writestr("[Content_Types].xml", "<Types/>")
    loaded = load_mesh(buffer.getvalue(), "3mf")
    assert loaded.size_mm == pytest.approx((25.4, 25.4, 25.4), abs=1e-3)


def test_prepared_mesh_pickles_small(load_model) -> None:  # type: ignore[no-untyped-def]
    benchy = load_model("benchy.stl")
    data = pickle.dumps(benchy)
    assert len(data) < 5_000_000  # vertices and faces, nothing more
    again = pickle.loads(data)
    assert np.array_equal(again.faces, benchy.faces)
    assert again.footprint_xy == benchy.footprint_xy


def test_binary_stl_round_trip_keeps_the_shape() -> None:
    mesh = box(30, 10, 4)
    loaded = load_mesh(stl_bytes(mesh.vertices, mesh.faces), "stl")
    assert loaded.volume_mm3 == pytest.approx(1200.0, rel=1e-5)


def test_unknown_format_is_rejected_with_the_choices() -> None:
    with pytest.raises(MeshRejected) as caught:
        load_mesh(b"whatever", "step")
    assert caught.value.code == "unknown_format"
    assert "STL, 3MF or OBJ" in caught.value.reason
