"""How programs are read: modes per firmware, coordinates, arcs, labels, layers, and the
fast path agreeing with the careful one."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_profiles import Flavour, Profile, load_profile
from firmware_profiles.gcode import ProgramStats, analyze
from firmware_profiles.gcode.api import interpret, stats_of
from tests.firmware_profiles.hostile.corpus import Case, cases, profile_for

START = "G90\nM82\nG28\nG1 Z0.2 F3000\n"


def stats(program: str, profile: Profile | None = None) -> ProgramStats:
    return analyze(program, profile, planner="python")


def on(flavour: Flavour) -> Profile:
    return load_profile("generic-220").model_copy(update={"flavour": flavour})


@pytest.mark.parametrize(
    ("flavour", "filament"),
    [
        # M83 then G90: Marlin 2 makes E absolute again; Marlin 1, Klipper and RRF keep M83.
        (Flavour.MARLIN2, 5.0),
        (Flavour.MARLIN, 7.0),
        (Flavour.KLIPPER, 7.0),
        (Flavour.REPRAPFIRMWARE, 7.0),
    ],
)
def test_g90_after_m83_follows_each_firmware(flavour: Flavour, filament: float) -> None:
    program = START + "M83\nG1 X10 Y10 E2\nG90\nG1 X20 Y10 E5\n"
    assert stats(program, on(flavour)).filament_mm == pytest.approx(filament)


@pytest.mark.parametrize(
    ("flavour", "filament"),
    [(Flavour.MARLIN2, 3.0), (Flavour.KLIPPER, 3.0), (Flavour.REPRAPFIRMWARE, 2.0)],
)
def test_g91_makes_e_relative_except_on_reprapfirmware(flavour: Flavour, filament: float) -> None:
    # Absolute E at 2, then G91: "E1" is one more mm, except on RRF where it means E=1.
    program = START + "G1 X10 Y10 E2\nG91\nG1 X10 E1\n"
    assert stats(program, on(flavour)).filament_mm == pytest.approx(filament)


def test_g92_e0_restarts_the_e_count_without_using_filament() -> None:
    program = START + "G1 X10 Y10 E5\nG92 E0\nG1 X20 Y10 E5\n"
    assert stats(program).filament_mm == pytest.approx(10.0)


def test_retraction_is_not_filament_used() -> None:
    program = START + "G1 X10 Y10 E5\nG1 E3\nG1 X20 E5\nG1 X30 E7\n"
    assert stats(program).filament_mm == pytest.approx(7.0)


def test_flow_factor_scales_the_filament() -> None:
    program = START + "M221 S150\nG1 X10 Y10 E4\n"
    assert stats(program).filament_mm == pytest.approx(6.0)


def test_g92_shift_is_tracked_to_the_machine_position() -> None:
    program = START + "G1 X100 Y100 E1\nG92 X0 Y0\nG1 X10 Y10 E2\n"
    box = stats(program).extrusion_box
    assert box is not None and (box.max_x, box.max_y) == (110.0, 110.0)


def test_homing_clears_the_g92_shift() -> None:
    program = START + "G92 X50\nG28 X\nG1 X10 Y10 E1\n"
    box = stats(program).extrusion_box
    assert box is not None and box.max_x == 10.0


def test_inches_are_converted_to_millimetres() -> None:
    program = START + "G20\nG1 X1 Y1 F10\nG1 X2 Y1 E0.1\n"
    result = stats(program)
    assert result.filament_mm == pytest.approx(2.54)
    assert result.extrusion_box is not None and result.extrusion_box.max_x == pytest.approx(50.8)


def test_an_arc_counts_its_length_and_its_bulge() -> None:
    # A half circle of radius 10 around (50, 50), counter-clockwise from below to above.
    program = START + "G1 X50 Y40 F3000\nG3 X50 Y60 I0 J10 E3 F1200\n"
    result = stats(program)
    assert result.extrude_mm == pytest.approx(3.14159 * 10, rel=0.002)
    assert result.extrusion_box is not None
    assert result.extrusion_box.max_x == pytest.approx(60.0, abs=0.01)
    assert result.filament_mm == pytest.approx(3.0)


def test_a_full_circle_with_r_reads_like_i_j() -> None:
    by_ij = stats(START + "G1 X40 Y50 F3000\nG2 X60 Y50 I10 J0 E1\n").extrude_mm
    by_r = stats(START + "G1 X40 Y50 F3000\nG2 X60 Y50 R10 E1\n").extrude_mm
    assert by_ij == pytest.approx(by_r) == pytest.approx(3.14159 * 10, rel=0.002)


def test_object_labels_of_each_firmware_are_collected() -> None:
    program = (
        START
        + 'M486 T2\nM486 S0 A"left"\nM486 S1\nM486 A"right"\nM486 S-1\n'
        + "; printing object cube.stl id:0 copy 0\n"
        + "EXCLUDE_OBJECT_DEFINE NAME=bracket CENTER=10,10\n"
    )
    assert stats(program, on(Flavour.KLIPPER)).objects == [
        "left",
        "right",
        "cube.stl id:0 copy 0",
        "bracket",
    ]


def test_temperature_commands_are_listed_with_their_heater() -> None:
    program = START + "M140 S60\nM104 T0 S200\nM109 R210\nM190 S60\nG10 P0 S215 R180\n"
    listed = [
        (t.command, t.heater, t.celsius, t.wait)
        for t in stats(program, on(Flavour.REPRAPFIRMWARE)).temperatures
    ]
    assert listed == [
        ("M140", "bed", 60.0, False),
        ("M104", "hotend", 200.0, False),
        ("M109", "hotend", 210.0, True),
        ("M190", "bed", 60.0, True),
        ("G10", "hotend", 215.0, False),
        ("G10", "hotend", 180.0, False),
    ]


def test_layers_before_the_first_marker_are_the_start_sequence() -> None:
    body = "G1 Z0.3\nG1 X10 Y10 E5\n;LAYER_CHANGE\nG1 Z0.2\nG1 X20 Y10 E6\nG1 Z0.4\nG1 X30 E7\n"
    result = stats(START + body)
    assert result.layers == 2
    assert [layer.z_mm for layer in result.per_layer] == [0.2, 0.4]
    assert result.start_sequence_filament_mm == pytest.approx(5.0)
    assert result.filament_mm == pytest.approx(2.0)


def test_without_markers_every_extruding_height_is_a_layer() -> None:
    body = "G1 X10 Y10 E1\nG1 Z0.4\nG1 X20 E2\nG1 Z5 F600\nG1 X0\nG1 Z0.6\nG1 X30 E3\n"
    result = stats(START + body)
    assert [(layer.z_mm, layer.height_mm) for layer in result.per_layer] == [
        (0.2, 0.2),
        (0.4, 0.2),
        (0.6, 0.2),
    ]


def test_analysis_without_a_profile_needs_no_homing() -> None:
    result = stats("G1 X10 Y10 Z0.2 F3000\nG1 X20 E1\n")
    assert result.flavour == "marlin2" and result.filament_mm == pytest.approx(1.0)
    assert result.filament_g is None


def test_density_comes_from_the_material_or_is_given() -> None:
    program = START + "G1 X10 Y10 E100\n"
    profile = load_profile("generic-220")
    by_material = analyze(program, profile, material="PETG", planner="python")
    given = analyze(program, density_g_cm3=1.0, planner="python")
    assert by_material.filament_g is not None and given.filament_g is not None
    assert by_material.filament_g == pytest.approx(given.filament_g * 1.27)


def _summary(text: str, profile: Profile, material: str, fast: bool) -> tuple[object, ...]:
    run = interpret(text, profile, material, planner="python", fast_path=fast)
    result = stats_of(run, profile, material, None).to_dict()
    return result, [(v.line, v.code, v.reason) for v in run.log.violations()]


@pytest.mark.parametrize("case", cases()[::4], ids=lambda case: case.name)
def test_fast_and_careful_paths_agree_on_hostile_programs(case: Case) -> None:
    profile = profile_for(case.profile_id)
    assert _summary(case.text, profile, "PLA", True) == _summary(case.text, profile, "PLA", False)


def test_fast_and_careful_paths_agree_on_a_reference_program(shared_reference: Path) -> None:
    text = (
        shared_reference / "gcode" / "flavours" / "prusa_marlin2+fw_retract+relE+limits.gcode"
    ).read_text()
    profile = load_profile("generic-220")
    assert _summary(text, profile, "PLA", True) == _summary(text, profile, "PLA", False)


def test_a_huge_arc_costs_a_bounded_number_of_chords() -> None:
    program = START + "G1 X100 Y100 F3000\n" + "G2 X100 Y100 I100000 J0\n" * 20
    result = stats(program)
    assert result.moves <= 20 * 2_000 + 10
