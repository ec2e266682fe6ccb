"""Commands the controller sends to one printer's agent on its `cmd` topic (QoS 1).

`PrinterCommand` is a union discriminated by `type`. Every command has a `command_id`;
the agent answers with a `PrinterEvent` carrying it: the event that shows the command
done (`plate_received`, `paused`, `resumed`, `plate_cancelled`, `part_cancelled`),
`command_accepted` for commands without such an event, or `command_refused` /
`plate_rejected` with the reason in `details`.

A plate's G-code is not inside `cmd.run_plate`: it is published, gzip'd, to
`sites/{site}/printers/{printer}/gcode/{sha256}` (QoS 1, not retained) just before the
command, which names it by `gcode_sha256` and sizes. An agent that gets the command
without the matching blob answers `plate_rejected`, and the controller sends both again.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from protocol.base import Message, register_message
from protocol.blobs import MAX_GCODE_BYTES, MAX_GCODE_GZIP_BYTES
from protocol.fields import (
    MAX_PARTS_PER_PLATE,
    Colour,
    Id,
    Label,
    Line,
    Material,
    ProfileId,
    Seconds,
    Sha256,
    UtcDateTime,
)


class _Command(Message):
    direction = "controller -> agent"
    command_id: Id
    issued_at: UtcDateTime


class PlatePart(BaseModel):
    """One part on a plate and the object label its G-code gives it (M486 / EXCLUDE_OBJECT)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    part_id: Id
    label: Label


@register_message
class RunPlate(_Command):
    """Print a plate whose G-code was just published to the printer's gcode topic."""

    max_bytes = 256 * 1024
    type: Literal["cmd.run_plate"] = "cmd.run_plate"
    plate_id: Id
    profile_id: ProfileId = Field(description="the profile the plate was sliced for")
    gcode_sha256: Sha256 = Field(description="sha256 of the gzip'd payload")
    gcode_gzip_bytes: int = Field(ge=1, le=MAX_GCODE_GZIP_BYTES)
    gcode_bytes: int = Field(ge=1, le=MAX_GCODE_BYTES, description="size after gunzip")
    parts: tuple[PlatePart, ...] = Field(min_length=1, max_length=MAX_PARTS_PER_PLATE)
    material: Material
    colour: Colour
    estimated_seconds: Seconds


@register_message
class Pause(_Command):
    type: Literal["cmd.pause"] = "cmd.pause"


@register_message
class Resume(_Command):
    type: Literal["cmd.resume"] = "cmd.resume"


@register_message
class CancelPlate(_Command):
    type: Literal["cmd.cancel_plate"] = "cmd.cancel_plate"
    plate_id: Id
    reason: Line = ""


@register_message
class CancelPart(_Command):
    """Stop printing one labelled object of the running plate; its neighbours go on."""

    type: Literal["cmd.cancel_part"] = "cmd.cancel_part"
    plate_id: Id
    part_id: Id
    reason: Line = ""


@register_message
class Preheat(_Command):
    """Heat nozzle and bed to the profile's temperatures for `material`."""

    type: Literal["cmd.preheat"] = "cmd.preheat"
    material: Material


@register_message
class Cooldown(_Command):
    type: Literal["cmd.cooldown"] = "cmd.cooldown"


@register_message
class SetMaintenance(_Command):
    """Take the printer out of service (`on`) or put it back."""

    type: Literal["cmd.set_maintenance"] = "cmd.set_maintenance"
    on: bool
    reason: Line = ""


@register_message
class BedCleared(_Command):
    """Staff confirmed the bed empty (forwarded from `staff.bed_cleared`): the agent may
    start its next plate. Until then it refuses `cmd.run_plate` (defence in depth)."""

    type: Literal["cmd.bed_cleared"] = "cmd.bed_cleared"
    plate_id: Id | None = Field(default=None, description="the plate that was taken off the bed")
    staff_user: Label | None = None


PrinterCommand = Annotated[
    RunPlate
    | Pause
    | Resume
    | CancelPlate
    | CancelPart
    | Preheat
    | Cooldown
    | SetMaintenance
    | BedCleared,
    Field(discriminator="type"),
]
PRINTER_COMMANDS: tuple[type[Message], ...] = (
    RunPlate,
    Pause,
    Resume,
    CancelPlate,
    CancelPart,
    Preheat,
    Cooldown,
    SetMaintenance,
    BedCleared,
)
