"""What a Marlin-family printer says, one line at a time, as typed responses.

`parse_response(line)` turns one line from the serial port into one of the response
types below. It knows the forms Marlin 1.x/2.x, Prusa's firmwares and their forks
write: `ok` (with ADVANCED_OK's `N` and buffer figures, or with a temperature
report after M105), `Resend: N` and Repetier's `rs N`, `echo:busy: processing`
keep-alives, `//action:` host commands, temperature reports in every common format
(`T:210.0 /210.0 B:60.0 /60.0 @:127`, several tools, `T:21.3/ 0.0`, the `W:` wait
form of M109), M115's firmware line and `Cap:` lines, and the fatal errors after
which the firmware stops (`kill() called`, thermal runaway, MAXTEMP/MINTEMP,
`Printer halted`, `Printer stopped due to errors`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Ok:
    """The firmware took a line (ADVANCED_OK adds the line number it took)."""

    line_number: int | None = None
    temperatures: Temperatures | None = None


@dataclass(frozen=True)
class Resend:
    """The firmware discarded lines from `line_number` on and wants them again."""

    line_number: int


@dataclass(frozen=True)
class Busy:
    """A keep-alive while a long command runs (`paused for user`: it waits for a person)."""

    reason: str

    @property
    def waiting_for_operator(self) -> bool:
        return "paused for user" in self.reason or "paused for input" in self.reason


@dataclass(frozen=True)
class HeaterReading:
    name: str  # "T0", "T1", "B" (bed), "C" (chamber), "P" (probe), "A" (ambient)
    current_c: float
    target_c: float | None


@dataclass(frozen=True)
class Temperatures:
    """One temperature report. `waiting` is M109/M190's `W:` form (a keep-alive too)."""

    heaters: tuple[HeaterReading, ...]
    waiting: bool = False

    def heater(self, name: str) -> HeaterReading | None:
        for reading in self.heaters:
            if reading.name == name:
                return reading
        return None

    @property
    def hotend(self) -> HeaterReading | None:
        return self.heater("T0")

    @property
    def bed(self) -> HeaterReading | None:
        return self.heater("B")


@dataclass(frozen=True)
class Action:
    """A `//action:` host command: pause, resume, cancel, prompts, notifications."""

    name: str  # "pause", "paused", "resume", "resumed", "cancel", "prompt_begin", ...
    argument: str = ""


@dataclass(frozen=True)
class FirmwareInfo:
    """M115's first line: `FIRMWARE_NAME:Marlin 2.1.2 (...) ... MACHINE_TYPE:...`."""

    name: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Capability:
    """One `Cap:NAME:0|1` line of M115."""

    name: str
    enabled: bool


@dataclass(frozen=True)
class Fatal:
    """The firmware stopped (it needs a reset or M999 by a person)."""

    message: str


@dataclass(frozen=True)
class ErrorMessage:
    """An `Error:` line that is not fatal (a bad checksum before its Resend, say)."""

    message: str


@dataclass(frozen=True)
class Echo:
    """An `echo:` line or the firmware's `start` after a reset."""

    text: str


@dataclass(frozen=True)
class Other:
    text: str


Response = (
    Ok
    | Resend
    | Busy
    | Temperatures
    | Action
    | FirmwareInfo
    | Capability
    | Fatal
    | ErrorMessage
    | Echo
    | Other
)

# What the firmware prints when it stops for good. Marlin: kill() -> "Printer halted.
# kill() called!"; thermal protection -> "Thermal Runaway", "Heating failed", "MAXTEMP",
# "MINTEMP"; after an error -> "Printer stopped due to errors. Fix the error and use M999".
_FATAL_MARKERS = (
    "kill() called",
    "printer halted",
    "thermal runaway",
    "heating failed",
    "maxtemp",
    "mintemp",
    "printer stopped due to errors",
    "system stopped",
    "emergency stop",
)
_OK = re.compile(r"^ok\b(?:\s+N(\d+))?")
_RESEND = re.compile(r"^(?:resend|rs)\s*:?\s*N?:?\s*(\d+)", re.IGNORECASE)
_NUMBER = r"-?\d+(?:\.\d*)?"
_READING = re.compile(
    r"(B@|@\d*|[TBCPAR]\d*|E|W):\s*(" + _NUMBER + r"|\?)(?:\s*/\s*(" + _NUMBER + r"))?"
)
_FIRMWARE_FIELD = re.compile(r"([A-Z_]+):(.*?)(?=\s+[A-Z_]+:|$)")


def parse_response(raw: str) -> Response:
    """One line from the printer (without its line ending) as a typed response."""
    line = raw.strip()
    lowered = line.lower()
    if lowered.startswith("ok"):
        return _ok(line)
    if lowered.startswith(("resend", "rs ")):
        found = _RESEND.match(line)
        if found:
            return Resend(int(found.group(1)))
    if lowered.startswith("//action:"):
        name, _, argument = line[len("//action:") :].partition(" ")
        return Action(name.strip().lower(), argument.strip())
    if any(marker in lowered for marker in _FATAL_MARKERS) and not lowered.startswith("echo:"):
        return Fatal(_strip_prefix(line))
    if lowered.startswith(("error:", "!!")):
        return ErrorMessage(_strip_prefix(line))
    if "busy:" in lowered:
        return Busy(lowered.split("busy:", 1)[1].strip())
    if lowered.startswith("cap:"):
        return _capability(line)
    if lowered.startswith("firmware_name:"):
        return _firmware(line)
    temperatures = parse_temperatures(line)
    if temperatures is not None:
        return temperatures
    if lowered.startswith("echo:") or lowered == "start":
        return Echo(line[5:].strip() if lowered.startswith("echo:") else line)
    return Other(line)


def parse_temperatures(line: str) -> Temperatures | None:
    """A temperature report in any common format, or None when the line is not one."""
    if "T:" not in line and "T0:" not in line and "B:" not in line:
        return None
    heaters: list[HeaterReading] = []
    seen: set[str] = set()
    waiting = False
    for name, current, target in _READING.findall(line):
        if name == "W":
            waiting = True
            continue
        if name.startswith("@") or name in ("B@", "E", "R") or current == "?":
            continue
        key = "T0" if name == "T" else name
        if key in seen:  # `T:` and `T0:` both name the first hotend
            continue
        seen.add(key)
        heaters.append(HeaterReading(key, float(current), float(target) if target else None))
    if not any(reading.name.startswith(("T", "B")) for reading in heaters):
        return None
    return Temperatures(tuple(heaters), waiting)


def _ok(line: str) -> Ok:
    found = _OK.match(line)
    number = int(found.group(1)) if found and found.group(1) else None
    return Ok(number, parse_temperatures(line[2:]))


def _capability(line: str) -> Capability | Other:
    parts = line.split(":")
    if len(parts) < 3:
        return Other(line)
    return Capability(parts[1].strip().upper(), parts[2].strip() == "1")


def _firmware(line: str) -> FirmwareInfo:
    fields = {key: value.strip() for key, value in _FIRMWARE_FIELD.findall(line)}
    return FirmwareInfo(fields.get("FIRMWARE_NAME", line), fields)


def _strip_prefix(line: str) -> str:
    for prefix in ("Error:", "error:", "ERROR:", "!!"):
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    return line
