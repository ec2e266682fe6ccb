"""G-code templates with `{placeholder}` fields: the documented set, checking and rendering.

A profile's start, end, cancel, pause and resume G-code are templates. A field in
braces is replaced by a value when the slicer or the agent renders the template;
`{{` and `}}` write literal braces. A field may carry a format spec
(`{park_z:.1f}`); without one, numbers are written plainly (`60`, `0.3`).
Only the placeholders in `PLACEHOLDERS` exist: any other name is an error when
the profile is loaded, long before a print reaches the printer.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from firmware_profiles.model import Profile

# name -> what it is. The Templates docstring in model.py lists the same set.
PLACEHOLDERS: Mapping[str, str] = {
    "hotend_c": "printing temperature of the material, C",
    "bed_c": "bed temperature of the material, C",
    "first_layer_hotend_c": "first-layer hotend temperature (hotend_c when not set), C",
    "first_layer_bed_c": "first-layer bed temperature (bed_c when not set), C",
    "chamber_c": "chamber temperature of the material, C (0: no chamber heating)",
    "material": "material name as the profile lists it, e.g. PLA",
    "bed_x_mm": "bed width, mm",
    "bed_y_mm": "bed depth, mm",
    "max_z_mm": "highest printable Z, mm",
    "print_min_x": "front-left X of the printed area on this plate, mm",
    "print_min_y": "front-left Y of the printed area on this plate, mm",
    "print_max_x": "back-right X of the printed area on this plate, mm",
    "print_max_y": "back-right Y of the printed area on this plate, mm",
    "park_x": "X where the head parks at the end, mm",
    "park_y": "Y where the head parks at the end, mm",
    "park_z": "Z where the head parks at the end, mm",
}
_TEXT_PLACEHOLDERS = frozenset({"material"})


class TemplateError(ValueError):
    """A template is malformed, names an unknown placeholder, or lacks a value."""


def template_fields(template: str) -> list[tuple[str, str]]:
    """The (placeholder, format spec) pairs of a template, in order of appearance."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(
            f"malformed template: {exc}; write literal braces as {{{{ and }}}}"
        ) from exc
    fields: list[tuple[str, str]] = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name == "":
            raise TemplateError("empty placeholder {}; name one of: " + _known())
        if conversion:
            raise TemplateError(f"placeholder {{{name}!{conversion}}}: conversions are not allowed")
        if name not in PLACEHOLDERS:
            raise TemplateError(f"unknown placeholder {{{name}}}; known placeholders: {_known()}")
        if spec and "{" in spec:
            raise TemplateError(f"placeholder {{{name}}}: nested fields in a format spec")
        fields.append((name, spec or ""))
    return fields


def check_template(template: str) -> None:
    """Raise TemplateError if the template could not be rendered with documented values."""
    for name, spec in template_fields(template):
        sample: object = "PLA" if name in _TEXT_PLACEHOLDERS else 0.0
        try:
            format(sample, spec)
        except ValueError as exc:
            raise TemplateError(f"placeholder {{{name}:{spec}}}: bad format spec ({exc})") from exc


def render_template(template: str, values: Mapping[str, object]) -> str:
    """Fill a template's placeholders from `values` (extra values are ignored).

    Raises TemplateError for an unknown placeholder or one without a value.
    """
    fields = template_fields(template)
    missing = sorted({name for name, _spec in fields if name not in values})
    if missing:
        raise TemplateError("no value given for " + ", ".join(f"{{{m}}}" for m in missing))
    pieces: list[str] = []
    for literal, name, spec, _conversion in string.Formatter().parse(template):
        pieces.append(literal)
        if name is not None:
            pieces.append(_format_value(name, values[name], spec or ""))
    return "".join(pieces)


def template_values(
    profile: Profile,
    material: str,
    *,
    print_bounds: tuple[float, float, float, float] | None = None,
    park: tuple[float, float, float] | None = None,
) -> dict[str, object]:
    """Every documented placeholder's value for printing `material` on `profile`.

    `print_bounds` is (min_x, min_y, max_x, max_y) of what the plate prints (the
    whole bed when not given); `park` is where the head goes at the end (by
    default the back-left corner, at the top of the printable volume).
    """
    chosen = profile.material(material)
    name = next(key for key in profile.materials if key.lower() == material.lower())
    machine = profile.machine
    bed_min_x, bed_min_y, bed_max_x, bed_max_y = machine.bed_bounds()
    min_x, min_y, max_x, max_y = print_bounds or (bed_min_x, bed_min_y, bed_max_x, bed_max_y)
    park_x, park_y, park_z = park or (bed_min_x, bed_max_y, machine.max_z_mm)
    first_hotend = chosen.first_layer_hotend_c
    first_bed = chosen.first_layer_bed_c
    return {
        "hotend_c": chosen.hotend_c,
        "bed_c": chosen.bed_c,
        "first_layer_hotend_c": chosen.hotend_c if first_hotend is None else first_hotend,
        "first_layer_bed_c": chosen.bed_c if first_bed is None else first_bed,
        "chamber_c": chosen.chamber_c,
        "material": name,
        "bed_x_mm": machine.bed_x_mm,
        "bed_y_mm": machine.bed_y_mm,
        "max_z_mm": machine.max_z_mm,
        "print_min_x": min_x,
        "print_min_y": min_y,
        "print_max_x": max_x,
        "print_max_y": max_y,
        "park_x": park_x,
        "park_y": park_y,
        "park_z": park_z,
    }


def _format_value(name: str, value: object, spec: str) -> str:
    if spec:
        try:
            return format(value, spec)
        except (TypeError, ValueError) as exc:
            raise TemplateError(f"placeholder {{{name}:{spec}}}: cannot format {value!r}") from exc
    if isinstance(value, bool):
        raise TemplateError(f"placeholder {{{name}}}: expected a number or text, got {value!r}")
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def _known() -> str:
    return ", ".join("{" + name + "}" for name in PLACEHOLDERS)
