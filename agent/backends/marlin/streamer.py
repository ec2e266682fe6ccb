"""A plate's program as the printer receives it: one command at a time, read from the
spool file as it goes (a plate may be hundreds of megabytes), comments and blank
lines left out.

Before the first line goes out, one pass over the file counts the commands (progress
is commands executed over commands in the program), finds the objects the program
labels (`M486 S<n> A"<label>"`, or the `; printing object <label>` comments of a
printer without M486) and where the printing starts (the first extruding move,
which ends the heating phase).

When the firmware cannot cancel an object itself, the streamer leaves the object's
moves out: it follows the head through the skipped moves, and when the object ends
it sets the extruder back where the program expects it (`G92 E`) and moves Z to the
program's height, so the next object prints as sliced.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from agent.backends.marlin.motion import HeadPosition, command_word

_M486_DEFINE = re.compile(r'^M486\s+S(-?\d+)\s+A"?([^"]*)"?', re.IGNORECASE)
_M486_SELECT = re.compile(r"^M486\s+S(-?\d+)", re.IGNORECASE)
_COMMENT_START = re.compile(r"^;\s*printing object\s+(.+?)\s*$")
_COMMENT_END = re.compile(r"^;\s*stop printing object\s+(.+?)\s*$")
_SKIPPED_WORDS = frozenset({"G0", "G1", "G2", "G3", "G10", "G11"})
_HEAT_WAITS = frozenset({"M109", "M190", "M116", "M191"})


def clean_line(raw: str) -> str:
    """The command of one program line: no comment, no surrounding blanks."""
    code = raw.split(";", 1)[0] if ";" in raw else raw
    return code.strip()


@dataclass
class ProgramScan:
    """What one pass over the program found."""

    commands: int = 0
    labels: dict[str, int] = field(default_factory=dict)  # object label -> M486 index
    first_print: int = 0  # index of the first extruding move


def scan_program(path: Path) -> ProgramScan:
    scan = ProgramScan()
    found_print = False
    with open(path, encoding="utf-8", errors="replace") as handle:
        for raw in handle:
            command = clean_line(raw)
            if not command:
                marker = _COMMENT_START.match(raw.strip())
                if marker and marker.group(1) not in scan.labels:
                    scan.labels[marker.group(1)] = -1 - len(scan.labels)
                continue
            defined = _M486_DEFINE.match(command)
            if defined and defined.group(2):
                scan.labels[defined.group(2)] = int(defined.group(1))
            if not found_print and _extrudes(command):
                scan.first_print, found_print = scan.commands, True
            scan.commands += 1
    if not found_print:
        scan.first_print = scan.commands
    return scan


def _extrudes(command: str) -> bool:
    upper = command.upper()
    return (
        command_word(command) in ("G1", "G2", "G3")
        and "E" in upper
        and ("X" in upper or "Y" in upper)
    )


def is_heat_wait(command: str) -> bool:
    return command_word(command) in _HEAT_WAITS


@dataclass(frozen=True)
class ProgramLine:
    """A command of the program and its index among the program's commands."""

    command: str
    index: int


class ProgramStream:
    """The commands of one program in order. `next()` gives `ProgramLine`s and, after a
    skipped object, the plain commands that resynchronise the printer (`str`)."""

    def __init__(self, path: Path, scan: ProgramScan) -> None:
        self.scan = scan
        self.position = HeadPosition()
        self._handle: TextIO = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
        self._lines: Iterator[str] = iter(self._handle)
        self._index = 0
        self._skipped: set[str] = set()  # labels whose moves are left out
        self._current: str | None = None  # label of the object being printed
        self._resync: deque[ProgramLine | str] = deque()
        self._skipped_any = False
        self._by_index = {index: label for label, index in scan.labels.items()}

    @property
    def sent(self) -> int:
        """Program commands handed out so far."""
        return self._index

    def skip_object(self, label: str) -> None:
        """Leave out the moves of this object from now on."""
        self._skipped.add(label)

    def next(self) -> ProgramLine | str | None:
        if self._resync:
            return self._resync.popleft()
        for raw in self._lines:
            command = clean_line(raw)
            if not command:
                self._follow_comment(raw)
                if self._resync:
                    return self._resync.popleft()
                continue
            line = ProgramLine(command, self._index)
            self._index += 1
            self._follow_object(command)
            if self._current in self._skipped and command_word(command) in _SKIPPED_WORDS:
                self.position.follow(command)
                self._skipped_any = True
                continue  # counted as executed: the object is cancelled
            self.position.follow(command)
            if self._resync:
                self._resync.append(line)
                return self._resync.popleft()
            return line
        return None

    def skipped_through(self) -> int:
        """Index of the next program command: everything before it is sent or skipped."""
        return self._index

    def close(self) -> None:
        self._handle.close()

    # -- objects -----------------------------------------------------------------------

    def _follow_object(self, command: str) -> None:
        selected = _M486_SELECT.match(command)
        if selected is None:
            return
        index = int(selected.group(1))
        self._enter(self._by_index.get(index) if index >= 0 else None)

    def _follow_comment(self, raw: str) -> None:
        text = raw.strip()
        started = _COMMENT_START.match(text)
        if started:
            self._enter(started.group(1))
        elif _COMMENT_END.match(text):
            self._enter(None)

    def _enter(self, label: str | None) -> None:
        leaving_skipped = self._current in self._skipped and self._skipped_any
        self._current = label
        if leaving_skipped:
            self._skipped_any = False
            self._resync.extend(self._resynchronise())

    def _resynchronise(self) -> list[str]:
        position = self.position
        commands: list[str] = []
        if not position.relative_e:
            commands.append(f"G92 E{position.e:.5f}")
        if position.z is not None and not position.relative_xyz:
            commands.append(f"G0 Z{position.z:.3f}")
        return commands
