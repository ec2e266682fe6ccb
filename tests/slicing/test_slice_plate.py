"""Whole plates through the G-code interpreter: safe programs, estimates, PrusaSlicer parity."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from firmware_profiles import list_profiles, load_profile
from firmware_profiles.gcode import check
from slicing import PlatePart, SliceSettings, estimate_part, slice_plate
from tests.slicing.conftest import box

# The reference .ini's settings where they differ from makerfarm's standard PLA.
REFERENCE = {
    "first_layer_line_width_mm": "0.4",
    "top_line_width_mm": "0.4",
    "retract_length_mm": "5",
    "retract_speed": "45",
}


def _prusa_filament_m(models: Path, model: str) -> float:
    """PrusaSlicer's filament figure from the reference table beside the test meshes."""
    table = (models / "SOURCES.md").read_text()
    row = re.search(rf"^\| {model} \|.*?\| ([\d.]+) m, [\d.]+ g \|$", table, re.M)
    assert row, f"no PrusaSlicer figure for {model}"
    return float(row.group(1))


@pytest.fixture(scope="module")
def reference_slices(load_model, generic):  # type: ignore[no-untyped-def]
    settings = SliceSettings.for_quality("standard").with_overrides(REFERENCE)
    results = {}
    for model in ("cube_20mm", "rocker_arm", "benchy", "igea_head"):
        mesh = load_model(f"{model}.stl")
        results[model] = slice_plate(
            [PlatePart(mesh, 110, 110, 0, model)], generic, "PLA", settings
        )
    return results


@pytest.mark.parametrize(
    ("model", "layers"),
    [("cube_20mm", 100), ("rocker_arm", 400), ("benchy", 240), ("igea_head", 497)],
)
def test_interpreter_counts_prusaslicer_layers(reference_slices, model: str, layers: int) -> None:  # type: ignore[no-untyped-def]
    assert reference_slices[model].layers == layers
    assert reference_slices[model].stats.layers == layers


@pytest.mark.parametrize("model", ["cube_20mm", "rocker_arm", "benchy", "igea_head"])
def test_filament_within_ten_percent_of_prusaslicer(
    reference_slices, shared_models, model: str
) -> None:  # type: ignore[no-untyped-def]
    ours_m = reference_slices[model].stats.filament_mm / 1000
    assert ours_m == pytest.approx(_prusa_filament_m(shared_models, model), rel=0.10)


def test_reference_programs_have_no_findings_at_all(reference_slices) -> None:  # type: ignore[no-untyped-def]
    for model, result in reference_slices.items():
        assert result.warnings == [], model


def test_estimates_come_from_the_interpreter(reference_slices, generic) -> None:  # type: ignore[no-untyped-def]
    from firmware_profiles.gcode import analyze

    result = reference_slices["cube_20mm"]
    again = analyze(result.gcode, generic, material="PLA")
    assert result.print_seconds == pytest.approx(again.print_seconds)
    assert result.filament_g == pytest.approx(again.filament_g)
    assert "; estimated printing time (normal mode) = " in result.gcode


def _two_part_plate(profile_id: str) -> tuple[list[PlatePart], str]:
    profile = load_profile(profile_id)
    low_x, low_y, high_x, high_y = profile.machine.bed_bounds()
    cx, cy = (low_x + high_x) / 2, (low_y + high_y) / 2
    parts = [
        PlatePart(box(10, 10, 3, "left"), cx - 15, cy, 0, "left cube", "p1"),
        PlatePart(box(12, 8, 2, "right"), cx + 15, cy, 30, "right cube", "p2"),
    ]
    return parts, profile_id


SHIPPED = [p.id for p in list_profiles() if not p.abstract]


@pytest.mark.parametrize("profile_id", SHIPPED)
def test_every_profile_and_material_gets_a_program_that_passes_its_check(profile_id: str) -> None:
    """Every material of every shipped printer, with supports, brim and Z hop: slice_plate
    refuses any program with an error, and the slicer's own lines raise no warning either."""
    profile = load_profile(profile_id)
    parts, _ = _two_part_plate(profile_id)
    for material in profile.materials:
        settings = SliceSettings.for_quality(
            "standard", material=material, supports=True, brim_width_mm=2.0, z_hop_mm=0.3
        )
        program = slice_plate(parts, profile, material, settings).gcode
        first_body_line = program[: program.index(";LAYER:0")].count("\n") + 1
        last_body_line = program[: program.rindex(";TYPE:CUSTOM")].count("\n") + 1
        findings = [
            v
            for v in check(program, profile, material)
            if first_body_line <= v.line <= last_body_line
        ]
        assert findings == [], (material, findings[:3])


@pytest.mark.parametrize("profile_id", SHIPPED)
def test_two_part_plate_has_two_labelled_objects(profile_id: str) -> None:
    parts, _ = _two_part_plate(profile_id)
    profile = load_profile(profile_id)
    result = slice_plate(parts, profile, "PLA")
    klipper = profile.capabilities.object_cancel == "exclude_object"
    names = ["left_cube", "right_cube"] if klipper else ["left cube", "right cube"]
    assert result.objects == names
    assert result.stats.objects == names
    assert not [w for w in result.warnings if "error" in w.lower()]


def test_an_unsafe_program_is_never_returned(generic) -> None:  # type: ignore[no-untyped-def]
    # A profile copy whose bed is smaller than the purge line of its own start template.
    from slicing import PlateRejected

    small = generic.model_copy(
        update={
            "machine": generic.machine.model_copy(update={"bed_x_mm": 120.0, "bed_y_mm": 120.0})
        }
    )
    with pytest.raises(PlateRejected) as caught:
        slice_plate([PlatePart(box(10, 10, 2), 60, 60)], small, "PLA")
    assert caught.value.code == "unsafe_gcode"
    assert "safety check" in caught.value.reason


def test_progress_is_reported_up_to_done(generic) -> None:  # type: ignore[no-untyped-def]
    seen: list[float] = []
    slice_plate([PlatePart(box(10, 10, 4), 110, 110)], generic, "PLA", progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert seen == sorted(seen)


def test_slice_result_pickles(generic) -> None:  # type: ignore[no-untyped-def]
    result = slice_plate([PlatePart(box(10, 10, 2), 110, 110, 0, "p")], generic, "PLA")
    again = pickle.loads(pickle.dumps(result))
    assert again.gcode == result.gcode
    assert again.print_seconds == result.print_seconds


def test_estimate_part_matches_the_part_on_a_plate(load_model, generic) -> None:  # type: ignore[no-untyped-def]
    cube = load_model("cube_20mm.stl")
    seconds, grams = estimate_part(cube, generic, "PLA")
    plate = slice_plate([PlatePart(cube, 110, 110, 0, "cube")], generic, "PLA")
    # The plate adds the start template's purge and the skirt; the estimate's infill may sit
    # at another phase of the pattern (it is planned once, then moved onto each bed).
    assert grams == pytest.approx(plate.filament_g, rel=0.06)
    assert seconds == pytest.approx(plate.print_seconds, rel=0.06)


def test_estimates_for_several_printers_reuse_one_plan(load_model) -> None:  # type: ignore[no-untyped-def]
    from slicing import estimate

    rocker = load_model("rocker_arm.stl")
    estimate._PLANS.clear()
    first = estimate_part(rocker, load_profile("prusa-mk4"), "PLA")
    estimate_part(rocker, load_profile("generic-220"), "PLA")
    assert len(estimate._PLANS) == 1
    again = estimate_part(rocker, load_profile("prusa-mk4"), "PLA")
    assert again == first
    # Moving the plan onto another bed changes nothing but the position.
    estimate._PLANS.clear()
    assert estimate_part(rocker, load_profile("prusa-mk4"), "PLA") == pytest.approx(first)
