"""Plates: parts placed by position and rotation, never colliding, never off the bed."""

from __future__ import annotations

import re

import numpy as np
import pytest

from firmware_profiles import load_profile
from slicing import PlatePart, PlateRejected, SliceSettings, fits_bed
from slicing.arrange import arrange
from slicing.layout import check_layout
from slicing.plate import build_program
from tests.slicing.conftest import box
from tests.slicing.gcode_reading import read_layers


def test_part_is_placed_at_its_position_and_rotation(generic) -> None:  # type: ignore[no-untyped-def]
    bar = box(40, 10, 1, "bar")
    program = build_program(
        [PlatePart(bar, 100, 120, 90, "bar")],
        generic,
        "PLA",
        SliceSettings.for_quality("standard", skirt_loops=0),
    )
    outer = read_layers(program.gcode)[0].points("WALL-OUTER")
    low, high = outer.min(axis=0), outer.max(axis=0)
    assert (low + high) / 2 == pytest.approx([100, 120], abs=0.01)
    assert high - low == pytest.approx([10 - 0.42, 40 - 0.42], abs=0.02)  # turned 90°


def test_overlapping_parts_are_rejected(generic) -> None:  # type: ignore[no-untyped-def]
    parts = [
        PlatePart(box(20, 20, 5), 100, 100, 0, "a"),
        PlatePart(box(20, 20, 5), 110, 100, 0, "b"),
    ]
    with pytest.raises(PlateRejected) as caught:
        check_layout(parts, generic)
    assert caught.value.code == "parts_collide"
    assert "a and b overlap by 200.0 mm²" in caught.value.reason


def test_a_part_off_the_bed_is_rejected(generic) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PlateRejected) as caught:
        check_layout([PlatePart(box(20, 20, 5), 5, 100, 0, "edge")], generic)
    assert caught.value.code == "off_bed"


def test_a_part_taller_than_the_printer_is_rejected(generic) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PlateRejected) as caught:
        check_layout([PlatePart(box(20, 20, 260), 100, 100, 0, "tower")], generic)
    assert caught.value.code == "too_tall"
    assert "250 mm" in caught.value.reason


def test_temperature_outside_the_material_range_is_rejected(generic) -> None:  # type: ignore[no-untyped-def]
    settings = SliceSettings.for_quality("standard", hotend_c=250)
    with pytest.raises(PlateRejected) as caught:
        build_program([PlatePart(box(10, 10, 2), 100, 100)], generic, "PLA", settings)
    assert caught.value.code == "bad_temperature"


def test_fits_bed_tries_rotations(generic) -> None:  # type: ignore[no-untyped-def]
    assert fits_bed(box(200, 200, 3), generic)
    assert fits_bed(box(290, 20, 3), generic)  # only diagonally
    assert not fits_bed(box(300, 40, 3), generic)
    assert not fits_bed(box(20, 20, 251), generic)


def test_fits_round_bed() -> None:
    delta = load_profile("anycubic-kossel-linear-plus")
    assert fits_bed(box(100, 100, 10), delta)
    assert not fits_bed(box(200, 200, 10), delta)


def test_arrange_puts_parts_apart_and_centred(generic) -> None:  # type: ignore[no-untyped-def]
    meshes = [box(30, 20, 5, "a"), box(50, 10, 5, "b"), box(20, 20, 5, "c")]
    placements = arrange(meshes, generic, gap_mm=10)
    parts = [
        PlatePart(m, p.x_mm, p.y_mm, p.rotation_deg, m.name)
        for m, p in zip(meshes, placements, strict=True)
    ]
    check_layout(parts, generic)  # no overlap, on the bed
    hulls = np.vstack([part.placed_hull() for part in parts])
    centre = (hulls.min(axis=0) + hulls.max(axis=0)) / 2
    assert centre == pytest.approx([110, 110], abs=1e-6)


def test_arrange_refuses_what_cannot_fit(generic) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PlateRejected) as caught:
        arrange([box(150, 150, 5, "a"), box(150, 150, 5, "b")], generic)
    assert caught.value.code == "plate_full"


def test_skirt_goes_around_all_parts_and_brim_around_each(generic) -> None:  # type: ignore[no-untyped-def]
    parts = [
        PlatePart(box(10, 10, 2), 90, 110, 0, "a"),
        PlatePart(box(10, 10, 2), 130, 110, 0, "b"),
    ]
    settings = SliceSettings.for_quality("standard", brim_width_mm=3.0, skirt_distance_mm=2.0)
    first = read_layers(build_program(parts, generic, "PLA", settings).gcode)[0]
    skirt = first.points("SKIRT")
    brim = first.points("BRIM")
    assert skirt[:, 0].min() < 85 - 3 - 2 and skirt[:, 0].max() > 135 + 3 + 2
    assert brim[:, 0].min() == pytest.approx(85 - 3, abs=0.3)
    # Brim loops hug each part: none spans the gap between them.
    assert not np.any((brim[:, 0] > 100) & (brim[:, 0] < 120))


def test_settings_the_nozzle_cannot_print_are_refused(generic) -> None:  # type: ignore[no-untyped-def]
    for overrides, word in (
        ({"layer_height_mm": 0.36}, "layer_height_mm 0.36 mm"),
        ({"line_width_mm": 1.2}, "line_width_mm 1.2 mm"),
    ):
        settings = SliceSettings.for_quality("standard", **overrides)
        with pytest.raises(PlateRejected) as caught:
            build_program([PlatePart(box(10, 10, 2), 100, 100)], generic, "PLA", settings)
        assert caught.value.code == "bad_settings"
        assert word in caught.value.reason and "0.4 mm nozzle" in caught.value.reason


def test_object_names_stay_unique_as_the_firmware_reads_them() -> None:
    voron = load_profile("voron-2.4-350")
    parts = [
        PlatePart(box(10, 10, 2), 150, 175, 0, "left cube"),
        PlatePart(box(10, 10, 2), 200, 175, 0, "left_cube"),
    ]
    gcode = build_program(parts, voron, "PLA", SliceSettings.for_quality("standard")).gcode
    names = re.findall(r"^EXCLUDE_OBJECT_DEFINE NAME=(\S+)", gcode, re.M)
    assert len(set(names)) == 2


def test_brims_of_close_parts_do_not_overlap_or_run_under_a_neighbour(generic) -> None:  # type: ignore[no-untyped-def]
    settings = SliceSettings.for_quality("standard", brim_width_mm=5.0, skirt_loops=0)
    alone = read_layers(
        build_program([PlatePart(box(10, 10, 2), 100, 110, 0, "a")], generic, "PLA", settings).gcode
    )[0]
    close = [
        PlatePart(box(10, 10, 2), 100, 110, 0, "a"),
        PlatePart(box(10, 10, 2), 114, 110, 0, "b"),
    ]  # 4 mm apart, brims of 5 mm
    first = read_layers(build_program(close, generic, "PLA", settings).gcode)[0]
    moves = np.array(first.moves["BRIM"])[:, :4]
    t = np.linspace(0.0, 1.0, 11)[:, None, None]
    brim = (moves[None, :, :2] * (1 - t) + moves[None, :, 2:] * t).reshape(-1, 2)
    # No brim under the neighbour: no point of any brim line inside either cube.
    for cx in (100, 114):
        inside = (np.abs(brim[:, 0] - cx) < 5 - 0.1) & (np.abs(brim[:, 1] - 110) < 5 - 0.1)
        assert not inside.any()
    # Less than two full brims: the shared strip between the cubes is laid once.
    single = sum(m[4] for m in alone.moves["BRIM"])
    both = sum(m[4] for m in first.moves["BRIM"])
    assert both < 2 * single * 0.9
