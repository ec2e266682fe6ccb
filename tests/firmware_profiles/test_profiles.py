"""The shipped profiles: every one loads, and generic-220 is the reference printer."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_profiles import (
    PACKAGED_DIR,
    Flavour,
    ObjectCancel,
    Profile,
    Transport,
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


def test_at_least_eight_printers_ship_and_every_real_one_cites_its_source() -> None:
    profiles = list_profiles()
    assert len(profiles) >= 8
    real = [p for p in profiles if p.id != "generic-220"]
    assert all(p.url.startswith("https://") for p in real), [p.id for p in real if not p.url]


def test_every_flavour_has_a_shipped_printer() -> None:
    assert {p.flavour for p in list_profiles()} == set(Flavour)


def test_base_profiles_are_abstract_and_printers_inherit_from_them() -> None:
    bases = {
        "marlin2-base",
        "klipper-base",
        "reprapfirmware-base",
        "prusa-buddy-base",
        "bambu-base",
    }
    ids = {p.id for p in list_profiles()}
    assert not bases & ids
    assert all(p.inherits in bases for p in list_profiles())


def test_enclosure_materials_are_offered_only_by_enclosed_printers() -> None:
    for profile in list_profiles():
        for name, material in profile.materials.items():
            if material.needs_enclosure:
                assert profile.machine.enclosed, f"{profile.id} offers {name}"
    assert "ABS" in load_profile("voron-2.4-350").materials
    assert "ABS" not in load_profile("generic-220").materials


def test_delta_printer_has_a_round_bed_centred_on_the_origin() -> None:
    kossel = load_profile("anycubic-kossel-linear-plus")
    assert kossel.machine.bed_shape == "circle"
    assert kossel.machine.bed_bounds() == (-115.0, -115.0, 115.0, 115.0)


def test_klipper_printer_cancels_objects_with_exclude_object_over_moonraker() -> None:
    voron = load_profile("voron-2.4-350")
    assert voron.transport == Transport.MOONRAKER
    assert voron.capabilities.object_cancel == ObjectCancel.EXCLUDE_OBJECT
    assert "SAVE_CONFIG" in voron.safety.blocked and "FIRMWARE_RESTART" in voron.safety.blocked


def test_every_template_of_every_printer_renders_for_every_material() -> None:
    for profile in list_profiles():
        for material in profile.materials:
            values = template_values(profile, material)
            for name, text in profile.gcode.model_dump().items():
                rendered = render_template(text, values)
                assert "{" not in rendered, f"{profile.id} gcode.{name}"


def test_shipped_safety_policies_block_eeprom_writes_and_firmware_updates() -> None:
    for profile in list_profiles():
        if profile.flavour != Flavour.KLIPPER:
            assert {"M500", "M997"} <= set(profile.safety.blocked), profile.id
