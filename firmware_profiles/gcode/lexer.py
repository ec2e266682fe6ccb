"""Read one G-code line the careful way: every form a firmware accepts, nothing it would not.

The interpreter reads the common line (`G1 X84.2 Y100.3 E5.04`) on its own fast path;
every other line comes here. This handles what real files and hostile ones contain:
line numbers and checksums (`N12 G1 X5*71`), `;` and `( )` comments, lower case,
words without spaces (`G1X10Y10`), leading zeros (`G01`), quoted strings
(`M486 A"part 1"`), free text (`M117 Printing...`) and Klipper's extended commands
(`SET_FAN_SPEED FAN=part SPEED=0.5`).

Numbers are read like Marlin reads them: sign, digits and one decimal point. An
exponent is not part of a number (Marlin stops at `E`), so `X1E5` is X1 and E5.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from math import isfinite

# Commands whose argument is free text rather than letter-number words.
TEXT_COMMANDS = frozenset(
    {"M23", "M28", "M30", "M32", "M33", "M117", "M118", "M550", "M928", "M291", "M587"}
)
# Extended (Klipper) commands whose argument is free text.
TEXT_EXTENDED = frozenset({"ECHO", "RESPOND", "M117", "M118"})

_NUMBER = r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)"
_CLASSIC_WORD = re.compile(r"\s*([A-Za-z])\s*(" + _NUMBER + r'|"(?:[^"]|"")*")?')
_COMMAND_WORD = re.compile(r"\s*([GMTgmt])\s*([0-9]+)(?:\.([0-9]+))?")
_EXTENDED_HEAD = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)")
_EXTENDED_PARAM = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)')
_NO_TOOL = re.compile(r"\s*[Tt]\s*-1\s*$")
_LINE_NUMBER = re.compile(r"\s*[Nn]\s*[0-9]+")
_NOT_A_NUMBER = re.compile(r"[A-Za-z]\s*[-+]?(?:nan|inf)", re.IGNORECASE)


@dataclass(slots=True)
class Command:
    """One command: its word, its parameters and the code text it came from."""

    word: str  # "G1", "M104", "T0", "M862.3" or an extended command "SET_FAN_SPEED"
    # Letter parameters: value, or None for a bare letter (`G28 X`).
    params: dict[str, float | None] = field(default_factory=dict)
    # Quoted strings of letter parameters (`M486 A"part"`) and extended KEY=value pairs.
    strings: dict[str, str] = field(default_factory=dict)
    text: str = ""  # the code without comments, as written (for messages and free text)
    extended: bool = False

    def has(self, letter: str) -> bool:
        return letter in self.params

    def number(self, letter: str) -> float | None:
        """The letter's value; None when absent or given without a value."""
        return self.params.get(letter)

    def brief(self) -> str:
        """The command as written, cut for a message."""
        return short(self.text)


@dataclass(frozen=True, slots=True)
class LexError:
    """A line no firmware reads as intended; `reason` says what is wrong with it."""

    code: str  # "unreadable" or "checksum-mismatch"
    reason: str
    text: str


def parse_line(raw: str) -> Command | LexError | None:
    """The command on `raw`; None for a blank or comment-only line."""
    code = raw.split(";", 1)[0]
    code = _strip_paren_comments(code).strip()
    if not code:
        return None
    if not code.isascii():
        return LexError("unreadable", "the command contains non-ASCII characters", code)
    code, problem = _strip_line_number(code)
    if problem is not None:
        return problem
    if not code:
        return None
    if _NO_TOOL.match(code):
        return Command("T-1", text=code)  # RepRapFirmware: deselect every tool
    head = _COMMAND_WORD.match(code)
    if head is None or _looks_extended(code):
        return _parse_extended(code)
    word = head.group(1).upper() + str(int(head.group(2)))
    if head.group(3) is not None:
        word += "." + head.group(3)
    rest = code[head.end() :]
    if word in TEXT_COMMANDS:
        return Command(word, text=code, strings={"": rest.strip()})
    return _parse_classic(word, rest, code)


def short(text: str, limit: int = 60) -> str:
    """A line's code without its comment, cut to `limit` characters (for messages)."""
    code = text.split(";", 1)[0].strip()
    return code if len(code) <= limit else code[: limit - 3] + "..."


def checksum(text: str) -> int:
    """The XOR checksum RepRap hosts append after `*`."""
    value = 0
    for char in text.encode("ascii", "replace"):
        value ^= char
    return value


def _strip_paren_comments(code: str) -> str:
    if "(" not in code:
        return code
    out: list[str] = []
    depth = 0
    for char in code:
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(char)
    return "".join(out)


def _strip_line_number(code: str) -> tuple[str, LexError | None]:
    """Remove `N123` and a trailing `*71`, checking the checksum when there is one."""
    star = code.rfind("*")
    if star >= 0 and code[star + 1 :].strip().isdigit():
        given = int(code[star + 1 :])
        body = code[:star]
        if checksum(body) != given:
            reason = f"checksum {given} does not match the line (it should be {checksum(body)})"
            return code, LexError("checksum-mismatch", reason, code)
        code = body.strip()
    number = _LINE_NUMBER.match(code)
    if number is not None and (number.end() == len(code) or not code[number.end()].isdigit()):
        code = code[number.end() :].strip()
    return code, None


def _looks_extended(code: str) -> bool:
    """A word of two or more letters or underscores first: `PRINT_START`, `SET_FAN_SPEED`."""
    return (
        len(code) > 1
        and (code[0].isalpha() or code[0] == "_")
        and (code[1].isalpha() or code[1] == "_")
    )


def _parse_classic(word: str, rest: str, code: str) -> Command | LexError:
    if _NOT_A_NUMBER.search(rest):
        return LexError("unreadable", "a parameter's value is NaN or infinity", code)
    command = Command(word, text=code)
    position = 0
    while position < len(rest):
        if rest[position].isspace():
            position += 1
            continue
        match = _CLASSIC_WORD.match(rest, position)
        if match is None:
            return LexError(
                "unreadable", f"cannot read {rest[position : position + 12]!r} as a parameter", code
            )
        letter, value = match.group(1).upper(), match.group(2)
        if value is None:
            if (
                match.end() < len(rest)
                and not rest[match.end()].isspace()
                and not rest[match.end()].isalpha()
            ):
                return LexError(
                    "unreadable", f"{letter} is followed by {rest[match.end()]!r}", code
                )
            command.params[letter] = None
        elif value.startswith('"'):
            command.params[letter] = None
            command.strings[letter] = value[1:-1].replace('""', '"')
        else:
            number = float(value)
            if not isfinite(number):
                return LexError(
                    "unreadable", f"{letter}{value[:12]}... is too large a number", code
                )
            command.params[letter] = number
        position = match.end()
    return command


def _parse_extended(code: str) -> Command | LexError:
    head = _EXTENDED_HEAD.match(code)
    if head is None:
        return LexError("unreadable", f"{code[:20]!r} is not a G-code command", code)
    word = head.group(1).upper()
    command = Command(word, text=code, extended=True)
    rest = code[head.end() :]
    if word in TEXT_EXTENDED:
        command.strings[""] = rest.strip()
        return command
    position = 0
    while position < len(rest):
        if rest[position].isspace():
            position += 1
            continue
        match = _EXTENDED_PARAM.match(rest, position)
        if match is None:
            return LexError(
                "unreadable",
                f"cannot read {rest[position : position + 16]!r} as a KEY=value parameter of "
                f"{word}",
                code,
            )
        value = match.group(2)
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        command.strings[match.group(1).upper()] = value
        position = match.end()
    return command
