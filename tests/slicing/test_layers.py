"""Layer heights and cross-sections: PrusaSlicer's layer counts, no empty layer with area."""

from __future__ import annotations

import numpy as np
import pytest

from slicing import PlatePart, SliceSettings
from slicing.layers import layer_table, slice_mesh
from slicing.plate import build_program
from tests.slicing.gcode_reading import read_layers


@pytest.mark.parametrize(
    ("model", "layers"),
    [("benchy.stl", 240), ("rocker_arm.stl", 400), ("igea_head.stl", 497), ("cube_20mm.stl", 100)],
)
def test_layer_counts_match_prusaslicer(load_model, model: str, layers: int) -> None:  # type: ignore[no-untyped-def]
    table = layer_table(load_model(model).height_mm, 0.2, 0.2)
    assert len(table) == layers


def test_layers_are_cut_through_their_middle() -> None:
    table = layer_table(1.0, 0.3, 0.2)
    assert table.print_z.tolist() == pytest.approx([0.3, 0.5, 0.7, 0.9, 1.1])
    assert table.slice_z.tolist() == pytest.approx([0.15, 0.4, 0.6, 0.8, 0.999])


@pytest.mark.parametrize("model", ["benchy.stl", "igea_head.stl", "rocker_arm.stl"])
def test_every_layer_of_a_closed_mesh_has_area(load_model, model: str) -> None:  # type: ignore[no-untyped-def]
    mesh = load_model(model)
    table = layer_table(mesh.height_mm, 0.2, 0.2)
    sections = slice_mesh(mesh.vertices, mesh.faces, table.slice_z)
    areas = np.array([s.area() for s in sections])
    assert (areas > 0).all(), f"empty layers: {np.flatnonzero(areas <= 0)[:10]}"


def test_simplified_loops_keep_the_area(load_model) -> None:  # type: ignore[no-untyped-def]
    import manifold3d

    mesh = load_model("igea_head.stl")
    solid = manifold3d.Manifold(
        manifold3d.Mesh(vert_properties=mesh.vertices, tri_verts=mesh.faces)
    )
    raw = solid.slice(50.0)
    simple = slice_mesh(mesh.vertices, mesh.faces, np.array([50.0]))[0]
    assert simple.area() == pytest.approx(raw.area(), rel=1e-3)
    assert simple.num_vert() < 0.5 * raw.num_vert()


@pytest.fixture(scope="module")
def bunny_layers(load_model, generic):  # type: ignore[no-untyped-def]
    bunny = load_model("stanford_bunny.stl")
    settings = SliceSettings.for_quality("standard", skirt_loops=0)
    program = build_program([PlatePart(bunny, 110, 110, 0, "bunny")], generic, "PLA", settings)
    return bunny, program, read_layers(program.gcode)


def test_repaired_bunny_prints_every_layer_where_it_has_area(bunny_layers) -> None:  # type: ignore[no-untyped-def]
    bunny, program, layers = bunny_layers
    table = layer_table(bunny.height_mm, 0.2, 0.2)
    sections = slice_mesh(bunny.vertices, bunny.faces, table.slice_z)
    with_area = [i for i, s in enumerate(sections) if s.area() > 0.01]
    assert with_area[0] == 0  # the closed base has area from the first layer
    assert len(layers) == with_area[-1] + 1  # the empty cut through the ear's tip is dropped
    printed = {layer.index for layer in layers if layer.extruded_mm() > 0}
    assert set(with_area) <= printed
    assert not program.warnings


@pytest.mark.parametrize("model", ["benchy.stl", "stanford_bunny.stl", "rocker_arm.stl"])
def test_numpy_cutter_matches_manifold3d(load_model, model: str) -> None:  # type: ignore[no-untyped-def]
    import manifold3d

    from slicing.cutting import sections

    mesh = load_model(model)
    table = layer_table(mesh.height_mm, 0.2, 0.2)
    ours = sections(mesh.vertices, mesh.faces, table.slice_z[::7], 0.025)
    assert ours is not None
    solid = manifold3d.Manifold(
        manifold3d.Mesh(vert_properties=mesh.vertices, tri_verts=mesh.faces)
    )
    theirs = [solid.slice(float(z)).simplify(0.025) for z in table.slice_z[::7]]
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine.area() == pytest.approx(reference.area(), rel=1e-3, abs=1e-3)
        assert (mine - reference).area() + (reference - mine).area() < 1e-3 * max(
            reference.area(), 1.0
        )


def test_numpy_cutter_declines_an_open_mesh() -> None:
    from slicing.cutting import cut

    vertices = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]], dtype=float)
    faces = np.array([[0, 2, 1], [0, 1, 3], [1, 2, 3]])  # one face missing
    assert cut(vertices, faces, np.array([5.0])) is None


def test_a_mesh_the_cutter_declines_is_still_sliced(generic) -> None:  # type: ignore[no-untyped-def]
    import manifold3d

    # Two cubes sharing an edge: that edge has four triangles, so the numpy cutter cannot
    # chain it and manifold3d refuses it; trimesh's sections slice it.
    from tests.slicing.conftest import solid

    a = manifold3d.Manifold.cube([10.0, 10.0, 10.0])
    mesh_a = solid(a, "a")
    shifted = mesh_a.vertices.astype(np.float64) + np.array([10.0, 10.0, 0.0])
    vertices = np.vstack([mesh_a.vertices, shifted])
    faces = np.vstack([mesh_a.faces, mesh_a.faces + len(mesh_a.vertices)]).astype(np.int64)
    from slicing import prepare_mesh

    touching = prepare_mesh(vertices, faces, name="touching")
    sections = slice_mesh(touching.vertices, touching.faces, np.array([5.0]))
    assert sections[0].area() == pytest.approx(200.0, rel=1e-3)
