"""Perimeters: the outer wall's centre line half a line width inside the surface."""

from __future__ import annotations

import itertools

import pytest

from slicing import PlatePart, SliceSettings
from slicing.plate import build_program
from tests.slicing.gcode_reading import read_layers


@pytest.fixture(scope="module")
def cube_layers(load_model, generic):  # type: ignore[no-untyped-def]
    settings = SliceSettings.for_quality("standard")
    cube = load_model("cube_20mm.stl")
    program = build_program([PlatePart(cube, 110, 110, 0, "cube")], generic, "PLA", settings)
    return settings, read_layers(program.gcode)


def test_cube_outer_wall_spans_20mm_minus_one_line_width_on_every_layer(cube_layers) -> None:  # type: ignore[no-untyped-def]
    settings, layers = cube_layers
    assert len(layers) == 100
    for layer in layers:
        width = settings.first_layer_line_width_mm if layer.index == 0 else settings.line_width_mm
        points = layer.points("WALL-OUTER")
        assert len(points), f"layer {layer.index} has no outer wall"
        span = points.max(axis=0) - points.min(axis=0)
        assert span == pytest.approx([20 - width, 20 - width], abs=0.02), layer.index


def test_cube_has_the_inner_walls_one_spacing_inside(cube_layers) -> None:  # type: ignore[no-untyped-def]
    settings, layers = cube_layers
    layer = layers[50]
    inner = layer.points("WALL-INNER")
    outer = layer.points("WALL-OUTER")
    step = outer.max(axis=0) - inner.max(axis=0)
    expected = settings.line_width_mm - settings.layer_height_mm * (1 - 3.14159265 / 4)
    assert step == pytest.approx([expected, expected], abs=0.01)


def test_cube_has_solid_bottom_and_top_and_sparse_middle(cube_layers) -> None:  # type: ignore[no-untyped-def]
    _settings, layers = cube_layers
    for index in range(4):
        assert "SKIN" in layers[index].moves and "FILL" not in layers[index].moves
    assert "FILL" in layers[50].moves and "SKIN" not in layers[50].moves
    assert "TOP-SKIN" in layers[99].moves
    # The first solid layer over the sparse infill bridges it; the next ones are skin.
    assert set(layers[96].moves) >= {"BRIDGE"} and "FILL" not in layers[96].moves
    for index in (97, 98):
        assert "SKIN" in layers[index].moves, index


def test_a_thin_fin_still_gets_a_wall(generic) -> None:  # type: ignore[no-untyped-def]
    from tests.slicing.conftest import box

    fin = box(20, 0.35, 5, "fin")  # thinner than one line width
    program = build_program(
        [PlatePart(fin, 110, 110, 0, "fin")], generic, "PLA", SliceSettings.for_quality("standard")
    )
    layers = read_layers(program.gcode)
    assert all(layer.extruded_mm() > 0 for layer in layers)


def _outer_wall_starts(gcode: str) -> list[tuple[float, float]]:
    """Where each layer's outer wall starts (the position before its first extrusion)."""
    import re

    starts = []
    for block in gcode.split(";TYPE:WALL-OUTER\n")[1:]:
        before = gcode[: gcode.index(block)].rsplit("\nG0 X", 1)[1].split("\n", 1)[0]
        x, y = re.match(r"([\d.]+) Y([\d.]+)", before).groups()  # type: ignore[union-attr]
        starts.append((float(x), float(y)))
    return starts


@pytest.mark.parametrize("seam", ["rear", "aligned"])
def test_seams_line_up(generic, seam: str) -> None:  # type: ignore[no-untyped-def]
    import manifold3d

    from tests.slicing.conftest import solid

    # A twisted prism: every layer's outline differs a little, so seams must be chosen.
    prism = manifold3d.Manifold.extrude(
        manifold3d.CrossSection.circle(10.0, 7), 10.0, n_divisions=20, twist_degrees=40.0
    )
    settings = SliceSettings.for_quality("standard", seam=seam, skirt_loops=0)
    gcode = build_program(
        [PlatePart(solid(prism, "prism"), 110, 110, 0, "prism")], generic, "PLA", settings
    ).gcode
    starts = [_outer_wall_starts(";LAYER:" + layer)[0] for layer in gcode.split(";LAYER:")[2:]]
    if seam == "rear":
        # The rearmost corner of each layer's outline, a little inside the surface.
        assert min(y for _x, y in starts) > 110 + 8.5
    else:
        # Each layer starts next to the previous layer's start: a seam line up the part.
        jumps = [abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in itertools.pairwise(starts)]
        assert max(jumps) < 0.5
