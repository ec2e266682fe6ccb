"""Where the nozzle may go: the bed, its travel margin, the height, and homing.

The fast path compares every coordinate with the travel bounds inline and calls here only
when one is out; the careful path calls `check_move` for every move. Each excursion is
reported when it goes further out than any before it on that side, so a program that
leaves the bed a thousand times yields a few findings, each with its line and the real
machine position (after any G92 shift).
"""

from __future__ import annotations

from math import isfinite
from typing import TYPE_CHECKING

from firmware_profiles.gcode.lexer import short
from firmware_profiles.gcode.safety import Code, SafetyRules, number

if TYPE_CHECKING:
    from firmware_profiles.gcode.interpreter import Interpreter

_AXES = "XYZ"


def check_move(
    run: Interpreter, nx: float, ny: float, nz: float, line: int, text: str, word: str
) -> None:
    """Homing and bed limits of a careful-path move to machine (nx, ny, nz)."""
    st = run.state
    rules = run.rules
    assert rules is not None
    moved = {"X": nx != st.x, "Y": ny != st.y, "Z": nz != st.z}
    homed = {"X": st.homed_x, "Y": st.homed_y, "Z": st.homed_z}
    unhomed = [axis for axis in _AXES if moved[axis] and not homed[axis]]
    if unhomed and "move-before-homing" not in run.once:
        run.once.add("move-before-homing")
        run.report(
            line,
            word,
            Code.MOVE_BEFORE_HOMING,
            f"{short(text)} moves {' and '.join(unhomed)} before homing: the printer "
            "does not know where the nozzle is; home with G28 first",
        )
    tx0, tx1, ty0, ty1, tz0, tz1 = run.travel
    outside = (
        (st.homed_x and not tx0 <= nx <= tx1)
        or (st.homed_y and not ty0 <= ny <= ty1)
        or (st.homed_z and not tz0 <= nz <= tz1)
        or (
            rules.round_bed
            and st.homed_x
            and st.homed_y
            and not rules.inside_bed(nx, ny, rules.travel_margin_mm)
        )
    )
    if outside:
        report_outside(
            run,
            line,
            text,
            word,
            nx if st.homed_x else st.x,
            ny if st.homed_y else st.y,
            nz if st.homed_z else st.z,
        )


def report_outside(
    run: Interpreter, line: int, text: str, word: str, nx: float, ny: float, nz: float
) -> None:
    rules = run.rules
    if rules is None:
        return
    for value in (nx, ny, nz):
        if not isfinite(value):
            run.report(
                line,
                word,
                Code.UNREADABLE,
                f"{short(text)} asks for a position of {number(value)}",
            )
            return
    tx0, tx1, ty0, ty1, tz0, tz1 = run.travel
    shift = shift_note(run)
    for axis, value, low, high in (("X", nx, tx0, tx1), ("Y", ny, ty0, ty1)):
        beyond = low - value if value < low else value - high
        if beyond > 0 and run.worse(axis, value < low, beyond, line):
            run.outside_line = line
            x0, y0, x1, y1 = rules.bed
            lo, hi = (x0, x1) if axis == "X" else (y0, y1)
            run.report(
                line,
                word,
                Code.OUTSIDE_BED,
                f"{short(text)} moves the nozzle to {axis}={number(value)} mm{shift}, "
                f"{number(beyond)} mm beyond what {rules.profile_id} allows "
                f"({axis} {number(lo)}..{number(hi)} mm on the bed plus "
                f"{number(rules.travel_margin_mm)} mm travel margin)",
            )
    if rules.round_bed and not rules.inside_bed(nx, ny, rules.travel_margin_mm):
        radius = (rules.bed[2] - rules.bed[0]) / 2
        distance = (nx * nx + ny * ny) ** 0.5
        if run.worse("R", False, distance - radius - rules.travel_margin_mm, line):
            run.outside_line = line
            run.report(
                line,
                word,
                Code.OUTSIDE_BED,
                f"{short(text)} moves the nozzle {number(distance)} mm from the centre"
                f"{shift}, beyond the {number(radius)} mm radius bed of {rules.profile_id} "
                f"plus {number(rules.travel_margin_mm)} mm travel margin",
            )
    if nz > tz1 and run.worse("Z", False, nz - tz1, line):
        run.report(
            line,
            word,
            Code.ABOVE_MAX_Z,
            f"{short(text)} raises the nozzle to Z={number(nz)} mm{shift}, above "
            f"the {number(tz1)} mm max Z of {rules.profile_id}",
        )
    elif nz < tz0 and run.worse("Z", True, tz0 - nz, line):
        run.report(
            line,
            word,
            Code.BELOW_BED,
            f"{short(text)} drives the nozzle to Z={number(nz)} mm{shift}, into "
            "the bed (Z=0 is the nozzle touching it)",
        )


def report_extrusion_outside(
    run: Interpreter, line: int, text: str, word: str, x0: float, y0: float, x1: float, y1: float
) -> None:
    rules = run.rules
    if rules is None or run.outside_line == line:
        return  # the line is already reported for leaving the bed altogether
    worst = 0.0
    for x, y in ((x0, y0), (x1, y1)):
        worst = max(worst, _distance_outside(rules, x, y) - run.extrusion_margin)
    if worst > 0 and run.worse("extrude", False, worst, line):
        bx0, by0, bx1, by1 = rules.bed
        area = (
            f"a {number((bx1 - bx0) / 2)} mm radius around the centre"
            if rules.round_bed
            else f"X {number(bx0)}..{number(bx1)}, Y {number(by0)}..{number(by1)} mm"
        )
        run.report(
            line,
            word,
            Code.OUTSIDE_BED,
            f"{short(text)} extrudes from ({number(x0)}, {number(y0)}) to "
            f"({number(x1)}, {number(y1)}){shift_note(run)}, "
            f"{number(worst)} mm off the printable area of {rules.profile_id} ({area}"
            + (
                f", plus {number(run.extrusion_margin)} mm for the start sequence)"
                if run.extrusion_margin
                else ")"
            ),
        )


def report_extrude_only(run: Interpreter, line: int, text: str, word: str, de: float) -> None:
    rules = run.rules
    if rules is None:
        return
    what = "pushes" if de > 0 else "pulls back"
    run.report(
        line,
        word,
        Code.EXTRUDE_ONLY_TOO_LONG,
        f"{short(text)} {what} {number(abs(de))} mm of filament without moving, more "
        f"than the {number(rules.max_extrude_only_mm)} mm {rules.profile_id} allows",
    )


def shift_note(run: Interpreter) -> str:
    st = run.state
    shifted = [(a, o) for a, o in (("X", st.offset_x), ("Y", st.offset_y), ("Z", st.offset_z)) if o]
    if not shifted:
        return ""
    parts = ", ".join(f"{a} by {number(o)} mm" for a, o in shifted)
    return f" (machine position: G92 shifted {parts})"


def _distance_outside(rules: SafetyRules, x: float, y: float) -> float:
    if rules.round_bed:
        radius = (rules.bed[2] - rules.bed[0]) / 2
        return max(0.0, (x * x + y * y) ** 0.5 - radius)
    x0, y0, x1, y1 = rules.bed
    return max(0.0, x0 - x, x - x1, y0 - y, y - y1)
