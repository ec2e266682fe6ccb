"""The shipped profiles: every one loads, and generic-220 is the reference printer."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_profiles import (
    PACKAGED_DIR,
    Profile,
    list_profiles,
    load_profile,
    load_profiles_dir,
    render_template,
    template_values,
)


def read_prusa_ini(path: Path) -> dict[str, str]:
    """PrusaSlicer's `key = value` lines; for per-mode lists (`500,500`) the first value."""
    settings: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("#") or " = " not in line:
            continue
        key, value = line.split(" = ", 1)
        settings[key.strip()] = value.strip()
    return settings


def first(settings: dict[str, str], key: str) -> float:
    return float(settings[key].split(",")[0].rstrip("%"))


@pytest.fixture(scope="module")
def reference(shared_reference: Path) -> dict[str, str]:
    return read_prusa_ini(shared_reference / "prusa_generic220_pla.ini")


@pytest.fixture(scope="module")
def generic() -> Profile:
    return load_profile("generic-220")


def test_every_shipped_profile_loads_and_validates() -> None:
    profiles = load_profiles_dir(PACKAGED_DIR)
    assert [p.id for p in profiles] == [p.id for p in list_profiles()]
    assert "generic-220" in [p.id for p in profiles]
    assert all(not p.abstract for p in profiles)


def test_generic_220_bed_matches_the_reference(generic: Profile, reference: dict[str, str]) -> None:
    corners = [tuple(float(v) for v in c.split("x")) for c in reference["bed_shape"].split(",")]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    assert generic.machine.bed_bounds() == (min(xs), min(ys), max(xs), max(ys))
    assert generic.machine.max_z_mm == first(reference, "max_print_height")
    assert generic.machine.nozzle_diameter_mm == first(reference, "nozzle_diameter")
    assert generic.machine.filament_diameter_mm == first(reference, "filament_diameter")
    assert generic.flavour.value == reference["gcode_flavor"]


def test_generic_220_machine_limits_match_the_reference(
    generic: Profile, reference: dict[str, str]
) -> None:
    limits = generic.limits
    for axis in "xyze":
        assert getattr(limits.max_feedrate_mm_s, axis) == first(
            reference, f"machine_max_feedrate_{axis}"
        )
        assert getattr(limits.max_acceleration_mm_s2, axis) == first(
            reference, f"machine_max_acceleration_{axis}"
        )
        assert getattr(limits.max_jerk_mm_s, axis) == first(reference, f"machine_max_jerk_{axis}")
    assert limits.max_acceleration_extruding_mm_s2 == first(
        reference, "machine_max_acceleration_extruding"
    )
    assert limits.max_acceleration_retracting_mm_s2 == first(
        reference, "machine_max_acceleration_retracting"
    )
    assert limits.max_acceleration_travel_mm_s2 == first(
        reference, "machine_max_acceleration_travel"
    )


def test_generic_220_pla_matches_the_reference(generic: Profile, reference: dict[str, str]) -> None:
    pla = generic.material(reference["filament_type"])
    assert pla.hotend_c == first(reference, "temperature")
    assert pla.first_layer_hotend_c == first(reference, "first_layer_temperature")
    assert pla.bed_c == first(reference, "bed_temperature")
    assert pla.first_layer_bed_c == first(reference, "first_layer_bed_temperature")
    assert pla.density_g_cm3 == first(reference, "filament_density")


def test_start_template_renders_the_reference_start_gcode_for_pla(
    generic: Profile, reference: dict[str, str]
) -> None:
    rendered = render_template(generic.gcode.start, template_values(generic, "PLA"))
    expected = (
        reference["start_gcode"]
        .replace("\\n", "\n")
        .replace("[first_layer_bed_temperature]", "60")
        .replace("[first_layer_temperature]", "210")
    )
    assert rendered.strip() == expected
    assert "M190 S60\nM109 S210\n" in rendered


def test_end_template_is_the_reference_end_gcode(
    generic: Profile, reference: dict[str, str]
) -> None:
    rendered = render_template(generic.gcode.end, template_values(generic, "PLA"))
    assert rendered.strip() == reference["end_gcode"].replace("\\n", "\n")
