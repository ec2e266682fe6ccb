"""How each firmware reads the commands where firmwares disagree.

The same line means different things on different printers. `G90` after `M83` makes E
absolute again on Marlin 2 but not on Marlin 1 or Klipper; RepRapFirmware never lets
G90/G91 touch E. `M203` is mm/s on Marlin and mm/min on RepRapFirmware. `G10 P0 S215`
sets a tool temperature on RepRapFirmware and is a firmware retraction elsewhere.
Klipper adds extended commands (`SET_VELOCITY_LIMIT`). A `Dialect` records these
differences once, so the interpreter asks it instead of testing flavours everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from firmware_profiles.model import Flavour


class ExtruderModeRule(StrEnum):
    """How G90/G91 and M82/M83 combine into E's absolute or relative mode."""

    LAST_WINS = "last-wins"  # Marlin 2: G90/G91 set every axis incl. E; M82/M83 then set E
    EITHER_RELATIVE = "either-relative"  # Marlin 1, Klipper: E relative after G91 or M83
    M82_M83_ONLY = "m82-m83-only"  # RepRapFirmware: G90/G91 never change E


@dataclass(frozen=True, slots=True)
class Dialect:
    flavour: Flavour
    extruder_mode: ExtruderModeRule
    g10_sets_temperature: bool  # RRF: `G10 P<tool> S<active> R<standby>`
    feedrate_limits_per_minute: bool  # M203 values in mm/min (RRF) instead of mm/s
    separate_travel_acceleration: bool  # M204 T is a travel acceleration (not legacy Marlin)
    extended_commands: bool  # Klipper: `SET_FAN_SPEED FAN=... SPEED=...`
    # Commands this firmware never gets in a print job, whatever the profile lists.
    always_blocked: frozenset[str]
    # Commands that stop the print until a person acts, whatever the profile lists.
    always_operator: frozenset[str]
    # Commands that change the machine's calibration; none belongs in a sliced job.
    calibration: frozenset[str]
    # Macros that by convention home every axis (Klipper's start macros); the firmware
    # refuses moves on unhomed axes anyway, so a macro that does not home fails safely.
    homing_macros: frozenset[str] = frozenset()
    # Macros that by convention end a print (retract, heaters off, park).
    end_macros: frozenset[str] = frozenset()


_MARLIN_BLOCKED = frozenset({"M112", "M500", "M502", "M997", "M999"})
_MARLIN_OPERATOR = frozenset({"M0", "M1", "M600"})
_MARLIN_CALIBRATION = frozenset(
    {
        "M92",
        "M206",
        "M301",
        "M303",
        "M304",
        "M428",
        "M665",
        "M666",
        "M851",
        "M906",
        "M907",
        "M913",
        "M914",
        "M350",
    }
)
_KLIPPER_BLOCKED = frozenset(
    {
        "M112",
        "SAVE_CONFIG",
        "FIRMWARE_RESTART",
        "RESTART",
        "SET_KINEMATIC_POSITION",
        "FORCE_MOVE",
        "PID_CALIBRATE",
    }
)
_KLIPPER_OPERATOR = frozenset({"M0", "M1", "M600", "PAUSE"})
_KLIPPER_CALIBRATION = frozenset(
    {
        "SET_TMC_CURRENT",
        "SET_STEPPER_ENABLE",
        "SET_GCODE_OFFSET",
        "Z_OFFSET_APPLY_PROBE",
        "Z_OFFSET_APPLY_ENDSTOP",
        "SET_ROTATION_DISTANCE",
    }
)
_RRF_BLOCKED = frozenset({"M112", "M500", "M502", "M997", "M999", "M98", "M30", "M32"})
_RRF_OPERATOR = frozenset({"M0", "M1", "M226", "M291", "M600"})
_RRF_CALIBRATION = frozenset(
    {"M92", "M206", "M301", "M303", "M307", "M350", "M558", "M665", "M666", "M906", "M913", "M915"}
)


def _marlin(flavour: Flavour, rule: ExtruderModeRule, travel: bool) -> Dialect:
    return Dialect(
        flavour=flavour,
        extruder_mode=rule,
        g10_sets_temperature=False,
        feedrate_limits_per_minute=False,
        separate_travel_acceleration=travel,
        extended_commands=False,
        always_blocked=_MARLIN_BLOCKED,
        always_operator=_MARLIN_OPERATOR,
        calibration=_MARLIN_CALIBRATION,
    )


DIALECTS: dict[Flavour, Dialect] = {
    Flavour.MARLIN: _marlin(Flavour.MARLIN, ExtruderModeRule.EITHER_RELATIVE, travel=False),
    Flavour.MARLIN2: _marlin(Flavour.MARLIN2, ExtruderModeRule.LAST_WINS, travel=True),
    Flavour.PRUSA_BUDDY: _marlin(Flavour.PRUSA_BUDDY, ExtruderModeRule.LAST_WINS, travel=True),
    Flavour.BAMBU: _marlin(Flavour.BAMBU, ExtruderModeRule.LAST_WINS, travel=True),
    Flavour.KLIPPER: Dialect(
        flavour=Flavour.KLIPPER,
        extruder_mode=ExtruderModeRule.EITHER_RELATIVE,
        g10_sets_temperature=False,
        feedrate_limits_per_minute=False,
        separate_travel_acceleration=False,
        extended_commands=True,
        always_blocked=_KLIPPER_BLOCKED,
        always_operator=_KLIPPER_OPERATOR,
        calibration=_KLIPPER_CALIBRATION,
        homing_macros=frozenset({"PRINT_START", "START_PRINT", "G32"}),
        end_macros=frozenset({"PRINT_END", "END_PRINT"}),
    ),
    Flavour.REPRAPFIRMWARE: Dialect(
        flavour=Flavour.REPRAPFIRMWARE,
        extruder_mode=ExtruderModeRule.M82_M83_ONLY,
        g10_sets_temperature=True,
        feedrate_limits_per_minute=True,
        separate_travel_acceleration=True,
        extended_commands=False,
        always_blocked=_RRF_BLOCKED,
        always_operator=_RRF_OPERATOR,
        calibration=_RRF_CALIBRATION,
    ),
}


def dialect_for(flavour: Flavour | str) -> Dialect:
    """The dialect of a profile's flavour."""
    return DIALECTS[Flavour(flavour)]


def extruder_relative(rule: ExtruderModeRule, g91: bool, e_mode: str) -> bool:
    """Whether E values are relative, given the last G90/G91 and the E mode.

    `e_mode` is "relative" or "absolute" when M83/M82 came after the last G90/G91
    (or, for RRF, at all), and "follow" when the last mode command was G90/G91.
    """
    if rule is ExtruderModeRule.LAST_WINS:
        return g91 if e_mode == "follow" else e_mode == "relative"
    if rule is ExtruderModeRule.EITHER_RELATIVE:
        return g91 or e_mode == "relative"
    return e_mode == "relative"
