"""The G-code interpreter every part shares: read a program in a firmware's dialect,
check it against a profile's safety limits, and estimate its time and filament.

    from firmware_profiles import load_profile
    from firmware_profiles.gcode import analyze, analyze_and_check, check

    profile = load_profile("generic-220")
    stats = analyze(program, profile, material="PLA")
    violations = check(program, profile, "PLA")
    stats, violations = analyze_and_check(program, profile, "PLA")
    stats, violations = analyze_and_check(Path("plate.gcode"), profile, "PLA")  # any size

Pure Python (numpy only speeds up the time estimate where it is installed), so the agent
on a Raspberry Pi re-checks every program it is sent.
"""

from firmware_profiles.gcode.api import analyze, analyze_and_check, check, make_planner
from firmware_profiles.gcode.safety import CODE_HELP, Code, Severity, Violation
from firmware_profiles.gcode.source import (
    ProgramFile,
    UnreadableProgram,
    decode_program,
    open_program,
    read_program,
)
from firmware_profiles.gcode.stats import (
    Box,
    LayerStats,
    ProgramStats,
    TemperatureCommand,
    format_duration,
)

__all__ = [
    "CODE_HELP",
    "Box",
    "Code",
    "LayerStats",
    "ProgramFile",
    "ProgramStats",
    "Severity",
    "TemperatureCommand",
    "UnreadableProgram",
    "Violation",
    "analyze",
    "analyze_and_check",
    "check",
    "decode_program",
    "format_duration",
    "make_planner",
    "open_program",
    "read_program",
]
