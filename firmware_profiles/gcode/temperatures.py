"""Heater commands: targets, waits, their limits, and whether extruding is safe yet.

Every way a firmware sets a heater lands here: M104/M109 (with T and R), M140/M190,
M141/M191, RepRapFirmware's `G10 P0 S215 R180` and M568, M116, Klipper's
SET_HEATER_TEMPERATURE and TEMPERATURE_WAIT, and tool changes. Each target is checked
against the printer's and the material's maxima; `heat_problems` says what is wrong with
extruding at the current targets (cold extrusion, below the material's minimum, no wait
for the hotend, bed too cold for the material).

Waits also advance the `heat_clock.HeatClock`, which estimates how long they take.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from firmware_profiles.gcode.heat_clock import AMBIENT_C
from firmware_profiles.gcode.lexer import Command, short
from firmware_profiles.gcode.safety import Code, celsius, number
from firmware_profiles.gcode.stats import TemperatureCommand

if TYPE_CHECKING:
    from firmware_profiles.gcode.interpreter import Handler, Interpreter

# -- heater targets --------------------------------------------------------------------


def set_hotend(
    run: Interpreter,
    line: int,
    command: Command,
    tool: int,
    target: float,
    wait: bool,
    cooling_too: bool = False,
    standby: bool = False,
) -> None:
    """A hotend target (active, or RRF standby), checked, recorded and applied."""
    run.temperatures.append(
        TemperatureCommand(line, command.word, "hotend", tool, target, wait and not standby)
    )
    _check_tool(run, line, command, tool)
    _check_target(run, line, command, "hotend", target)
    state = run.state
    if standby:
        state.standby_c[tool] = target
    else:
        state.hotend_c[tool] = target
        _clock_target(run, f"hotend{tool}", target)
    if wait:
        if target > AMBIENT_C:  # a wait for 0 °C heats nothing
            state.hotend_waited = True
        _clock_wait(run, f"hotend{tool}", cooling_too)
    run.heaters_changed()


def set_bed(
    run: Interpreter,
    line: int,
    command: Command,
    target: float,
    wait: bool,
    cooling_too: bool = False,
) -> None:
    _set_heater(run, line, command, "bed", target, wait, cooling_too)


def set_chamber(
    run: Interpreter,
    line: int,
    command: Command,
    target: float,
    wait: bool,
    cooling_too: bool = False,
) -> None:
    _set_heater(run, line, command, "chamber", target, wait, cooling_too)


def _set_heater(
    run: Interpreter,
    line: int,
    command: Command,
    heater: str,
    target: float,
    wait: bool,
    cooling_too: bool,
) -> None:
    """The bed and the chamber: one heater each, checked, clocked and recorded alike."""
    run.temperatures.append(TemperatureCommand(line, command.word, heater, None, target, wait))
    _check_target(run, line, command, heater, target)
    setattr(run.state, f"{heater}_c", target)
    _clock_target(run, heater, target)
    if wait:
        _clock_wait(run, heater, cooling_too)
    run.heaters_changed()


def _check_target(
    run: Interpreter, line: int, command: Command, heater: str, target: float
) -> None:
    rules = run.rules
    if rules is None:
        return
    text = command.brief()
    if target < 0 or target != target:
        run.report(
            line,
            command.word,
            Code.UNREADABLE,
            f"{text} asks for a {heater} temperature of {number(target)} °C",
        )
        return
    material, name, profile = rules.material, rules.material_name, rules.profile_id
    if heater == "hotend":
        printer_max, material_max = rules.max_hotend_c, material.hotend_max_c
        printer_code, material_code = Code.HOTEND_ABOVE_PRINTER_MAX, Code.HOTEND_ABOVE_MATERIAL_MAX
    elif heater == "bed":
        printer_max, material_max = rules.max_bed_c, material.bed_max_c
        printer_code, material_code = Code.BED_ABOVE_PRINTER_MAX, Code.BED_ABOVE_MATERIAL_MAX
    else:
        printer_max, material_max = rules.max_chamber_c, 0.0
        printer_code, material_code = Code.CHAMBER_ABOVE_PRINTER_MAX, None
    if material_code is not None and material_max > 0 and target > material_max:
        run.report(
            line,
            command.word,
            material_code,
            f"{text} sets the {heater} to {celsius(target)} but {name} allows at most "
            f"{celsius(material_max)} on {profile}",
        )
    if target > printer_max:
        limit = (
            f"has no heated {heater}"
            if printer_max <= 0
            else f"allows at most {celsius(printer_max)}"
        )
        run.report(
            line,
            command.word,
            printer_code,
            f"{text} sets the {heater} to {celsius(target)} but {profile} {limit}",
        )


def _check_tool(run: Interpreter, line: int, command: Command, tool: int) -> None:
    if tool != 0 and run.rules is not None and f"tool{tool}" not in run.once:
        run.once.add(f"tool{tool}")
        run.report(
            line,
            command.word,
            Code.UNKNOWN_TOOL,
            f"{command.brief()} addresses tool {tool}, but {run.rules.profile_id} has "
            "one nozzle (tool 0)",
        )


def _clock_target(run: Interpreter, heater: str, target: float) -> None:
    if run.heat_clock is not None:
        run.heat_clock.set_target(heater, target, run.clock())


def _clock_wait(run: Interpreter, heater: str, cooling_too: bool) -> None:
    if run.heat_clock is not None:
        run.stop_motion()
        run.heat_clock.wait(heater, run.clock(), cooling_too)


# -- handlers --------------------------------------------------------------------------


def _tool_of(run: Interpreter, command: Command, letter: str = "T") -> int:
    value = command.number(letter)
    return int(value) if value is not None and value >= 0 else run.state.tool


def m104(run: Interpreter, command: Command, line: int) -> None:
    target = command.number("S")
    if target is not None:
        set_hotend(run, line, command, _tool_of(run, command), target, wait=False)


def m109(run: Interpreter, command: Command, line: int) -> None:
    target = command.number("R")
    cooling_too = target is not None
    if target is None:
        target = command.number("S")
    if target is not None:
        set_hotend(run, line, command, _tool_of(run, command), target, True, cooling_too)
    elif run.dialect.g10_sets_temperature:  # RRF: M109 without S waits for the set target
        run.state.hotend_waited = True
        run.heaters_changed()


def m140(run: Interpreter, command: Command, line: int) -> None:
    target = command.number("S")
    if target is not None:
        set_bed(run, line, command, target, wait=False)


def m190(run: Interpreter, command: Command, line: int) -> None:
    target = command.number("R")
    cooling_too = target is not None
    if target is None:
        target = command.number("S")
    if target is not None:
        set_bed(run, line, command, target, True, cooling_too)


def m141(run: Interpreter, command: Command, line: int) -> None:
    target = command.number("S")
    if target is not None:
        set_chamber(run, line, command, target, wait=False)


def m191(run: Interpreter, command: Command, line: int) -> None:
    target = command.number("R")
    cooling_too = target is not None
    if target is None:
        target = command.number("S")
    if target is not None:
        set_chamber(run, line, command, target, True, cooling_too)


def m116(run: Interpreter, command: Command, line: int) -> None:
    """RepRapFirmware: wait for every heater to reach its target."""
    run.state.hotend_waited = True
    for heater in ("bed", "chamber", f"hotend{run.state.tool}"):
        _clock_wait(run, heater, cooling_too=False)
    run.heaters_changed()


def rrf_tool_temperatures(run: Interpreter, command: Command, line: int) -> None:
    """`G10 P<tool> S<active> R<standby>` and `M568 P<tool> S<active> R<standby>`."""
    tool = _tool_of(run, command, "P")
    active, standby = command.number("S"), command.number("R")
    if active is not None:
        set_hotend(run, line, command, tool, active, wait=False)
    if standby is not None:
        set_hotend(run, line, command, tool, standby, wait=False, standby=True)


def tool_change(run: Interpreter, command: Command, line: int) -> None:
    """`T<n>`: select a tool (RRF `T-1` deselects every tool, so nothing extrudes)."""
    tool = int(command.word[1:])
    run.stop_motion()
    if tool > 0:
        _check_tool(run, line, command, tool)
        return  # one nozzle: the firmware refuses the tool ("Invalid extruder")
    run.state.tool = tool
    run.heaters_changed()


def set_heater_temperature(run: Interpreter, command: Command, line: int) -> None:
    """Klipper: `SET_HEATER_TEMPERATURE HEATER=extruder TARGET=210`."""
    heater = command.strings.get("HEATER", "").lower()
    target = _float(run, command, line, "TARGET", default=0.0)
    if target is None:
        return
    if heater.startswith("extruder"):
        suffix = heater[len("extruder") :]
        tool = int(suffix) if suffix.isdigit() else 0
        set_hotend(run, line, command, tool, target, wait=False)
    elif heater == "heater_bed":
        set_bed(run, line, command, target, wait=False)
    elif "chamber" in heater:
        set_chamber(run, line, command, target, wait=False)


def temperature_wait(run: Interpreter, command: Command, line: int) -> None:
    """Klipper: `TEMPERATURE_WAIT SENSOR=extruder MINIMUM=200`."""
    sensor = command.strings.get("SENSOR", "").lower()
    if sensor.startswith("extruder"):
        run.state.hotend_waited = True
        _clock_wait(run, f"hotend{run.state.tool}", cooling_too=False)
    elif sensor == "heater_bed":
        _clock_wait(run, "bed", cooling_too=False)
    run.heaters_changed()


def _float(
    run: Interpreter, command: Command, line: int, key: str, default: float | None = None
) -> float | None:
    raw = command.strings.get(key)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        run.report(
            line, command.word, Code.UNREADABLE, f"{command.brief()}: {key}={raw!r} is not a number"
        )
        return None


HANDLERS: dict[str, Handler] = {
    "M104": m104,
    "M109": m109,
    "M140": m140,
    "M190": m190,
    "M141": m141,
    "M191": m191,
    "M116": m116,
    "M568": rrf_tool_temperatures,
    "T<n>": tool_change,
    "SET_HEATER_TEMPERATURE": set_heater_temperature,
    "TEMPERATURE_WAIT": temperature_wait,
}


# -- readiness to extrude --------------------------------------------------------------


def ready(run: Interpreter) -> bool:
    """Whether extruding now raises nothing new (cached until the heaters change)."""
    if run.rules is None:
        return True
    if run.ready is None:
        reported = run.state.heat_reported
        run.ready = all(code in reported for code, _ in heat_problems(run))
    return run.ready


def heaters_changed(run: Interpreter) -> None:
    """Targets or waits changed: problems that went away may be reported again later."""
    current = {code for code, _ in heat_problems(run)}
    run.state.heat_reported &= current
    run.ready = None


def report_not_ready(run: Interpreter, line: int, text: str, word: str) -> bool:
    """Report each heater problem of an extruding move once per heater state; True, as
    extruding raises nothing new until the heaters change."""
    reported = run.state.heat_reported
    for code, reason in heat_problems(run):
        if code not in reported:
            reported.add(code)
            run.report(line, word, code, f"{short(text)} {reason}")
    run.ready = True
    return True


def heat_problems(run: Interpreter) -> list[tuple[Code, str]]:
    """What is wrong with extruding at the current targets, as (code, reason after the
    command text)."""
    rules = run.rules
    if rules is None:
        return []
    state, material = run.state, rules.material
    name, profile = rules.material_name, rules.profile_id
    problems: list[tuple[Code, str]] = []
    target = state.hotend_target
    if target < rules.min_extrude_c:
        problems.append(
            (
                Code.COLD_EXTRUSION,
                f"extrudes while the hotend target is {celsius(target)}, below the "
                f"{celsius(rules.min_extrude_c)} {profile} needs to extrude at all: heat with "
                f"M109 S{number(material.first_layer_hotend_c or material.hotend_c)} first",
            )
        )
    elif target < material.hotend_min_c:
        problems.append(
            (
                Code.HOTEND_BELOW_MATERIAL_MIN,
                f"extrudes at a hotend target of {celsius(target)}, below the "
                f"{celsius(material.hotend_min_c)} {name} needs on {profile}",
            )
        )
    if not state.hotend_waited and target >= rules.min_extrude_c:
        problems.append(
            (
                Code.NO_HEAT_WAIT,
                f"extrudes before the program waited for the hotend to reach "
                f"{celsius(target)} (M109 or M116): the nozzle may still be cold",
            )
        )
    if rules.max_bed_c > 0 and material.bed_min_c > 0 and state.bed_c < material.bed_min_c:
        problems.append(
            (
                Code.BED_BELOW_MATERIAL_MIN,
                f"extrudes with the bed target at {celsius(state.bed_c)}, below the "
                f"{celsius(material.bed_min_c)} {name} needs to stick on {profile}",
            )
        )
    return problems
