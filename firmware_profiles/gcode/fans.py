"""The part-cooling fan: M106 S<0-255> (RepRapFirmware also 0.0-1.0), M107 off.

Above the material's maximum is a warning (warping and layer splits in ABS, PETG
stringing), never an error; fans off on the first layers are normal and not checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from firmware_profiles.gcode.lexer import Command
from firmware_profiles.gcode.safety import Code, number
from firmware_profiles.model import Flavour

if TYPE_CHECKING:
    from firmware_profiles.gcode.interpreter import Handler, Interpreter


def fan_on(run: Interpreter, command: Command, line: int) -> None:
    fan = command.number("P")
    if fan is not None and fan != 0:
        return  # another fan (hotend, chamber, aux): not the part-cooling fan
    value = command.number("S")
    if value is None:
        percent = 100.0
    elif run.dialect.flavour is Flavour.REPRAPFIRMWARE and value <= 1.0:
        percent = value * 100.0
    else:
        percent = value / 255.0 * 100.0
    percent = min(max(percent, 0.0), 100.0)
    run.state.fan_percent = percent
    rules = run.rules
    too_fast = rules is not None and percent > rules.material.fan_max_percent + 0.5
    if rules is not None and too_fast and run.worse_once("fan", percent):
        run.report(
            line,
            command.word,
            Code.FAN_ABOVE_MATERIAL_MAX,
            f"{command.text.strip()} runs the part fan at {number(round(percent))} %, "
            f"above the {rules.material.fan_max_percent} % {rules.material_name} "
            f"takes on {rules.profile_id}",
        )


def fan_off(run: Interpreter, command: Command, line: int) -> None:
    fan = command.number("P")
    if fan is None or fan == 0:
        run.state.fan_percent = 0.0


HANDLERS: dict[str, Handler] = {"M106": fan_on, "M107": fan_off}
