"""What the safety check reports, and the limits it checks against.

A `Violation` names the line, the command word, a stable machine-readable `code`, a
severity and a reason a person can act on ("line 12: M104 S300 sets the hotend to
300 °C but PLA allows at most 230 °C on generic-220"). `SafetyRules` gathers, once per
check, everything the interpreter compares a program with: the profile's bed, height,
temperatures, limits and command lists, the material's ranges, and the firmware
dialect's own always-blocked commands.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from math import isfinite
from typing import Any

from firmware_profiles.gcode.dialects import Dialect
from firmware_profiles.model import Limits, Material, Profile

# How far below Z=0 a move may go before it is a crash into the bed (babystep, Z offset).
BED_CONTACT_TOLERANCE_MM = 0.2
# Findings kept per code; beyond this one summary line counts the rest.
MAX_PER_CODE = 20


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class Code(StrEnum):
    """Stable ids of the findings. Scripts match on these, so never rename one."""

    BLOCKED_COMMAND = "blocked-command"
    OPERATOR_COMMAND = "operator-command"
    CALIBRATION_CHANGE = "calibration-change"
    LIMIT_RAISED = "limit-raised"
    COLD_EXTRUSION_OVERRIDE = "cold-extrusion-override"
    HOTEND_ABOVE_PRINTER_MAX = "hotend-above-printer-max"
    HOTEND_ABOVE_MATERIAL_MAX = "hotend-above-material-max"
    HOTEND_BELOW_MATERIAL_MIN = "hotend-below-material-min"
    BED_ABOVE_PRINTER_MAX = "bed-above-printer-max"
    BED_ABOVE_MATERIAL_MAX = "bed-above-material-max"
    BED_BELOW_MATERIAL_MIN = "bed-below-material-min"
    CHAMBER_ABOVE_PRINTER_MAX = "chamber-above-printer-max"
    COLD_EXTRUSION = "cold-extrusion"
    NO_HEAT_WAIT = "no-heat-wait"
    OUTSIDE_BED = "outside-bed"
    ABOVE_MAX_Z = "above-max-z"
    BELOW_BED = "below-bed"
    EXTRUDE_ONLY_TOO_LONG = "extrude-only-too-long"
    MOVE_BEFORE_HOMING = "move-before-homing"
    COORDINATE_SHIFT = "coordinate-shift"
    INCH_UNITS = "inch-units"
    FEEDRATE_ABOVE_LIMIT = "feedrate-above-limit"
    INVALID_FEEDRATE = "invalid-feedrate"
    INVALID_ARC = "invalid-arc"
    UNREADABLE = "unreadable"
    CHECKSUM_MISMATCH = "checksum-mismatch"
    UNKNOWN_COMMAND = "unknown-command"
    UNSUPPORTED_COMMAND = "unsupported-command"
    UNKNOWN_TOOL = "unknown-tool"
    FAN_ABOVE_MATERIAL_MAX = "fan-above-material-max"


# What each code means, for the README and `--help`: (severity, one line).
CODE_HELP: dict[Code, tuple[Severity, str]] = {
    Code.BLOCKED_COMMAND: (Severity.ERROR, "a command the profile never allows in a job"),
    Code.OPERATOR_COMMAND: (
        Severity.ERROR,
        "a command that waits for a person (warning when the printer is attended)",
    ),
    Code.CALIBRATION_CHANGE: (Severity.ERROR, "changes steps/mm, PID, offsets or currents"),
    Code.LIMIT_RAISED: (
        Severity.ERROR,
        "raises a feedrate, acceleration or jerk limit above the profile",
    ),
    Code.COLD_EXTRUSION_OVERRIDE: (Severity.ERROR, "M302 S/P: allows extruding cold"),
    Code.HOTEND_ABOVE_PRINTER_MAX: (Severity.ERROR, "hotend target above the printer's max"),
    Code.HOTEND_ABOVE_MATERIAL_MAX: (Severity.ERROR, "hotend target above the material's max"),
    Code.HOTEND_BELOW_MATERIAL_MIN: (
        Severity.ERROR,
        "extrudes with the hotend target below the material's min",
    ),
    Code.BED_ABOVE_PRINTER_MAX: (Severity.ERROR, "bed target above the printer's max"),
    Code.BED_ABOVE_MATERIAL_MAX: (Severity.ERROR, "bed target above the material's max"),
    Code.BED_BELOW_MATERIAL_MIN: (
        Severity.WARNING,
        "extrudes with the bed below the material's min",
    ),
    Code.CHAMBER_ABOVE_PRINTER_MAX: (Severity.ERROR, "chamber target above the printer's max"),
    Code.COLD_EXTRUSION: (
        Severity.ERROR,
        "extrudes while the hotend target is below the firmware's minimum extrusion temperature",
    ),
    Code.NO_HEAT_WAIT: (
        Severity.WARNING,
        "extrudes before any wait for the hotend (M109, M116, TEMPERATURE_WAIT)",
    ),
    Code.OUTSIDE_BED: (
        Severity.ERROR,
        "moves beyond the bed (travel margin allowed) or extrudes outside it",
    ),
    Code.ABOVE_MAX_Z: (Severity.ERROR, "moves above the printer's max Z"),
    Code.BELOW_BED: (Severity.ERROR, "drives the nozzle below Z=0 into the bed"),
    Code.EXTRUDE_ONLY_TOO_LONG: (
        Severity.ERROR,
        "an extrude-only move longer than the profile allows",
    ),
    Code.MOVE_BEFORE_HOMING: (Severity.ERROR, "moves an axis before homing it"),
    Code.COORDINATE_SHIFT: (Severity.WARNING, "G92 moves the coordinate system of X, Y or Z"),
    Code.INCH_UNITS: (Severity.WARNING, "G20: inch units"),
    Code.FEEDRATE_ABOVE_LIMIT: (Severity.WARNING, "a feedrate the firmware will clamp"),
    Code.INVALID_FEEDRATE: (Severity.ERROR, "a feedrate of zero or below"),
    Code.INVALID_ARC: (Severity.ERROR, "an arc without a usable centre or radius"),
    Code.UNREADABLE: (Severity.ERROR, "a line no firmware reads as intended"),
    Code.CHECKSUM_MISMATCH: (Severity.ERROR, "a line whose checksum is wrong"),
    Code.UNKNOWN_COMMAND: (Severity.WARNING, "a command this firmware does not know"),
    Code.UNSUPPORTED_COMMAND: (
        Severity.WARNING,
        "a command this printer's firmware has switched off (arcs, firmware retraction, ...)",
    ),
    Code.UNKNOWN_TOOL: (Severity.WARNING, "selects or heats a tool the printer does not have"),
    Code.FAN_ABOVE_MATERIAL_MAX: (Severity.WARNING, "part fan above the material's max"),
}


@dataclass(frozen=True, slots=True)
class Violation:
    """One finding of the safety check."""

    line: int  # 1-based line number in the program
    command: str  # the command word: "M104", "G1", "SAVE_CONFIG"
    code: str  # a `Code` value
    reason: str  # "line 12: M104 S300 sets the hotend to 300 °C but ..."
    severity: Severity = Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "command": self.command,
            "code": self.code,
            "severity": str(self.severity),
            "reason": self.reason,
        }


class ViolationLog:
    """Collects findings; keeps the first `MAX_PER_CODE` of each code and counts the rest."""

    def __init__(self) -> None:
        self._kept: list[Violation] = []
        self._per_code: Counter[str] = Counter()
        self._first_dropped: dict[str, Violation] = {}

    def add(
        self, line: int, command: str, code: Code, reason: str, severity: Severity | None = None
    ) -> None:
        """Record a finding; `reason` is the sentence after "line N: "."""
        level = severity if severity is not None else CODE_HELP[code][0]
        found = Violation(line, command, str(code), f"line {line}: {reason}", level)
        self._per_code[code] += 1
        if self._per_code[code] <= MAX_PER_CODE:
            self._kept.append(found)
        elif code not in self._first_dropped:
            self._first_dropped[code] = found

    def violations(self) -> list[Violation]:
        """Every kept finding in line order, then one summary per code that overflowed."""
        found = sorted(self._kept, key=lambda v: v.line)
        for code, first in self._first_dropped.items():
            more = self._per_code[code] - MAX_PER_CODE
            found.append(
                Violation(
                    first.line,
                    first.command,
                    code,
                    f"line {first.line}: and {more} more {code} finding(s) from this line on "
                    "(only the first of each kind are listed)",
                    first.severity,
                )
            )
        return found


@dataclass(frozen=True, slots=True)
class SafetyRules:
    """Everything a program is checked against, taken from a profile and a material."""

    profile_id: str
    material_name: str
    material: Material
    limits: Limits
    bed: tuple[float, float, float, float]  # min x, min y, max x, max y
    round_bed: bool
    travel_margin_mm: float
    max_z_mm: float
    max_hotend_c: float
    max_bed_c: float
    max_chamber_c: float
    min_extrude_c: float
    max_extrude_only_mm: float
    blocked: frozenset[str]
    operator: frozenset[str]
    calibration: frozenset[str]
    attended: bool
    arcs: bool
    firmware_retraction: bool

    @classmethod
    def build(
        cls, profile: Profile, material_name: str, dialect: Dialect, attended: bool = False
    ) -> SafetyRules:
        """The rules of `profile` for `material_name` (KeyError naming the choices if absent)."""
        material = profile.material(material_name)
        canonical = next(n for n in profile.materials if n.lower() == material_name.lower())
        blocked = frozenset(w.upper() for w in profile.safety.blocked) | dialect.always_blocked
        operator = (
            frozenset(w.upper() for w in profile.safety.operator) | dialect.always_operator
        ) - blocked
        return cls(
            profile_id=profile.id,
            material_name=canonical,
            material=material,
            limits=profile.limits,
            bed=profile.machine.bed_bounds(),
            round_bed=profile.machine.bed_shape == "circle",
            travel_margin_mm=profile.machine.travel_margin_mm,
            max_z_mm=profile.machine.max_z_mm,
            max_hotend_c=profile.limits.max_hotend_c,
            max_bed_c=profile.limits.max_bed_c if profile.machine.heated_bed else 0.0,
            max_chamber_c=profile.limits.max_chamber_c if profile.machine.heated_chamber else 0.0,
            min_extrude_c=profile.limits.min_extrude_c,
            max_extrude_only_mm=profile.limits.max_extrude_only_mm,
            blocked=blocked,
            operator=operator,
            calibration=dialect.calibration - blocked - operator,
            attended=attended,
            arcs=profile.capabilities.arcs,
            firmware_retraction=profile.capabilities.firmware_retraction,
        )

    @property
    def hotend_floor_c(self) -> float:
        """The lowest hotend target extrusion is fine at: the material's and firmware's min."""
        return max(self.min_extrude_c, self.material.hotend_min_c)

    def travel_bounds(self) -> tuple[float, float, float, float, float, float]:
        """min x, max x, min y, max y, min z, max z a move may reach (with the margin)."""
        x0, y0, x1, y1 = self.bed
        margin = self.travel_margin_mm
        return (
            x0 - margin,
            x1 + margin,
            y0 - margin,
            y1 + margin,
            -BED_CONTACT_TOLERANCE_MM,
            self.max_z_mm,
        )

    def inside_bed(self, x: float, y: float, margin: float = 0.0) -> bool:
        """Whether (x, y) is on the bed, widened by `margin`."""
        x0, y0, x1, y1 = self.bed
        if self.round_bed:
            radius = (x1 - x0) / 2 + margin
            return x * x + y * y <= radius * radius
        return x0 - margin <= x <= x1 + margin and y0 - margin <= y <= y1 + margin


def celsius(value: float) -> str:
    """300 -> '300 °C', 212.5 -> '212.5 °C'."""
    return f"{number(value)} °C"


def number(value: float) -> str:
    """A value as a person writes it: 300, 212.5, 0.04."""
    if not isfinite(value):
        return "NaN" if value != value else ("infinity" if value > 0 else "-infinity")
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}" if abs(value) >= 1000 else f"{round(value, 4):g}"
