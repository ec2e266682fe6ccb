"""Checks across sections that no single section's model can express.

A material hotter than the hotend may go, ABS offered on an open-frame printer, a
round bed whose origin is a corner: each model section is valid on its own, but
the profile as a whole is not. `profile_problems` lists every such problem as a
(dotted key, reason) pair; the loader turns them into ProfileErrors.
"""

from __future__ import annotations

import re

from firmware_profiles.model import Flavour, Material, Profile, Templates, Transport

Problem = tuple[str, str]

# A G-code word (G1, M104, M862.3) or a Klipper extended command (SET_KINEMATIC_POSITION).
_COMMAND = re.compile(r"^(?:[GMT][0-9]+(?:\.[0-9]+)?|[A-Z_][A-Z0-9_]*)$")
_MATERIAL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._ -]*$")
# Transports that only one firmware speaks.
_TRANSPORT_FLAVOUR = {Transport.MOONRAKER: Flavour.KLIPPER, Transport.BAMBU_LAN: Flavour.BAMBU}


def profile_problems(profile: Profile) -> list[Problem]:
    """Every cross-section inconsistency of a validated profile."""
    problems = _machine_problems(profile) + _transport_problems(profile)
    problems += _safety_problems(profile) + _template_command_problems(profile)
    seen: dict[str, str] = {}
    for name, material in profile.materials.items():
        if name.lower() in seen:
            twin = seen[name.lower()]
            problems.append((f"materials.{name}", f"same as materials.{twin} (names ignore case)"))
        seen[name.lower()] = name
        if not _MATERIAL_NAME.match(name):
            problems.append((f"materials.{name}", "material names are letters, digits and + . _ -"))
        problems += [
            (f"materials.{name}.{key}", reason)
            for key, reason in _material_problems(profile, material)
        ]
    return problems


def _machine_problems(profile: Profile) -> list[Problem]:
    machine, limits = profile.machine, profile.limits
    problems: list[Problem] = []
    if machine.bed_shape == "circle":
        if machine.origin != "center":
            problems.append(("machine.origin", "a circular bed has its origin at the center"))
        if machine.bed_x_mm != machine.bed_y_mm:
            problems.append(
                (
                    "machine.bed_y_mm",
                    "a circular bed's bed_x_mm and bed_y_mm are both "
                    f"its diameter, but they differ ({machine.bed_x_mm} and "
                    f"{machine.bed_y_mm})",
                )
            )
    if not machine.heated_bed and limits.max_bed_c > 0:
        problems.append(
            (
                "limits.max_bed_c",
                "the machine has no heated bed "
                "(machine.heated_bed = false), so max_bed_c must be 0",
            )
        )
    if not machine.heated_chamber and limits.max_chamber_c > 0:
        problems.append(
            (
                "limits.max_chamber_c",
                "the machine has no chamber heater "
                "(machine.heated_chamber = false), so max_chamber_c must be 0",
            )
        )
    if limits.min_extrude_c >= limits.max_hotend_c:
        problems.append(
            (
                "limits.min_extrude_c",
                f"{limits.min_extrude_c} is not below max_hotend_c {limits.max_hotend_c}",
            )
        )
    return problems


def _transport_problems(profile: Profile) -> list[Problem]:
    problems: list[Problem] = []
    needed = _TRANSPORT_FLAVOUR.get(profile.transport)
    if needed is not None and profile.flavour != needed:
        problems.append(
            (
                "transport",
                f"{profile.transport.value} only talks to "
                f"{needed.value} printers, but flavour is {profile.flavour.value}",
            )
        )
    if profile.flavour == Flavour.BAMBU and profile.transport != Transport.BAMBU_LAN:
        problems.append(("transport", "bambu printers are reached over bambu-lan"))
    return problems


def _safety_problems(profile: Profile) -> list[Problem]:
    problems: list[Problem] = []
    owner: dict[str, str] = {}
    for list_name in ("blocked", "operator", "clamped"):
        for index, word in enumerate(getattr(profile.safety, list_name)):
            key = f"safety.{list_name}[{index}]"
            if not _COMMAND.match(word):
                problems.append(
                    (
                        key,
                        f"{word!r} is not a command word: write it upper-case, "
                        "like M500 or SAVE_CONFIG",
                    )
                )
            elif word in owner:
                problems.append(
                    (
                        key,
                        f"{word} is already in safety.{owner[word]}; a command belongs to one list",
                    )
                )
            else:
                owner[word] = list_name
    return problems


def _template_command_problems(profile: Profile) -> list[Problem]:
    """A template must not send what the profile's own safety policy blocks."""
    blocked = set(profile.safety.blocked)
    problems: list[Problem] = []
    for name in Templates.model_fields:
        text: str = getattr(profile.gcode, name)
        for number, line in enumerate(text.splitlines(), start=1):
            words = line.split(";", 1)[0].split()
            if words and words[0].upper() in blocked:
                problems.append(
                    (
                        f"gcode.{name}",
                        f"line {number} sends {words[0].upper()}, which safety.blocked forbids",
                    )
                )
    return problems


def _material_problems(profile: Profile, material: Material) -> list[Problem]:
    limits, machine = profile.limits, profile.machine
    problems: list[Problem] = []
    if material.hotend_max_c > limits.max_hotend_c:
        problems.append(
            (
                "hotend_max_c",
                f"{material.hotend_max_c} is above the printer's "
                f"limits.max_hotend_c {limits.max_hotend_c}",
            )
        )
    if material.hotend_min_c < limits.min_extrude_c:
        problems.append(
            (
                "hotend_min_c",
                f"{material.hotend_min_c} is below limits.min_extrude_c "
                f"{limits.min_extrude_c}: the firmware refuses to extrude that cold",
            )
        )
    if material.bed_max_c > limits.max_bed_c:
        problems.append(
            (
                "bed_max_c",
                f"{material.bed_max_c} is above the printer's limits.max_bed_c {limits.max_bed_c}",
            )
        )
    if material.chamber_c > limits.max_chamber_c:
        problems.append(
            (
                "chamber_c",
                f"{material.chamber_c} needs a chamber heater; the "
                f"printer's limits.max_chamber_c is {limits.max_chamber_c}",
            )
        )
    first_hotend, first_bed = material.first_layer_hotend_c, material.first_layer_bed_c
    if first_hotend is not None and not (
        material.hotend_min_c <= first_hotend <= material.hotend_max_c
    ):
        problems.append(
            (
                "first_layer_hotend_c",
                f"{first_hotend} is outside hotend_min_c.."
                f"hotend_max_c ({material.hotend_min_c}..{material.hotend_max_c})",
            )
        )
    if first_bed is not None and not material.bed_min_c <= first_bed <= material.bed_max_c:
        problems.append(
            (
                "first_layer_bed_c",
                f"{first_bed} is outside bed_min_c..bed_max_c "
                f"({material.bed_min_c}..{material.bed_max_c})",
            )
        )
    if material.needs_enclosure and not machine.enclosed:
        problems.append(
            (
                "needs_enclosure",
                "this material needs an enclosure but the printer "
                "has none (machine.enclosed = false); remove the material from it",
            )
        )
    return problems
