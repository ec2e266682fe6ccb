"""Supports: only under real overhangs, with a Z gap and an XY gap, only when enabled."""

from __future__ import annotations

import manifold3d
import numpy as np
import pytest

from slicing import PlatePart, SliceSettings
from slicing.plate import build_program
from tests.slicing.conftest import solid
from tests.slicing.gcode_reading import read_layers


@pytest.fixture(scope="module")
def table_shape():  # type: ignore[no-untyped-def]
    """A 4 x 4 mm pillar, 10 mm tall, carrying a 20 x 20 x 2 mm slab: a big flat overhang."""
    pillar = manifold3d.Manifold.cube([4.0, 4.0, 10.0]).translate([8.0, 8.0, 0.0])
    slab = manifold3d.Manifold.cube([20.0, 20.0, 2.0]).translate([0.0, 0.0, 10.0])
    return solid(pillar + slab, "table")


def _layers(mesh, profile, **overrides):  # type: ignore[no-untyped-def]
    settings = SliceSettings.for_quality("standard", skirt_loops=0, **overrides)
    program = build_program([PlatePart(mesh, 110, 110, 0, "table")], profile, "PLA", settings)
    return read_layers(program.gcode)


def test_no_supports_unless_enabled(table_shape, generic) -> None:  # type: ignore[no-untyped-def]
    layers = _layers(table_shape, generic)
    assert not any("SUPPORT" in layer.moves for layer in layers)


def test_supports_hold_the_overhang_with_a_z_gap(table_shape, generic) -> None:  # type: ignore[no-untyped-def]
    layers = _layers(table_shape, generic, supports=True, support_z_gap_layers=1)
    with_support = [
        layer.index
        for layer in layers
        if "SUPPORT" in layer.moves or "SUPPORT-INTERFACE" in layer.moves
    ]
    # The slab starts at z = 10 (layer 50); layer 49 is the Z gap.
    assert with_support[0] == 0
    assert with_support[-1] == 48
    assert "SUPPORT-INTERFACE" in layers[48].moves
    assert not any("SUPPORT" in layers[i].moves for i in range(49, len(layers)))


def test_supports_keep_clear_of_the_pillar(table_shape, generic) -> None:  # type: ignore[no-untyped-def]
    layers = _layers(table_shape, generic, supports=True, support_xy_gap_mm=0.6)
    points = layers[20].points("SUPPORT")
    assert len(points)
    inside_x = (points[:, 0] > 110 - 2 - 0.5) & (points[:, 0] < 110 + 2 + 0.5)
    inside_y = (points[:, 1] > 110 - 2 - 0.5) & (points[:, 1] < 110 + 2 + 0.5)
    assert not np.any(inside_x & inside_y)


def test_a_gentle_slope_needs_no_support(generic) -> None:  # type: ignore[no-untyped-def]
    cone = manifold3d.Manifold.cylinder(10.0, 10.0, 4.0, 64)  # walls 31 degrees off vertical
    layers = _layers(solid(cone, "cone"), generic, supports=True)
    assert not any("SUPPORT" in layer.moves for layer in layers)
