"""One plate on a Marlin-family printer: what to send next and what has been executed.

The run hands out commands: first the control commands waiting their turn (park on
pause, the way back on resume, the profile's cancel G-code, M486 to cancel an
object, M73 progress), then the program's next line. Control sequences end with a
`Marker`; when the firmware acknowledges the marker, the sequence is done on the
printer (parked, cancelled, finished) and the back-end reports it.

Progress is the share of the program's commands the firmware has acknowledged.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from agent.backends.base import PlateToRun
from agent.backends.marlin.streamer import ProgramLine, ProgramStream, scan_program


class MarkerKind(StrEnum):
    PAUSED = "paused"  # the stream is held and the head parked
    RESUMED = "resumed"  # the head is back; the program goes on
    CANCELLED = "cancelled"  # the cancel G-code ran
    FINISHED = "finished"  # every line ran and the moves are done (M400)
    OBJECT = "object"  # the firmware took an M486 P (argument: the label)
    CONNECTED = "connected"  # M115 answered: the firmware's capabilities are known


@dataclass(frozen=True)
class Marker:
    kind: MarkerKind
    argument: str = ""


@dataclass(frozen=True)
class Control:
    """A command the agent adds to the program (M73, M105, the park moves, ...)."""


CONTROL = Control()


@dataclass
class PlateRun:
    plate: PlateToRun
    stream: ProgramStream
    control: deque[tuple[str, object]] = field(default_factory=deque)
    holding: bool = False  # program lines wait (paused, or a control sequence runs)
    ending: MarkerKind | None = None  # cancelling or finishing: no more program lines
    executed: int = 0  # program commands the firmware acknowledged (or that were skipped)
    cancelled: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    printing: bool = False  # past the heating at the start
    operator_message: str | None = None
    reported_percent: int = -1
    m73_percent: int = -1

    @classmethod
    def open(cls, program: Path, plate: PlateToRun) -> PlateRun:
        scan = scan_program(program)
        return cls(plate, ProgramStream(program, scan))

    @property
    def total(self) -> int:
        return self.stream.scan.commands

    @property
    def progress(self) -> float:
        return 1.0 if self.total == 0 else min(1.0, self.executed / self.total)

    @property
    def seconds_left(self) -> float:
        return max(0.0, self.plate.estimated_seconds * (1.0 - self.progress))

    def remaining_objects(self) -> tuple[str, ...]:
        gone = set(self.cancelled) | set(self.failed)
        return tuple(label for label in self.plate.objects if label not in gone)

    def object_index(self, label: str) -> int | None:
        index = self.stream.scan.labels.get(label)
        return index if index is not None and index >= 0 else None

    # -- what goes out next ------------------------------------------------------------

    def next_command(self) -> tuple[str, object] | None:
        if self.control:
            return self.control.popleft()
        if self.holding or self.ending is not None:
            return None
        line = self.stream.next()
        if line is None:
            self.ending = MarkerKind.FINISHED
            self.control.append(("M400", Marker(MarkerKind.FINISHED)))
            return self.control.popleft()
        if isinstance(line, ProgramLine):
            return line.command, line
        return line, CONTROL

    def acknowledged(self, line: ProgramLine) -> None:
        """The firmware took a program line."""
        self.executed = max(self.executed, line.index + 1)
        if not self.printing and line.index >= self.stream.scan.first_print:
            self.printing = True

    def add(self, commands: list[str], marker: Marker | None = None) -> None:
        """Queue control commands; a marker rides on an M400, so its `ok` means every
        move before it is done."""
        self.control.extend((command, CONTROL) for command in commands)
        if marker is not None:
            self.control.append(("M400", marker))

    def close(self) -> None:
        self.stream.close()
