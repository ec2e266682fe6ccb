"""Start, end and cancel templates: `{placeholder}` fields, checked and filled."""

from __future__ import annotations

import pytest

from firmware_profiles import (
    PLACEHOLDERS,
    TemplateError,
    Templates,
    check_template,
    load_profile,
    render_template,
    template_values,
)


def test_documented_placeholders_match_the_model_docstring() -> None:
    documented = Templates.__doc__ or ""
    assert all("{" + name + "}" in documented for name in PLACEHOLDERS)


def test_pla_start_template_gets_the_first_layer_temperatures() -> None:
    profile = load_profile("generic-220")
    rendered = render_template(profile.gcode.start, template_values(profile, "pla"))
    assert "M190 S60\n" in rendered and "M109 S210\n" in rendered


def test_numbers_are_written_plainly_and_format_specs_are_honoured() -> None:
    values = {"park_z": 12.5, "park_x": 0.0, "material": "PETG", "hotend_c": 240.0}
    assert render_template("G1 X{park_x} Z{park_z}", values) == "G1 X0 Z12.5"
    assert render_template("G1 Z{park_z:.2f} ; {material}", values) == "G1 Z12.50 ; PETG"
    assert render_template("M104 S{hotend_c}", {"hotend_c": 239.96}) == "M104 S239.96"


def test_literal_braces_are_doubled() -> None:
    assert render_template("RESPOND MSG={{ready}} T={hotend_c}", {"hotend_c": 200}) == (
        "RESPOND MSG={ready} T=200"
    )


def test_unknown_placeholder_names_the_known_ones() -> None:
    with pytest.raises(TemplateError) as caught:
        render_template("M104 S{temperature}", {"temperature": 200})
    assert "{temperature}" in str(caught.value) and "{hotend_c}" in str(caught.value)


def test_placeholder_without_a_value_is_an_error() -> None:
    with pytest.raises(TemplateError) as caught:
        render_template("M140 S{bed_c}\nM104 S{hotend_c}", {"hotend_c": 200})
    assert "{bed_c}" in str(caught.value)


@pytest.mark.parametrize(
    "template",
    ["M104 S{", "M104 S}", "M104 S{}", "G1 X{park_x!r}", "G1 X{park_x:%%}", "G1 X{park_x.real}"],
)
def test_malformed_templates_are_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        check_template(template)


def test_template_values_use_the_plate_area_and_park_position() -> None:
    profile = load_profile("prusa-mk3s")
    values = template_values(profile, "PETG", print_bounds=(10, 20, 110, 120), park=(0, 200, 60))
    assert values["first_layer_hotend_c"] == 230 and values["hotend_c"] == 240
    assert (values["print_min_x"], values["print_max_y"]) == (10, 120)
    assert (values["park_x"], values["park_y"], values["park_z"]) == (0, 200, 60)
    assert values["material"] == "PETG"
    end = render_template(profile.gcode.end, values)
    assert "G1 Z60 F720" in end and "G1 X0 Y200 F3600" in end


def test_template_values_for_an_unknown_material_list_the_choices() -> None:
    with pytest.raises(KeyError) as caught:
        template_values(load_profile("generic-220"), "ABS")
    assert "PLA" in str(caught.value)
