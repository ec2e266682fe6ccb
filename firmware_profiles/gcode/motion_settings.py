"""Commands that change motion limits and overrides: M201, M203, M204, M205, M566,
Klipper's SET_VELOCITY_LIMIT, and the M220 speed / M221 flow factors.

Lowering a limit is fine (slicers emit the machine's limits at the start); raising one
above the profile is `limit-raised`. Either way the time estimate plans with what the
firmware would then use.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from firmware_profiles.gcode.lexer import Command
from firmware_profiles.gcode.motion_limits import AXES
from firmware_profiles.gcode.safety import Code, number
from firmware_profiles.model import Flavour

if TYPE_CHECKING:
    from firmware_profiles.gcode.interpreter import Handler, Interpreter

_TOLERANCE = 1e-6  # a value equal to the profile's (after unit conversion) is not a raise


def _axis_values(command: Command, factor: float = 1.0) -> dict[str, float]:
    values = {}
    for axis in AXES:
        value = command.number(axis.upper())
        if value is not None and value > 0:
            values[axis] = value * factor
    return values


def _check(
    run: Interpreter,
    command: Command,
    line: int,
    what: str,
    value: float,
    allowed: float | None,
    unit: str,
) -> None:
    rules = run.rules
    if rules is None or allowed is None:
        return
    if value > allowed * (1 + _TOLERANCE):
        run.report(
            line,
            command.word,
            Code.LIMIT_RAISED,
            f"{command.brief()} raises the {what} to {number(value)} {unit}, above "
            f"{rules.profile_id}'s {number(allowed)} {unit}",
        )


def _profile_axes(run: Interpreter, name: str) -> dict[str, float] | None:
    if run.rules is None:
        return None
    values = getattr(run.rules.limits, name)
    return {axis: getattr(values, axis) for axis in AXES}


def max_acceleration(run: Interpreter, command: Command, line: int) -> None:
    """M201 X Y Z E: per-axis maximum acceleration, mm/s²."""
    values = _axis_values(command)
    allowed = _profile_axes(run, "max_acceleration_mm_s2")
    for axis, value in values.items():
        _check(
            run,
            command,
            line,
            f"{axis.upper()} acceleration",
            value,
            allowed[axis] if allowed else None,
            "mm/s²",
        )
    if run.limits is not None and values:
        run.set_limits(run.limits.with_axes("max_acceleration", values))


def max_feedrate(run: Interpreter, command: Command, line: int) -> None:
    """M203 X Y Z E: per-axis maximum feedrate, mm/s (mm/min on RepRapFirmware)."""
    factor = 1 / 60 if run.dialect.feedrate_limits_per_minute else 1.0
    values = _axis_values(command, factor)
    allowed = _profile_axes(run, "max_feedrate_mm_s")
    for axis, value in values.items():
        _check(
            run,
            command,
            line,
            f"{axis.upper()} feedrate",
            value,
            allowed[axis] if allowed else None,
            "mm/s",
        )
    if run.limits is not None and values:
        run.set_limits(run.limits.with_axes("max_feedrate", values))


def acceleration(run: Interpreter, command: Command, line: int) -> None:
    """M204: P printing, R retracting, T travel; S sets printing and travel (legacy
    Marlin, where T then is the retraction). Klipper takes S, or the smaller of P and T."""
    dialect = run.dialect
    s, p, r, t = (command.number(letter) for letter in "SPRT")
    extruding = retracting = travel = None
    if dialect.extended_commands:  # Klipper: one acceleration for every move
        value = s if s is not None else (min(p, t) if p is not None and t is not None else None)
        extruding = retracting = travel = value
    elif s is not None:
        extruding = travel = s
        retracting = t
    else:
        extruding, retracting = p, r
        travel = t if dialect.separate_travel_acceleration else None
    rules = run.rules
    if rules is not None:
        limits = rules.limits
        for what, value, allowed in (
            ("printing acceleration", extruding, limits.max_acceleration_extruding_mm_s2),
            ("retraction acceleration", retracting, limits.max_acceleration_retracting_mm_s2),
            ("travel acceleration", travel, limits.max_acceleration_travel_mm_s2),
        ):
            if value is not None:
                _check(run, command, line, what, value, allowed, "mm/s²")
    if run.limits is not None:
        run.set_limits(run.limits.with_accelerations(extruding, retracting, travel))


def jerk(run: Interpreter, command: Command, line: int) -> None:
    """M205 X Y Z E (jerk, mm/s), S/T minimum feedrates (Marlin)."""
    values = _axis_values(command)
    _apply_jerk(run, command, line, values)
    limits = run.limits
    if limits is not None and run.dialect.flavour is not Flavour.REPRAPFIRMWARE:
        s, t = command.number("S"), command.number("T")
        if s is not None or t is not None:
            run.set_limits(
                replace(
                    limits,
                    min_extruding_feedrate=s if s is not None else limits.min_extruding_feedrate,
                    min_travel_feedrate=t if t is not None else limits.min_travel_feedrate,
                )
            )


def jerk_per_minute(run: Interpreter, command: Command, line: int) -> None:
    """M566 X Y Z E: RepRapFirmware's jerk, mm/min."""
    _apply_jerk(run, command, line, _axis_values(command, 1 / 60))


def _apply_jerk(run: Interpreter, command: Command, line: int, values: dict[str, float]) -> None:
    allowed = _profile_axes(run, "max_jerk_mm_s")
    for axis, value in values.items():
        _check(
            run,
            command,
            line,
            f"{axis.upper()} jerk",
            value,
            allowed[axis] if allowed else None,
            "mm/s",
        )
    if run.limits is not None and values:
        run.set_limits(run.limits.with_axes("jerk", values))


def velocity_limit(run: Interpreter, command: Command, line: int) -> None:
    """Klipper SET_VELOCITY_LIMIT VELOCITY= ACCEL= SQUARE_CORNER_VELOCITY=."""
    numbers: dict[str, float] = {}
    for key in ("VELOCITY", "ACCEL", "SQUARE_CORNER_VELOCITY", "ACCEL_TO_DECEL"):
        raw = command.strings.get(key)
        if raw is None:
            continue
        try:
            numbers[key] = float(raw)
        except ValueError:
            run.report(
                line,
                command.word,
                Code.UNREADABLE,
                f"{command.brief()}: {key}={raw!r} is not a number",
            )
    rules = run.rules
    if rules is not None:
        limits = rules.limits
        top_speed = max(limits.max_feedrate_mm_s.x, limits.max_feedrate_mm_s.y)
        top_accel = max(
            limits.max_acceleration_extruding_mm_s2, limits.max_acceleration_travel_mm_s2
        )
        corner = limits.square_corner_velocity_mm_s or limits.max_jerk_mm_s.x
        for key, what, allowed, unit in (
            ("VELOCITY", "velocity", top_speed, "mm/s"),
            ("ACCEL", "acceleration", top_accel, "mm/s²"),
            ("ACCEL_TO_DECEL", "acceleration", top_accel, "mm/s²"),
            ("SQUARE_CORNER_VELOCITY", "square corner velocity", corner, "mm/s"),
        ):
            if key in numbers:
                _check(run, command, line, what, numbers[key], allowed, unit)
    planned = run.limits
    if planned is not None:
        if "VELOCITY" in numbers and numbers["VELOCITY"] > 0:
            velocity = numbers["VELOCITY"]
            planned = planned.with_axes("max_feedrate", {"x": velocity, "y": velocity})
        if "ACCEL" in numbers:
            accel = numbers["ACCEL"]
            planned = planned.with_accelerations(accel, accel, accel)
        run.set_limits(planned)


def speed_factor(run: Interpreter, command: Command, line: int) -> None:
    """M220 S<percent> (B backs the factor up, R restores it)."""
    state = run.state
    old = state.speed_factor
    if command.has("B"):
        state.saved_speed_factor = old
    value = command.number("S")
    if value is not None and value > 0:
        state.speed_factor = value / 100.0
    if command.has("R"):
        state.speed_factor = state.saved_speed_factor
    if state.speed_factor != old:
        state.feed_mm_s = state.feed_mm_s / old * state.speed_factor


def flow_factor(run: Interpreter, command: Command, line: int) -> None:
    """M221 S<percent>: scales every extrusion."""
    value = command.number("S")
    if value is not None and value >= 0:
        run.state.flow_factor = value / 100.0


HANDLERS: dict[str, Handler] = {
    "M201": max_acceleration,
    "M203": max_feedrate,
    "M204": acceleration,
    "M205": jerk,
    "M566": jerk_per_minute,
    "SET_VELOCITY_LIMIT": velocity_limit,
    "M220": speed_factor,
    "M221": flow_factor,
}
