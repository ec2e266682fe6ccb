"""The safety check beyond the hostile corpus: warnings, dedup, attended printers, other
profiles, and what a finding looks like."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_profiles import Profile, list_profiles, load_profile, render_template, template_values
from firmware_profiles.gcode import Severity, Violation, check
from firmware_profiles.gcode.safety import MAX_PER_CODE

READY = "G90\nM82\nG28\nM140 S60\nM104 S210\nM190 S60\nM109 S210\nG92 E0\nG1 Z0.2 F3000\n"


@pytest.fixture(scope="module")
def generic() -> Profile:
    return load_profile("generic-220")


def findings(
    program: str, profile: Profile, material: str = "PLA", **options: bool
) -> list[tuple[str, int]]:
    return [(v.code, v.line) for v in check(program, profile, material, **options)]


def test_a_ready_printer_printing_on_the_bed_raises_nothing(generic: Profile) -> None:
    program = READY + "G1 X10 Y10 F6000\nG1 X200 Y10 E10 F1200\nG1 X200 Y200 E20\n"
    assert check(program, generic, "PLA") == []


def test_extruding_before_waiting_for_the_hotend_is_a_warning(generic: Profile) -> None:
    program = "G90\nM82\nG28\nM190 S60\nM104 S210\nG1 X10 Y10 Z0.2\nG1 X50 E2\nG1 X90 E4\n"
    violations = check(program, generic, "PLA")
    assert [(v.code, v.line, v.severity) for v in violations] == [
        ("no-heat-wait", 7, Severity.WARNING)
    ]


def test_cold_extrusion_is_reported_once_per_heater_state(generic: Profile) -> None:
    cold = "".join(f"G1 X{10 + i} Y10 E{i}\n" for i in range(1, 30))
    again = "".join(f"G1 X{10 + i} Y10 E{i}\n" for i in range(30, 60))
    program = "G90\nM82\nG28\nM190 S60\nG1 Z0.2\n" + cold + "M109 S210\nM104 S0\n" + again
    codes = findings(program, generic)
    assert [c for c in codes if c[0] == "cold-extrusion"] == [
        ("cold-extrusion", 6),
        ("cold-extrusion", 37),
    ]


def test_a_feedrate_above_the_printer_is_a_warning(generic: Profile) -> None:
    violations = check(READY + "G1 X100 Y100 F60000\n", generic, "PLA")
    assert [(v.code, v.severity) for v in violations] == [
        ("feedrate-above-limit", Severity.WARNING)
    ]


def test_lowering_limits_is_fine_and_equal_ones_too(generic: Profile) -> None:
    program = READY + "M201 X500 Y500 Z100 E5000\nM203 X300 Y300\nM204 P500 R1000 T500\n"
    assert check(program, generic, "PLA") == []


def test_a_nozzle_touching_the_bed_is_not_a_crash_but_pressing_into_it_is(
    generic: Profile,
) -> None:
    assert findings(READY + "G1 Z-0.1\n", generic) == []
    assert findings(READY + "G1 Z-0.5\n", generic) == [("below-bed", 10)]


def test_a_thousand_excursions_are_a_few_findings(generic: Profile) -> None:
    program = READY + "G1 X300 Y100\nG1 X10\n" * 1000
    assert findings(program, generic) == [("outside-bed", 10)]


def test_findings_beyond_the_cap_are_summarised(generic: Profile) -> None:
    program = READY + "".join("M500\n" for _ in range(MAX_PER_CODE + 5))
    violations = check(program, generic, "PLA")
    assert len(violations) == MAX_PER_CODE + 1
    assert violations[-1].reason == (
        f"line {10 + MAX_PER_CODE}: and 5 more blocked-command finding(s) from this line on "
        "(only the first of each kind are listed)"
    )


def test_operator_commands_are_warnings_when_someone_attends(generic: Profile) -> None:
    attended = check(READY + "M600\n", generic, "PLA", attended=True)
    assert [(v.code, v.severity) for v in attended] == [("operator-command", Severity.WARNING)]


def test_unknown_commands_are_warnings(generic: Profile) -> None:
    violations = check(READY + "M9999\nPRINT_START BED=60\n", generic, "PLA")
    assert [(v.code, v.line, v.severity) for v in violations] == [
        ("unknown-command", 10, Severity.WARNING),
        ("unknown-command", 11, Severity.WARNING),
    ]
    assert "Klipper command" in violations[1].reason


def test_firmware_features_switched_off_are_warnings() -> None:
    klipper = load_profile("voron-2.4-350")
    program = READY.replace("M109 S210", "M109 S240") + "G1 X10 Y10\nG2 X30 Y10 I10 J0 E1\n"
    material = next(iter(klipper.materials))
    codes = {v.code: v.severity for v in check(program, klipper, material)}
    if not klipper.capabilities.arcs:
        assert codes.get("unsupported-command") is Severity.WARNING


def test_a_round_bed_is_checked_as_a_circle() -> None:
    delta = load_profile("anycubic-kossel-linear-plus")
    start = READY.replace("G1 Z0.2 F3000\n", "G1 Z0.2 F3000\nG1 X0 Y0\n")
    assert findings(start + "G1 X80 Y80 E5\n", delta) == []  # 113 mm out: on a 115 mm radius
    assert findings(start + "G1 X100 Y100 E5\n", delta) == [("outside-bed", 11)]


def test_an_unknown_material_names_the_profiles_materials(generic: Profile) -> None:
    with pytest.raises(KeyError, match="it runs: PETG, PLA, TPU"):
        check(READY, generic, "unobtainium")


def test_violation_to_dict_is_plain_json_data(generic: Profile) -> None:
    violation = check(READY + "M500\n", generic, "PLA")[0]
    assert isinstance(violation, Violation)
    assert violation.to_dict() == {
        "line": 10,
        "command": "M500",
        "code": "blocked-command",
        "severity": "error",
        "reason": "line 10: M500 writes the current settings to EEPROM, making every change of "
        "this program permanent; generic-220 never takes it in a print job",
    }


@pytest.mark.parametrize("profile", list_profiles(), ids=lambda profile: profile.id)
def test_every_shipped_profile_checks_the_reference_cube(
    profile: Profile, shared_reference: Path
) -> None:
    text = (shared_reference / "gcode" / "cube_20mm_prusa.gcode").read_text()
    material = "PLA" if "PLA" in profile.materials else next(iter(profile.materials))
    violations = check(text, profile, material)
    assert all(v.reason.startswith(f"line {v.line}: ") for v in violations)


def test_the_start_sequence_may_purge_in_the_travel_margin(generic: Profile) -> None:
    intro = READY + "G1 Y-3 F1000\nG1 X60 E9\n;LAYER_CHANGE\nG1 X10 Y10\n"
    assert findings(intro, generic) == []
    late = READY + ";LAYER_CHANGE\nG1 Y-3 F1000\nG1 X60 E9\n"
    assert findings(late, generic) == [("outside-bed", 12)]


def test_a_klipper_start_macro_homes() -> None:
    voron = load_profile("voron-2.4-350")
    program = "M190 S60\nM104 S210\nPRINT_START\nM109 S210\nG1 X10 Y10 Z0.3 F6000\n"
    assert findings(program, voron) == []


@pytest.mark.parametrize("profile", list_profiles(), ids=lambda profile: profile.id)
def test_every_profiles_own_templates_pass_around_a_small_print(profile: Profile) -> None:
    for material in profile.materials:
        values = template_values(profile, material)
        x0, y0, x1, y1 = profile.machine.bed_bounds()
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        second = "E1" if profile.capabilities.relative_extrusion else "E2"
        body = (
            f";LAYER_CHANGE\nG1 Z0.2 F600\nG1 X{cx - 10} Y{cy - 10} F6000\n"
            f"G1 X{cx + 10} Y{cy - 10} E1 F1200\nG1 X{cx + 10} Y{cy + 10} {second}\n"
        )
        program = "\n".join(
            [
                render_template(profile.gcode.start, values),
                body,
                render_template(profile.gcode.end, values),
            ]
        )
        assert check(program, profile, material) == [], material


def test_a_second_tool_is_refused_and_the_first_stays_active(generic: Profile) -> None:
    violations = check(READY + "T1\nG1 X10 Y10\nG1 X50 E2\n", generic, "PLA")
    assert [(v.code, v.severity) for v in violations] == [("unknown-tool", Severity.WARNING)]


def test_waiting_for_a_cold_hotend_is_no_wait_for_heat(generic: Profile) -> None:
    program = "G90\nM82\nG28\nM190 S60\nM109 S0\nM104 S210\nG1 X10 Y10 Z0.2\nG1 X50 E2\n"
    assert findings(program, generic) == [("no-heat-wait", 8)]
