"""Which commands a printer takes in a print job at all, before their values are looked at.

Blocked commands (the profile's list plus the dialect's always-blocked ones) make lasting
or dangerous changes: EEPROM writes, firmware updates, restarts. Operator commands stop
the print until a person acts, which on an unattended farm printer means a job that never
finishes. Calibration commands change steps/mm, PID values, offsets or motor currents,
which no sliced job should do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from firmware_profiles.gcode.lexer import Command
from firmware_profiles.gcode.safety import Code, Severity

if TYPE_CHECKING:
    from firmware_profiles.gcode.interpreter import Interpreter

# Why a blocked command is dangerous, in words a person can act on.
WHY_BLOCKED: dict[str, str] = {
    "M500": "writes the current settings to EEPROM, making every change of this program permanent",
    "M502": "resets steps/mm, PID values and the probe's Z offset to firmware defaults (the "
    "nozzle may crash into the bed)",
    "M997": "starts a firmware update",
    "M999": "restarts the printer after an emergency stop",
    "M112": "is an emergency stop: the printer halts and needs a reset",
    "M303": "runs a PID autotune, heating the hotend unattended",
    "M92": "changes the steps/mm of an axis",
    "M301": "changes the hotend's PID values",
    "M304": "changes the bed's PID values",
    "M206": "changes the home offsets",
    "M428": "makes the current position the home position",
    "M851": "changes the probe's Z offset",
    "M290": "babysteps an axis",
    "M906": "changes motor currents",
    "M907": "changes motor currents",
    "M910": "changes motor driver settings",
    "M914": "changes sensorless homing sensitivity",
    "M302": "changes the cold extrusion protection",
    "M211": "switches the software endstops",
    "M121": "switches the endstops off",
    "M149": "changes the temperature units",
    "M540": "changes the endstop-abort setting",
    "M42": "sets a pin directly (a heater's MOSFET too)",
    "M43": "debugs pins",
    "M260": "sends raw I2C data",
    "M261": "reads raw I2C data",
    "M3": "switches a spindle or laser on",
    "M4": "switches a spindle or laser on",
    "M23": "selects a file on the SD card nobody checked",
    "M24": "starts or resumes an SD card print nobody checked",
    "M28": "writes a file to the SD card",
    "M29": "writes a file to the SD card",
    "M30": "deletes or runs a file on the SD card",
    "M32": "starts a file on the SD card nobody checked",
    "M928": "writes a log file to the SD card",
    "M98": "runs a macro file the check never saw",
    "SAVE_CONFIG": "rewrites printer.cfg and restarts Klipper",
    "FIRMWARE_RESTART": "restarts the firmware in the middle of the job",
    "RESTART": "restarts Klipper in the middle of the job",
    "SET_KINEMATIC_POSITION": "tells Klipper where the nozzle is without homing",
    "FORCE_MOVE": "moves a stepper ignoring homing and limits",
    "PID_CALIBRATE": "runs a PID calibration, heating unattended",
}
WHY_OPERATOR: dict[str, str] = {
    "M0": "waits for a button press",
    "M1": "waits for a button press",
    "M25": "pauses the print",
    "M125": "parks the head and pauses",
    "M226": "waits for a pin to change",
    "M291": "shows a message and may wait for an answer",
    "M600": "asks for a filament change",
    "M601": "pauses the print",
    "M701": "loads filament",
    "M702": "unloads filament",
    "PAUSE": "pauses the print",
}


def allowed(run: Interpreter, command: Command, line: int) -> bool:
    """Report the command if policy forbids it; False when it must not be interpreted."""
    rules = run.rules
    assert rules is not None
    word = command.word
    text = command.brief()
    if word == "M302" and (command.has("S") or command.has("P")):
        run.report(
            line,
            word,
            Code.COLD_EXTRUSION_OVERRIDE,
            f"{text} lets the extruder push filament through a cold hotend: it switches "
            "the cold extrusion protection off",
        )
        return False
    if word in rules.blocked:
        why = WHY_BLOCKED.get(word, f"is on the blocked list of {rules.profile_id}")
        run.report(
            line,
            word,
            Code.BLOCKED_COMMAND,
            f"{text} {why}; {rules.profile_id} never takes it in a print job",
        )
        return False
    if word in rules.operator:
        why = WHY_OPERATOR.get(word, "needs a person at the printer")
        if rules.attended:
            run.report(
                line,
                word,
                Code.OPERATOR_COMMAND,
                f"{text} {why}: someone must be at the printer",
                Severity.WARNING,
            )
        else:
            run.report(
                line,
                word,
                Code.OPERATOR_COMMAND,
                f"{text} {why}; the farm runs {rules.profile_id} unattended, so the "
                "job would stop until someone comes",
            )
        return True
    if word in rules.calibration:
        why = WHY_BLOCKED.get(word, "changes the machine's calibration")
        run.report(
            line,
            word,
            Code.CALIBRATION_CHANGE,
            f"{text} {why}: a print job must not change {rules.profile_id}'s calibration",
        )
        return False
    return True


def unknown(run: Interpreter, command: Command, line: int) -> None:
    """A command no handler knows: harmless ones pass, the rest is a warning."""
    word = command.word
    if word in KNOWN_WITHOUT_EFFECT:
        return
    text = command.brief()
    flavour = run.dialect.flavour.value
    if command.extended and not run.dialect.extended_commands:
        reason = f"{text} is a Klipper command; {flavour} firmware does not know it"
    elif command.extended:
        reason = (
            f"{text} is not a Klipper built-in: it runs a macro from the printer's "
            "configuration, whose moves and temperatures this check cannot see"
        )
    else:
        reason = f"{text} is not a {flavour} command this check knows; the firmware may ignore it"
    run.report(line, word, Code.UNKNOWN_COMMAND, reason)


# Commands that change nothing the check or the statistics follow.
KNOWN_WITHOUT_EFFECT = frozenset(
    {
        # Marlin / RepRapFirmware
        "M17",
        "M20",
        "M21",
        "M22",
        "M27",
        "M31",
        "M73",
        "M75",
        "M76",
        "M77",
        "M78",
        "M80",
        "M81",
        "M105",
        "M108",
        "M110",
        "M111",
        "M113",
        "M114",
        "M115",
        "M117",
        "M118",
        "M119",
        "M150",
        "M155",
        "M300",
        "M355",
        "M401",
        "M402",
        "M404",
        "M405",
        "M406",
        "M407",
        "M412",
        "M413",
        "M420",
        "M501",
        "M503",
        "M504",
        "M572",
        "M593",
        "M710",
        "M862.1",
        "M862.2",
        "M862.3",
        "M862.4",
        "M862.5",
        "M862.6",
        "M876",
        "M900",
        "M929",
        # Klipper
        "SET_PRESSURE_ADVANCE",
        "SET_FAN_SPEED",
        "SET_LED",
        "SET_PIN",
        "SET_PRINT_STATS_INFO",
        "BED_MESH_CALIBRATE",
        "BED_MESH_PROFILE",
        "BED_MESH_CLEAR",
        "BED_MESH_OUTPUT",
        "SET_IDLE_TIMEOUT",
        "SET_INPUT_SHAPER",
        "SET_FILAMENT_SENSOR",
        "SET_RETRACTION",
        "RESPOND",
        "ECHO",
        "STATUS",
        "HELP",
        "GET_POSITION",
        "QUERY_ENDSTOPS",
        "QUERY_PROBE",
        "CLEAR_PAUSE",
        "CANCEL_PRINT_SETUP",
        "SET_DISPLAY_TEXT",
        "SET_DISPLAY_GROUP",
        "QUAD_GANTRY_LEVEL",
        "Z_TILT_ADJUST",
        "SCREWS_TILT_CALCULATE",
        "SET_SKEW",
        "SKEW_PROFILE",
        "UPDATE_DELAYED_GCODE",
        "EXCLUDE_OBJECT",
    }
)
