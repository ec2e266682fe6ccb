"""The interpreter's public face: `analyze`, `check` and `analyze_and_check`.

    stats = analyze(program, profile)                       # statistics and time estimate
    violations = check(program, profile, "PLA")             # the safety check only
    stats, violations = analyze_and_check(program, profile, "PLA")   # one pass, both

`program` is text or bytes (UTF-8, optionally gzip-compressed), or the `Path` of a file
holding them, which is read a piece at a time: memory stays bounded whatever the file's
size, and the result is the same as for its text. Unreadable input raises
`UnreadableProgram` (naming the file). An unknown material raises KeyError naming the
profile's materials.
`check` returns errors and warnings; a program is fit to print when no violation has
severity "error".
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

from firmware_profiles.gcode.commands import command_table
from firmware_profiles.gcode.dialects import dialect_for
from firmware_profiles.gcode.heat_clock import HeatClock
from firmware_profiles.gcode.interpreter import Interpreter, Planner
from firmware_profiles.gcode.motion_limits import MotionLimits
from firmware_profiles.gcode.planner import MotionPlanner
from firmware_profiles.gcode.safety import SafetyRules, Severity, Violation
from firmware_profiles.gcode.source import decode_program, open_program
from firmware_profiles.gcode.stats import Box, ProgramStats, filament_volume_mm3
from firmware_profiles.model import Flavour, Profile

PlannerChoice = Literal["auto", "python", "numpy"]
Program = str | bytes | Path  # text, its bytes, or a file read a piece at a time
DEFAULT_FILAMENT_DIAMETER_MM = 1.75


def analyze(
    program: Program,
    profile: Profile | None = None,
    *,
    material: str | None = None,
    density_g_cm3: float | None = None,
    planner: PlannerChoice = "auto",
) -> ProgramStats:
    """Statistics and time estimate of `program` on `profile` (Marlin 2 defaults without
    one). The filament weight needs a density: `density_g_cm3`, or `material` of the
    profile."""
    run = interpret(program, profile, None, planner=planner)
    return stats_of(run, profile, material, density_g_cm3)


def check(
    program: Program, profile: Profile, material: str, *, attended: bool = False
) -> list[Violation]:
    """Every error and warning of `program` on `profile` with `material`, in line order.
    `attended`: someone stands by the printer, so operator commands are warnings."""
    run = interpret(program, profile, material, planner=None, attended=attended)
    return _reported(run)


def analyze_and_check(
    program: Program,
    profile: Profile,
    material: str,
    *,
    attended: bool = False,
    density_g_cm3: float | None = None,
    planner: PlannerChoice = "auto",
) -> tuple[ProgramStats, list[Violation]]:
    """`analyze` and `check` in one pass over the text."""
    run = interpret(program, profile, material, planner=planner, attended=attended)
    return stats_of(run, profile, material, density_g_cm3), _reported(run)


def numpy_available() -> bool:
    return importlib.util.find_spec("numpy") is not None


def make_planner(limits: MotionLimits, choice: PlannerChoice = "auto") -> Planner:
    """The numpy planner where numpy is installed (or asked for), else pure Python."""
    if choice == "numpy" or (choice == "auto" and numpy_available()):
        from firmware_profiles.gcode.planner_numpy import NumpyMotionPlanner

        return NumpyMotionPlanner(limits)
    return MotionPlanner(limits)


def interpret(
    program: Program,
    profile: Profile | None,
    material: str | None,
    *,
    planner: PlannerChoice | None,
    attended: bool = False,
    fast_path: bool = True,
) -> Interpreter:
    """Run `program` and return the interpreter itself (for tools and tests): checked
    when `material` is given, timed when `planner` is given. `fast_path=False` reads every
    line the careful way."""
    dialect = dialect_for(profile.flavour if profile is not None else Flavour.MARLIN2)
    rules = None
    if material is not None:
        if profile is None:
            raise ValueError("checking a program needs a profile as well as a material")
        rules = SafetyRules.build(profile, material, dialect, attended)
    motion = None
    clock = None
    if planner is not None:
        limits = (
            MotionLimits.from_profile(profile.limits, dialect.separate_travel_acceleration)
            if profile is not None
            else MotionLimits.marlin_defaults()
        )
        motion = make_planner(limits, planner)
        clock = HeatClock()
    run = Interpreter(dialect, rules, motion, command_table(dialect), clock, fast_path)
    if isinstance(program, Path):
        run.run_file(open_program(program))
    else:
        run.run(decode_program(program))
    return run


def _reported(run: Interpreter) -> list[Violation]:
    return [v for v in run.log.violations() if v.severity is not Severity.INFO]


def stats_of(
    run: Interpreter, profile: Profile | None, material: str | None, density: float | None
) -> ProgramStats:
    """The statistics of a finished, timed run."""
    assert run.planner is not None
    totals = run.planner.totals
    diameter = (
        profile.machine.filament_diameter_mm
        if profile is not None
        else DEFAULT_FILAMENT_DIAMETER_MM
    )
    if density is None and profile is not None and material is not None:
        density = profile.material(material).density_g_cm3
    filament_mm = run.state.e_filament_max - run.start_sequence_filament_mm
    volume = filament_volume_mm3(filament_mm, diameter)
    box = None
    if totals.min_x <= totals.max_x:
        box = Box(
            totals.min_x, totals.min_y, totals.min_z, totals.max_x, totals.max_y, totals.max_z
        )
    per_layer = run.layers.layers()
    return ProgramStats(
        lines=run.lines,
        layers=len(per_layer),
        per_layer=per_layer,
        extrusion_box=box,
        filament_mm=filament_mm,
        filament_volume_mm3=volume,
        filament_g=volume / 1000.0 * density if density is not None else None,
        print_seconds=totals.seconds + run.dwell_seconds,
        heatup_seconds=run.heat_clock.seconds if run.heat_clock is not None else 0.0,
        dwell_seconds=run.dwell_seconds,
        objects=list(run.objects),
        travel_mm=totals.travel_mm,
        extrude_mm=totals.extrude_mm,
        max_extrude_feedrate_mm_s=totals.max_extrude_feedrate_mm_s,
        max_travel_feedrate_mm_s=totals.max_travel_feedrate_mm_s,
        temperatures=list(run.temperatures),
        moves=totals.blocks,
        flavour=run.dialect.flavour.value,
        planner="numpy" if type(run.planner).__name__.startswith("Numpy") else "python",
        start_sequence_filament_mm=run.start_sequence_filament_mm,
    )
