"""Commands that move the machine or make it wait: G0/G1, G2/G3, G28, G4, G10/G11, M400.

This is the careful path for moves: relative and inch modes, unhomed axes, feedrates
above the limits, arcs. The common absolute G0/G1 is read by the interpreter's fast path,
which must behave exactly like `linear_move` (tests run programs through both).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from firmware_profiles.gcode import arcs, temperatures
from firmware_profiles.gcode.lexer import Command
from firmware_profiles.gcode.safety import Code, Severity, number

if TYPE_CHECKING:
    from firmware_profiles.gcode.interpreter import Handler, Interpreter

_AXES = "XYZ"


def _targets(run: Interpreter, command: Command) -> tuple[float, float, float, float]:
    """Machine x, y, z and the E change a move command asks for (modes and G92 applied);
    updates the program's E counter."""
    state = run.state
    scale = state.scale
    position = {"X": state.x, "Y": state.y, "Z": state.z}
    offset = {"X": state.offset_x, "Y": state.offset_y, "Z": state.offset_z}
    for axis in _AXES:
        value = command.number(axis)
        if value is not None:
            if state.g91:
                position[axis] = position[axis] + value * scale
            else:
                position[axis] = value * scale + offset[axis]
    de = 0.0
    value = command.number("E")
    if value is not None:
        if state.relative_e(run.dialect):
            de = value * scale
            state.e_logical += de
        else:
            de = value * scale - state.e_logical
            state.e_logical = value * scale
    return position["X"], position["Y"], position["Z"], de


def set_feedrate(run: Interpreter, command: Command, line: int) -> None:
    """Take the command's F (program units per minute), refusing zero and below."""
    value = command.number("F")
    if value is None:
        return
    state = run.state
    mm_s = value * state.scale / 60.0 * state.speed_factor
    if not mm_s > 0.0:
        run.report(
            line,
            command.word,
            Code.INVALID_FEEDRATE,
            f"{command.brief()} asks for a feedrate of {number(value)}: the firmware "
            "cannot move at zero or negative speed",
        )
        return
    rules = run.rules
    if rules is not None:
        top = max(rules.limits.max_feedrate_mm_s.x, rules.limits.max_feedrate_mm_s.y)
        if mm_s > top and run.worse_once("feedrate", mm_s):
            run.report(
                line,
                command.word,
                Code.FEEDRATE_ABOVE_LIMIT,
                f"{command.brief()} asks for {number(mm_s)} mm/s, faster than "
                f"{rules.profile_id}'s {number(top)} mm/s: the firmware will move slower "
                "than the program expects",
            )
    state.feed_mm_s = mm_s


def linear_move(run: Interpreter, command: Command, line: int) -> None:
    """G0/G1."""
    set_feedrate(run, command, line)
    x, y, z, de = _targets(run, command)
    run.apply_move(x, y, z, de, run.state.feed_mm_s, line, command.text, command.word)


def arc_move(run: Interpreter, command: Command, line: int) -> None:
    """G2 (clockwise) and G3 (counter-clockwise), in the XY plane."""
    rules = run.rules
    if rules is not None and not rules.arcs and "arcs" not in run.once:
        run.once.add("arcs")
        run.report(
            line,
            command.word,
            Code.UNSUPPORTED_COMMAND,
            f"{command.brief()} draws an arc, but {rules.profile_id}'s firmware has arcs "
            "switched off: the printer skips it and the next move starts elsewhere",
        )
    set_feedrate(run, command, line)
    state = run.state
    start = (state.x, state.y, state.z, state.e_logical)
    x, y, z, de = _targets(run, command)
    centre = _centre(run, command, (start[0], start[1]), (x, y))
    if centre is None:
        state.e_logical = start[3]  # the firmware rejects the arc: E does not advance
        run.report(
            line,
            command.word,
            Code.INVALID_ARC,
            f"{command.brief()} has no usable centre: give I and J, or an R at least "
            "half the distance between start and end",
        )
        return
    clockwise = command.word == "G2"
    pushed = 0.0
    for px, py, done in arcs.arc_points(
        (start[0], start[1]), (x, y), centre, clockwise, state.feed_mm_s
    ):
        pz = start[2] + (z - start[2]) * done
        step = de * done - pushed
        pushed += step
        run.apply_move(px, py, pz, step, state.feed_mm_s, line, command.text, command.word)


def _centre(
    run: Interpreter, command: Command, start: tuple[float, float], end: tuple[float, float]
) -> tuple[float, float] | None:
    scale = run.state.scale
    radius = command.number("R")
    if radius is not None:
        return arcs.centre_from_radius(start, end, radius * scale, command.word == "G2")
    i, j = command.number("I"), command.number("J")
    if i is None and j is None:
        return None
    return (start[0] + (i or 0.0) * scale, start[1] + (j or 0.0) * scale)


def home(run: Interpreter, command: Command, line: int) -> None:
    """G28: homed axes go to the bed origin (0, 0, 0) and lose their G92 shift."""
    state = run.state
    axes = [axis for axis in _AXES if command.has(axis)] or list(_AXES)
    run.stop_motion()
    for axis in axes:
        setattr(state, f"homed_{axis.lower()}", True)
        setattr(state, f"offset_{axis.lower()}", 0.0)
    x = 0.0 if "X" in axes else state.x
    y = 0.0 if "Y" in axes else state.y
    z = 0.0 if "Z" in axes else state.z
    run.apply_move(x, y, z, 0.0, state.feed_mm_s, line, command.text, command.word)
    run.stop_motion()


def start_macro(run: Interpreter, command: Command, line: int) -> None:
    """A Klipper start macro (PRINT_START, START_PRINT, G32): by convention it homes every
    axis, and Klipper refuses moves on an unhomed axis should it not."""
    home(run, Command("G28", text=command.text), line)


def dwell(run: Interpreter, command: Command, line: int) -> None:
    """G4 P<milliseconds> or S<seconds>."""
    run.stop_motion()
    milliseconds, seconds = command.number("P"), command.number("S")
    total = (milliseconds or 0.0) / 1000.0 + (seconds or 0.0)
    if total > 0 and total == total:
        run.dwell_seconds += total


def synchronise(run: Interpreter, command: Command, line: int) -> None:
    """M400, probing, levelling, pauses: the firmware finishes every move first."""
    run.stop_motion()


def firmware_retract(run: Interpreter, command: Command, line: int) -> None:
    """G10/G11 firmware retraction: the firmware's own length, no E in the program."""
    rules = run.rules
    if rules is not None and not rules.firmware_retraction and "fwretract" not in run.once:
        run.once.add("fwretract")
        run.report(
            line,
            command.word,
            Code.UNSUPPORTED_COMMAND,
            f"{command.brief()} asks for a firmware retraction, but {rules.profile_id}'s "
            "firmware has it switched off: the printer ignores it (strings and blobs)",
        )


def rrf_g10(run: Interpreter, command: Command, line: int) -> None:
    """RepRapFirmware's G10: tool temperatures (P/S/R), workplace offsets (L), or a
    firmware retraction when it has no parameters."""
    if command.has("L"):
        run.report(
            line,
            command.word,
            Code.COORDINATE_SHIFT,
            f"{command.brief()} changes the tool or workplace offsets: the machine "
            "would print shifted from where this check assumes",
            Severity.ERROR,
        )
    elif command.has("S") or command.has("R") or command.has("P"):
        temperatures.rrf_tool_temperatures(run, command, line)
    else:
        firmware_retract(run, command, line)


def saved_position(run: Interpreter, command: Command, line: int) -> None:
    """G60 S<slot>: remember the current position."""
    slot = int(command.number("S") or 0)
    state = run.state
    run.saved_positions[slot] = (state.x, state.y, state.z)


def return_to_saved(run: Interpreter, command: Command, line: int) -> None:
    """G61 S<slot> [X Y Z]: move back to a remembered position (all axes when none given)."""
    slot = int(command.number("S") or 0)
    saved = run.saved_positions.get(slot)
    if saved is None:
        return
    set_feedrate(run, command, line)
    state = run.state
    axes = [axis for axis in _AXES if command.has(axis)] or list(_AXES)
    x = saved[0] if "X" in axes else state.x
    y = saved[1] if "Y" in axes else state.y
    z = saved[2] if "Z" in axes else state.z
    run.apply_move(x, y, z, 0.0, state.feed_mm_s, line, command.text, command.word)


HANDLERS: dict[str, Handler] = {
    "G0": linear_move,
    "G1": linear_move,
    "G2": arc_move,
    "G3": arc_move,
    "G4": dwell,
    "G10": firmware_retract,
    "G11": firmware_retract,
    "G28": home,
    "G60": saved_position,
    "G61": return_to_saved,
    "M400": synchronise,
    "M84": synchronise,
    # Pauses for a person (the policy reports them); the machine stops moving.
    "M0": synchronise,
    "M1": synchronise,
    "M25": synchronise,
    "M125": synchronise,
    "M226": synchronise,
    "M291": synchronise,
    "M600": synchronise,
    "M601": synchronise,
    "M701": synchronise,
    "M702": synchronise,
    "PAUSE": synchronise,
    "M18": synchronise,
    "G29": synchronise,
    "G30": synchronise,
    "G32": synchronise,
    "G34": synchronise,
    "G80": synchronise,
    "BED_MESH_CALIBRATE": synchronise,
    "QUAD_GANTRY_LEVEL": synchronise,
    "Z_TILT_ADJUST": synchronise,
}
