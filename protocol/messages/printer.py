"""Messages an agent publishes about its printer: state, telemetry and events.

`PrinterState` is retained, and the agent's Last Will is a `PrinterState` saying
`offline` (`offline_will`). Receivers keep the newest state per printer with
`PrinterState.supersedes`: within one agent run, states are ordered by
(`connection`, `sequence`); a state from a different run always replaces the old one,
since one printer has one agent and a Pi's clock cannot be trusted across reboots.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocol.base import Message, register_message
from protocol.fields import (
    MAX_PARTS_PER_PLATE,
    MAX_SAFE_INT,
    Celsius,
    Colour,
    Count,
    Fraction,
    Id,
    Label,
    Line,
    Material,
    Millimetres,
    Percent,
    ProfileId,
    Seconds,
    Text,
    UtcDateTime,
)

# The will's sequence: higher than any state of its connection, lower than the next
# connection's first state (connection numbers order first).
WILL_SEQUENCE = MAX_SAFE_INT


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


class PrinterStatus(StrEnum):
    """What a printer is doing, as its agent sees it."""

    CONNECTING = "connecting"  # agent started, printer link not up yet
    IDLE = "idle"  # ready for the next plate
    HEATING = "heating"
    PRINTING = "printing"
    PAUSED = "paused"
    AWAITING_BED_CLEAR = "awaiting_bed_clear"  # plate done; staff must clear the bed
    NEEDS_OPERATOR = "needs_operator"  # filament out, jam, or a prompt on the printer
    ERROR = "error"
    MAINTENANCE = "maintenance"  # taken out of service by staff
    OFFLINE = "offline"  # the agent is gone (Last Will) or the printer is unreachable


class Heater(_Part):
    current_c: Celsius
    target_c: Celsius = Field(default=0.0, description="0 when the heater is off")


@register_message
class PrinterState(Message):
    """The current state of one printer (retained; QoS 1)."""

    direction = "agent -> all"
    type: Literal["printer.state"] = "printer.state"
    state: PrinterStatus
    profile_id: ProfileId | None = None
    material: Material | None = Field(default=None, description="material loaded, if known")
    colour: Colour | None = None
    plate_id: Id | None = Field(
        default=None, description="the plate printing or waiting on the bed"
    )
    progress: Fraction | None = None
    seconds_left: Seconds | None = None
    nozzle: Heater | None = None
    bed: Heater | None = None
    error: Line = ""
    agent_version: Label
    at: UtcDateTime
    run_id: Id = Field(description="random id of this agent process run")
    connection: int = Field(ge=1, le=MAX_SAFE_INT, description="broker connection number")
    sequence: int = Field(ge=0, le=MAX_SAFE_INT, description="monotonic within one run")

    def supersedes(self, other: PrinterState) -> bool:
        """True when this state is newer than `other` and should replace it."""
        if self.run_id != other.run_id:
            return True
        return (self.connection, self.sequence) > (other.connection, other.sequence)


def offline_will(
    *,
    agent_version: str,
    run_id: str,
    connection: int,
    at: datetime,
    profile_id: str | None = None,
    material: str | None = None,
    colour: str | None = None,
) -> PrinterState:
    """The Last Will an agent sets when it connects: its printer is offline.

    `connection` is the number of the connection being opened; the will's sequence sorts
    after every state of that connection and before the next connection's."""
    return PrinterState(
        state=PrinterStatus.OFFLINE,
        profile_id=profile_id,
        material=material,
        colour=colour,
        agent_version=agent_version,
        at=at,
        run_id=run_id,
        connection=connection,
        sequence=WILL_SEQUENCE,
        error="agent disconnected",
    )


class ToolTemperature(_Part):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,16}$", description="T0, T1, bed, chamber")
    current_c: Celsius
    target_c: Celsius = 0.0


class Position(_Part):
    x_mm: Millimetres
    y_mm: Millimetres
    z_mm: Millimetres
    e_mm: float | None = Field(default=None, ge=-1e9, le=1e9)


@register_message
class Telemetry(Message):
    """High-rate samples (QoS 0, not retained): the next sample replaces a lost one."""

    direction = "agent -> all"
    max_bytes = 8 * 1024
    type: Literal["printer.telemetry"] = "printer.telemetry"
    temperatures: tuple[ToolTemperature, ...] = Field(default=(), max_length=16)
    position: Position | None = None
    fan_percent: float | None = Field(default=None, ge=0.0, le=100.0)
    speed_percent: Percent | None = None
    flow_percent: Percent | None = None
    layer: Count | None = None
    at: UtcDateTime


class EventKind(StrEnum):
    """What happened. Events answering a command carry its `command_id`."""

    PLATE_RECEIVED = "plate_received"  # G-code stored and verified (answers run_plate)
    PLATE_REJECTED = "plate_rejected"  # G-code missing, hash mismatch or unsafe
    PLATE_STARTED = "plate_started"
    PROGRESS = "progress"
    PLATE_FINISHED = "plate_finished"
    PLATE_FAILED = "plate_failed"
    PLATE_CANCELLED = "plate_cancelled"
    PART_CANCELLED = "part_cancelled"
    PART_FAILED = "part_failed"  # the printer lost one object mid-plate; its neighbours go on
    PAUSED = "paused"
    RESUMED = "resumed"
    NEEDS_OPERATOR = "needs_operator"
    BED_CLEARED = "bed_cleared"  # confirmed on the printer itself
    ERROR = "error"
    COMMAND_ACCEPTED = "command_accepted"  # for commands without an event of their own
    COMMAND_REFUSED = "command_refused"  # `details` says why


_NEEDS_PLATE = frozenset(
    {
        EventKind.PLATE_RECEIVED,
        EventKind.PLATE_REJECTED,
        EventKind.PLATE_STARTED,
        EventKind.PROGRESS,
        EventKind.PLATE_FINISHED,
        EventKind.PLATE_FAILED,
        EventKind.PLATE_CANCELLED,
        EventKind.PART_CANCELLED,
        EventKind.PART_FAILED,
    }
)


@register_message
class PrinterEvent(Message):
    """Something that happened on a printer (QoS 1). `event_id` is unique per event, so the
    controller drops QoS 1 redeliveries and events replayed from the agent's disk queue."""

    direction = "agent -> controller"
    type: Literal["printer.event"] = "printer.event"
    event_id: Id
    kind: EventKind
    plate_id: Id | None = None
    command_id: Id | None = Field(default=None, description="the command this event answers")
    part_ids: tuple[Id, ...] = Field(
        default=(), max_length=MAX_PARTS_PER_PLATE, description="parts cancelled or failed"
    )
    progress: Fraction | None = None
    seconds_left: Seconds | None = None
    details: Text = ""
    at: UtcDateTime

    @model_validator(mode="after")
    def _carries_what_its_kind_needs(self) -> PrinterEvent:
        if self.kind in _NEEDS_PLATE and self.plate_id is None:
            raise ValueError(f"a {self.kind} event needs a plate_id")
        if self.kind in (EventKind.PART_CANCELLED, EventKind.PART_FAILED) and not self.part_ids:
            raise ValueError(f"a {self.kind} event needs its part_ids")
        if self.kind is EventKind.COMMAND_REFUSED and self.command_id is None:
            raise ValueError("a command_refused event needs the command_id it refuses")
        return self
