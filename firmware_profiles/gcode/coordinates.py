"""Commands that change how the program's numbers map to the machine, not the machine.

G90/G91 and M82/M83 (combined per firmware, see `dialects.py`), G20/G21 units, G92 set
position (a shift of the coordinate system: the machine does not move), and Klipper's
SAVE_GCODE_STATE / RESTORE_GCODE_STATE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from firmware_profiles.gcode.dialects import ExtruderModeRule
from firmware_profiles.gcode.lexer import Command
from firmware_profiles.gcode.safety import Code, number

if TYPE_CHECKING:
    from firmware_profiles.gcode.interpreter import Handler, Interpreter


def absolute(run: Interpreter, command: Command, line: int) -> None:
    """G90."""
    run.state.g91 = False
    if run.dialect.extruder_mode is ExtruderModeRule.LAST_WINS:
        run.state.e_mode = "follow"


def relative(run: Interpreter, command: Command, line: int) -> None:
    """G91."""
    run.state.g91 = True
    if run.dialect.extruder_mode is ExtruderModeRule.LAST_WINS:
        run.state.e_mode = "follow"


def absolute_e(run: Interpreter, command: Command, line: int) -> None:
    """M82."""
    run.state.e_mode = "absolute"


def relative_e(run: Interpreter, command: Command, line: int) -> None:
    """M83."""
    run.state.e_mode = "relative"


def inches(run: Interpreter, command: Command, line: int) -> None:
    """G20: every length from here on is in inches (25.4 mm)."""
    run.state.inches = True
    rules = run.rules
    if rules is not None:
        run.report(
            line,
            command.word,
            Code.INCH_UNITS,
            "G20 switches to inches: every later coordinate, feedrate and E value is "
            "multiplied by 25.4",
        )


def millimetres(run: Interpreter, command: Command, line: int) -> None:
    """G21."""
    run.state.inches = False


def set_position(run: Interpreter, command: Command, line: int) -> None:
    """G92: the current position gets new program coordinates; the machine stays put."""
    state = run.state
    scale = state.scale
    axes = [axis for axis in "XYZE" if command.has(axis)]
    if not axes:
        axes = list("XYZE")  # as PrusaSlicer reads it: every axis becomes 0
    shifted: list[str] = []
    for axis in axes:
        value = (command.number(axis) or 0.0) * scale
        if axis == "E":
            state.e_logical = value
            continue
        machine = getattr(state, axis.lower())
        old = getattr(state, f"offset_{axis.lower()}")
        setattr(state, f"offset_{axis.lower()}", machine - value)
        if machine - value != old:
            shifted.append(f"{axis}={number(value)} at machine {axis}={number(machine)}")
    if any(axis != "E" for axis in axes):
        run.stop_motion()
    if shifted:
        run.report(
            line,
            command.word,
            Code.COORDINATE_SHIFT,
            f"{command.text.strip()} shifts the coordinate system ({'; '.join(shifted)}): "
            "later moves are checked at their real machine positions",
        )


def reset_offsets(run: Interpreter, command: Command, line: int) -> None:
    """G92.1: drop every G92 shift."""
    state = run.state
    state.offset_x = state.offset_y = state.offset_z = 0.0


@dataclass(frozen=True, slots=True)
class SavedState:
    g91: bool
    e_mode: str
    inches: bool
    offsets: tuple[float, float, float]
    position: tuple[float, float, float]
    speed_factor: float
    flow_factor: float
    feed_mm_s: float


def save_state(run: Interpreter, command: Command, line: int) -> None:
    """Klipper SAVE_GCODE_STATE NAME=..."""
    state = run.state
    run.saved_states[command.strings.get("NAME", "default").lower()] = SavedState(
        state.g91,
        state.e_mode,
        state.inches,
        (state.offset_x, state.offset_y, state.offset_z),
        (state.x, state.y, state.z),
        state.speed_factor,
        state.flow_factor,
        state.feed_mm_s,
    )


def restore_state(run: Interpreter, command: Command, line: int) -> None:
    """Klipper RESTORE_GCODE_STATE NAME=... [MOVE=1 [MOVE_SPEED=mm/s]]."""
    saved = run.saved_states.get(command.strings.get("NAME", "default").lower())
    if saved is None:
        return
    state = run.state
    state.g91, state.e_mode, state.inches = saved.g91, saved.e_mode, saved.inches
    state.offset_x, state.offset_y, state.offset_z = saved.offsets
    state.speed_factor, state.flow_factor = saved.speed_factor, saved.flow_factor
    state.feed_mm_s = saved.feed_mm_s
    if command.strings.get("MOVE", "0") not in ("", "0"):
        try:
            speed = float(command.strings.get("MOVE_SPEED", "0"))
        except ValueError:
            speed = 0.0
        x, y, z = saved.position
        run.apply_move(
            x, y, z, 0.0, speed if speed > 0 else state.feed_mm_s, line, command.text, command.word
        )


HANDLERS: dict[str, Handler] = {
    "G90": absolute,
    "G91": relative,
    "M82": absolute_e,
    "M83": relative_e,
    "G20": inches,
    "G21": millimetres,
    "G92": set_position,
    "G92.1": reset_offsets,
    "SAVE_GCODE_STATE": save_state,
    "RESTORE_GCODE_STATE": restore_state,
}
