"""The reference programs: estimates match PrusaSlicer's and every program passes the check.

PrusaSlicer 2.5 wrote its own estimate and filament length at the end of each
`*_prusa.gcode`; the README of the shared reference lists the layer counts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from firmware_profiles import Profile, load_profile
from firmware_profiles.gcode import ProgramStats, Severity, Violation, analyze_and_check
from tests.firmware_profiles.hostile.corpus import profile_for

Results = dict[str, tuple[str, ProgramStats, list[Violation]]]
PRUSA = {"benchy_prusa": 240, "cube_20mm_prusa": 100, "rocker_arm_prusa": 400}
CURA = ["benchy_cura", "cube_20mm_cura"]


def prusa_figures(text: str) -> tuple[float, float]:
    """(seconds, filament mm) PrusaSlicer wrote at the end of its program."""
    tail = text[-60_000:]
    when = re.search(r"; estimated printing time \(normal mode\) = (.*)", tail)
    used = re.search(r"; filament used \[mm\] = ([0-9.]+)", tail)
    assert when is not None and used is not None
    seconds = 0.0
    for value, unit in re.findall(r"(\d+)([dhms])", when.group(1)):
        seconds += int(value) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[unit]
    return seconds, float(used.group(1))


@pytest.fixture(scope="module")
def generic() -> Profile:
    return load_profile("generic-220")


@pytest.fixture(scope="module")
def results(shared_reference: Path, generic: Profile) -> Results:
    found = {}
    for name in [*PRUSA, *CURA]:
        text = (shared_reference / "gcode" / f"{name}.gcode").read_text()
        stats, violations = analyze_and_check(text, generic, "PLA")
        found[name] = (text, stats, violations)
    return found


@pytest.mark.parametrize("name", PRUSA)
def test_time_estimate_is_within_ten_percent_of_prusaslicer(name: str, results: Results) -> None:
    text, stats, _ = results[name]
    seconds, _ = prusa_figures(text)
    assert stats.print_seconds == pytest.approx(seconds, rel=0.10)


@pytest.mark.parametrize("name", PRUSA)
def test_filament_is_within_one_percent_of_prusaslicer(name: str, results: Results) -> None:
    text, stats, _ = results[name]
    _, filament_mm = prusa_figures(text)
    assert stats.filament_mm == pytest.approx(filament_mm, rel=0.01)
    assert stats.start_sequence_filament_mm == pytest.approx(30.0)  # the purge line


@pytest.mark.parametrize("name", PRUSA)
def test_layers_are_counted_as_prusaslicer_counts_them(name: str, results: Results) -> None:
    _, stats, _ = results[name]
    assert stats.layers == PRUSA[name]
    assert stats.per_layer[0].z_mm == pytest.approx(0.2)
    assert all(layer.height_mm == pytest.approx(0.2) for layer in stats.per_layer)
    assert sum(layer.filament_mm for layer in stats.per_layer) == pytest.approx(
        stats.filament_mm, rel=0.01
    )


@pytest.mark.parametrize("name", [*PRUSA, *CURA])
def test_reference_program_passes_the_check_for_pla_on_generic_220(
    name: str, results: Results
) -> None:
    _, _, violations = results[name]
    assert [v for v in violations if v.severity is Severity.ERROR] == []


def test_cube_extrusion_box_is_the_cube_and_its_skirt(results: Results) -> None:
    _, stats, _ = results["cube_20mm_prusa"]
    box = stats.extrusion_box
    assert box is not None
    # The purge line runs at X=2..2.4, Y=20..200; the cube sits at the bed's centre.
    assert (box.min_x, box.max_x) == pytest.approx((2.0, 123.5), abs=0.5)
    assert (box.min_y, box.max_y) == pytest.approx((20.0, 200.0), abs=0.01)
    assert box.max_z == pytest.approx(20.0, abs=0.01)


def test_benchy_statistics_describe_a_normal_print(results: Results) -> None:
    _, stats, _ = results["benchy_prusa"]
    assert stats.lines == 122935
    assert stats.filament_g == pytest.approx(12.87, rel=0.01)
    assert stats.max_travel_feedrate_mm_s == pytest.approx(120.0)
    assert stats.max_extrude_feedrate_mm_s == pytest.approx(60.0)
    assert stats.travel_mm > 0 and stats.extrude_mm > stats.travel_mm
    assert [(t.heater, t.celsius, t.wait) for t in stats.temperatures[:2]] == [
        ("bed", 60.0, True),
        ("hotend", 210.0, True),
    ]
    assert stats.heatup_seconds > 60


def test_cura_program_counts_its_mesh_as_an_object(results: Results) -> None:
    _, stats, _ = results["benchy_cura"]
    assert len(stats.objects) == 1 and stats.objects[0].endswith("benchy.stl")
    assert stats.layers == 240


FLAVOURS = [
    ("prusa_marlin2", "generic-220"),
    ("prusa_marlin_legacy", "generic-220"),
    ("prusa_marlin2+fw_retract+relE+limits", "generic-220"),
    ("prusa_reprapfirmware", "generic-220-rrf"),
    ("prusa_reprapfirmware+fw_retract+relE+limits", "generic-220-rrf"),
]


@pytest.mark.parametrize(("name", "profile_id"), FLAVOURS)
def test_each_flavour_is_read_in_its_own_dialect(
    name: str, profile_id: str, shared_reference: Path
) -> None:
    text = (shared_reference / "gcode" / "flavours" / f"{name}.gcode").read_text()
    stats, violations = analyze_and_check(text, profile_for(profile_id), "PLA")
    seconds, filament_mm = prusa_figures(text)
    assert stats.print_seconds == pytest.approx(seconds, rel=0.02)
    assert stats.filament_mm == pytest.approx(filament_mm, rel=0.001)
    assert [v for v in violations if v.severity is Severity.ERROR] == []


def test_cura_end_gcode_would_pull_the_filament_out_on_reprapfirmware(
    shared_reference: Path,
) -> None:
    # Cura's end G-code is `G91` then `G1 E-2` with M82 in force. Marlin's G91 makes E
    # relative too (retract 2 mm); RepRapFirmware's does not: E goes to -2 from 1274.8.
    text = (shared_reference / "gcode" / "flavours" / "cura_reprap_RRF.gcode").read_text()
    on_marlin = analyze_and_check(text, profile_for("generic-220"), "PLA")[1]
    on_rrf = analyze_and_check(text, profile_for("generic-220-rrf"), "PLA")[1]
    assert [v for v in on_marlin if v.severity is Severity.ERROR] == []
    assert [(v.code, v.line) for v in on_rrf] == [("extrude-only-too-long", 8482)]
    assert "G1 E-2 F2700 pulls back 1277 mm of filament" in on_rrf[0].reason
