"""The printer back-end interface: what the agent needs from any printer.

A back-end drives one printer: the simulated one in `simulated.py`, and later
Marlin over USB serial and Klipper through Moonraker. The agent calls the
methods of `PrinterBackend` from its own thread; none of them may block for
long (a back-end does its I/O on its own thread). What happens on the printer
comes back as `BackendEvent`s through the `EventSink` the back-end was built
with, and as a `BackendStatus` snapshot whenever the agent asks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol


class Phase(StrEnum):
    """What the printer itself is doing (the agent adds bed-clear on top)."""

    CONNECTING = "connecting"
    IDLE = "idle"
    HEATING = "heating"
    PRINTING = "printing"
    PAUSED = "paused"
    NEEDS_OPERATOR = "needs_operator"  # the printer waits for a person (M600, a prompt)
    ERROR = "error"  # a fatal printer error: reported, never cleared on its own
    DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class PlateToRun:
    """A verified plate the agent hands to the back-end."""

    plate_id: str
    sha256: str
    material: str
    objects: tuple[str, ...]  # object labels in the program (M486 / EXCLUDE_OBJECT)
    estimated_seconds: float  # the interpreter's estimate at full speed
    hotend_c: float  # the temperatures the program heats to
    bed_c: float


@dataclass(frozen=True)
class BackendStatus:
    phase: Phase
    hotend_c: float | None = None
    hotend_target_c: float | None = None
    bed_c: float | None = None
    bed_target_c: float | None = None
    plate_id: str | None = None
    progress: float = 0.0  # 0..1 of the plate on the printer
    seconds_left: float | None = None
    error: str | None = None


# Events a back-end reports. Object lists name labels from PlateToRun.objects.


@dataclass(frozen=True)
class PlateStarted:
    plate_id: str


@dataclass(frozen=True)
class PlateProgress:
    plate_id: str
    progress: float
    seconds_left: float


@dataclass(frozen=True)
class ObjectCancelled:
    plate_id: str
    label: str
    failed: bool  # True: the printer lost the part; False: cancelled on request
    reason: str = ""


@dataclass(frozen=True)
class PlatePaused:
    plate_id: str


@dataclass(frozen=True)
class PlateResumed:
    plate_id: str


@dataclass(frozen=True)
class OperatorNeeded:
    """The printer stopped for a person (filament change, a prompt); PlateResumed follows
    when it goes on."""

    plate_id: str
    message: str


@dataclass(frozen=True)
class PlateFinished:
    plate_id: str
    printed: tuple[str, ...]
    cancelled: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlateFailed:
    plate_id: str
    reason: str
    printed: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()  # objects lost with the plate
    cancelled: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlateCancelled:
    plate_id: str
    cancelled: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class PrinterFault:
    """A fatal printer error (thermal runaway, MAXTEMP, kill()): the printer stops."""

    message: str


@dataclass(frozen=True)
class LinkChanged:
    """The agent lost or regained its connection to the printer."""

    connected: bool
    reason: str = ""


BackendEvent = (
    PlateStarted
    | PlateProgress
    | ObjectCancelled
    | PlatePaused
    | PlateResumed
    | OperatorNeeded
    | PlateFinished
    | PlateFailed
    | PlateCancelled
    | PrinterFault
    | LinkChanged
)
EventSink = Callable[[BackendEvent], None]


class BackendError(Exception):
    """A request the printer cannot carry out now; the message says why."""


class PrinterBackend(Protocol):
    """One printer. Methods raise BackendError when the request does not fit the
    printer's state (pause while idle, start while printing)."""

    def connect(self) -> None:
        """Open the link to the printer (returns at once; LinkChanged reports success)."""

    def start(self, program: Path, plate: PlateToRun) -> None:
        """Heat up and run the plate's program (a verified file in the spool)."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def cancel(self) -> None:
        """Stop the plate: the profile's cancel G-code (heaters off, park)."""

    def cancel_object(self, label: str) -> None:
        """Skip one object of the running plate (M486 / EXCLUDE_OBJECT)."""

    def set_temperatures(self, hotend_c: float, bed_c: float) -> None:
        """Preheat (or, with zeros, cool down) while no plate is running."""

    def status(self) -> BackendStatus: ...

    def close(self) -> None:
        """Release the printer; safe to call twice."""
