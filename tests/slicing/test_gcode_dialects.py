"""The G-code each firmware gets: labels, retraction, extrusion mode, progress, comments."""

from __future__ import annotations

import re

import pytest

from firmware_profiles import load_profile
from slicing import PlatePart, SliceSettings
from slicing.plate import build_program
from tests.slicing.conftest import box
from tests.slicing.gcode_reading import read_layers


def _two_parts(profile_id: str, **overrides):  # type: ignore[no-untyped-def]
    profile = load_profile(profile_id)
    low_x, low_y, high_x, high_y = profile.machine.bed_bounds()
    cx, cy = (low_x + high_x) / 2, (low_y + high_y) / 2
    parts = [
        PlatePart(box(10, 10, 3, "left"), cx - 15, cy, 0, "left cube", "p1"),
        PlatePart(box(12, 8, 2, "right"), cx + 15, cy, 30, "right cube", "p2"),
    ]
    settings = SliceSettings.for_quality("standard", **overrides)
    return build_program(parts, profile, "PLA", settings).gcode


def test_klipper_plate_defines_and_labels_each_object() -> None:
    gcode = _two_parts("voron-2.4-350")
    defines = re.findall(r"^EXCLUDE_OBJECT_DEFINE NAME=(\S+) CENTER=\S+ POLYGON=\[\[", gcode, re.M)
    assert defines == ["left_cube", "right_cube"]
    assert gcode.count("EXCLUDE_OBJECT_START NAME=left_cube") == 15
    assert gcode.count("EXCLUDE_OBJECT_START NAME=right_cube") == 10
    assert gcode.count("EXCLUDE_OBJECT_START") == gcode.count("EXCLUDE_OBJECT_END")


def test_klipper_uses_firmware_retraction_and_relative_e() -> None:
    gcode = _two_parts("voron-2.4-350")
    body = gcode.split(";LAYER:0", 1)[1]
    assert re.search(r"^G10$", body, re.M) and re.search(r"^G11$", body, re.M)
    assert not re.search(r"^G1 E-", body, re.M)
    assert re.search(r"^M83$", gcode, re.M)


def test_marlin_m486_labels_and_m73_progress_on_prusa_mk4() -> None:
    gcode = _two_parts("prusa-mk4")
    assert re.search(r"^M486 T2$", gcode, re.M)
    assert re.search(r'^M486 S0 A"left cube"$', gcode, re.M)
    assert re.search(r'^M486 S1 A"right cube"$', gcode, re.M)
    starts = re.findall(r"^M486 S(\d)$", gcode, re.M)
    assert starts.count("0") == 15 and starts.count("1") == 10
    progress = [int(p) for p in re.findall(r"^M73 P(\d+) R\d+$", gcode, re.M)]
    assert progress[0] == 0 and progress == sorted(progress)


def test_reprapfirmware_sets_later_temperatures_with_g10() -> None:
    profile = load_profile("ratrig-vcore3-300")
    material = profile.material("PLA")
    gcode = _two_parts("ratrig-vcore3-300", hotend_c=None)
    if material.first_layer_hotend_c not in (None, material.hotend_c):
        assert re.search(rf"^G10 P0 S{material.hotend_c:g} R{material.hotend_c:g}$", gcode, re.M)
    layers = gcode.split(";LAYER:0", 1)[1].rsplit(";TYPE:CUSTOM", 1)[0]
    assert not re.search(r"^M104 ", layers, re.M)
    assert re.search(r"^M486 S0$", gcode, re.M)


def test_generic_marlin_without_cancel_support_marks_objects_in_comments(generic) -> None:  # type: ignore[no-untyped-def]
    gcode = _two_parts("generic-220")
    assert "; printing object left cube" in gcode
    assert "M486" not in gcode and "M73" not in gcode
    assert re.search(r"^M82$", gcode, re.M)
    # Absolute E is reset on every layer so the numbers stay small.
    assert gcode.count("G92 E0") >= 15


def test_every_layer_and_feature_is_commented(generic) -> None:  # type: ignore[no-untyped-def]
    gcode = _two_parts("generic-220")
    assert re.findall(r"^;LAYER:(\d+)$", gcode, re.M) == [str(i) for i in range(15)]
    kinds = set(re.findall(r"^;TYPE:(\S+)$", gcode, re.M))
    assert {"SKIRT", "WALL-OUTER", "WALL-INNER", "SKIN", "TOP-SKIN", "CUSTOM"} <= kinds


def test_start_template_gets_the_material_temperatures(generic) -> None:  # type: ignore[no-untyped-def]
    gcode = _two_parts("generic-220")
    assert "M190 S60\nM109 S210\n" in gcode  # generic-220 PLA: first layer 210, bed 60
    assert re.search(r"^M104 S205$", gcode, re.M)  # back to 205 after the first layer


def test_retraction_and_z_hop_on_long_travel(generic) -> None:  # type: ignore[no-untyped-def]
    gcode = _two_parts("generic-220", retract_length_mm=1.5, z_hop_mm=0.4)
    body = gcode.split(";LAYER:2\n", 1)[1].split(";LAYER:3\n", 1)[0]  # printed at z = 0.6
    hops = re.findall(
        r"^G1 E(-?[\d.]+) F2100\nG1 Z1\.000 F600\n(?:M10[67][^\n]*\n)?G0 X[\d.]+ Y[\d.]+ F7200\n"
        r"(?:; printing object [^\n]+\n)?G1 Z0\.600 F600\nG1 E([\d.]+) F2100$",
        body,
        re.M,
    )
    assert len(hops) >= 2  # the layer change and the jump between the two parts
    for retracted, restored in hops:
        assert float(restored) - float(retracted) == pytest.approx(1.5)


def test_fan_is_off_on_the_first_layer_and_full_for_short_layers(generic) -> None:  # type: ignore[no-untyped-def]
    gcode = _two_parts("generic-220")
    layer0 = gcode.split(";LAYER:0\n", 1)[1].split(";LAYER:1\n", 1)[0]
    layer1 = gcode.split(";LAYER:1\n", 1)[1].split(";LAYER:2\n", 1)[0]
    assert "M106" not in layer0
    assert "M106 S255" in layer1  # PLA on generic-220: fan 100 %


def test_short_layers_are_slowed_down_to_the_minimum_layer_time(generic) -> None:  # type: ignore[no-untyped-def]
    tiny = box(5, 5, 5, "tiny")
    settings = SliceSettings.for_quality("standard", slowdown_below_layer_s=10.0, skirt_loops=0)
    gcode = build_program([PlatePart(tiny, 110, 110, 0, "tiny")], generic, "PLA", settings).gcode
    layers = read_layers(gcode)
    layer = gcode.split(";LAYER:10\n", 1)[1].split(";LAYER:11\n", 1)[0]
    feeds = [int(f) for f in re.findall(r"^G1 F(\d+)$", layer, re.M)]
    assert max(feeds) < 60 * settings.inner_wall_speed
    assert min(feeds) >= 60 * settings.min_print_speed - 1
    assert layers[10].extruded_mm() > 0


@pytest.mark.parametrize(
    "profile_id",
    [
        "generic-220",
        "voron-2.4-350",
        "prusa-mk4",
        "ratrig-vcore3-300",
        "bambu-p1s",
        "creality-ender3-v2",
        "anycubic-kossel-linear-plus",
    ],
)
def test_every_profile_gets_a_program_inside_its_bed(profile_id: str) -> None:
    profile = load_profile(profile_id)
    gcode = _two_parts(profile_id)
    body = gcode.split(";LAYER:0", 1)[1]
    xs = [float(x) for x in re.findall(r"X(-?[\d.]+)", body)]
    ys = [float(y) for y in re.findall(r"Y(-?[\d.]+)", body)]
    low_x, low_y, high_x, high_y = profile.machine.bed_bounds()
    assert low_x <= min(xs) and max(xs) <= high_x
    assert low_y <= min(ys) and max(ys) <= high_y
