"""Staff actions from the TUI to the controller (`sites/{site}/staff/cmd`) and the replies.

`StaffCommand` is a union discriminated by `type` (`staff.bed_cleared`, ...). Each carries
a `command_id` and the `staff_user` who acted; the controller answers every one on
`sites/{site}/staff/replies` with a `StaffReply` (accepted, or refused with a reason), so
the TUI can show whether the action took effect. The site is the one in the topic.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from protocol.base import Message, register_message
from protocol.fields import MAX_PARTS_PER_PLATE, Colour, Id, Label, Line, Material, UtcDateTime

PartIds = Annotated[tuple[Id, ...], Field(min_length=1, max_length=MAX_PARTS_PER_PLATE)]


class _StaffAction(Message):
    direction = "staff (TUI) -> controller"
    command_id: Id
    staff_user: Label
    issued_at: UtcDateTime


@register_message
class StaffBedCleared(_StaffAction):
    """The printer's bed is empty and clean: it may start its next plate."""

    type: Literal["staff.bed_cleared"] = "staff.bed_cleared"
    printer_id: Id


@register_message
class StaffSpoolLoaded(_StaffAction):
    type: Literal["staff.spool_loaded"] = "staff.spool_loaded"
    printer_id: Id
    material: Material
    colour: Colour
    grams: int | None = Field(default=None, ge=0, le=100_000, description="filament on the spool")


@register_message
class StaffPartFailed(_StaffAction):
    """Parts of a finished plate failed inspection: they go back in the queue."""

    type: Literal["staff.part_failed"] = "staff.part_failed"
    plate_id: Id
    part_ids: PartIds
    reason: Line = ""


@register_message
class StaffPartPassed(_StaffAction):
    type: Literal["staff.part_passed"] = "staff.part_passed"
    plate_id: Id
    part_ids: PartIds


@register_message
class StaffPlateFailed(_StaffAction):
    """The whole plate failed: every part on it goes back in the queue."""

    type: Literal["staff.plate_failed"] = "staff.plate_failed"
    plate_id: Id
    reason: Line = ""


@register_message
class StaffPlatePassed(_StaffAction):
    type: Literal["staff.plate_passed"] = "staff.plate_passed"
    plate_id: Id


@register_message
class StaffRequeue(_StaffAction):
    """Put a job's failed or cancelled parts, or the given parts, back in the queue."""

    type: Literal["staff.requeue"] = "staff.requeue"
    job_id: Id | None = None
    part_ids: tuple[Id, ...] = Field(default=(), max_length=MAX_PARTS_PER_PLATE)

    @model_validator(mode="after")
    def _names_a_job_or_parts(self) -> StaffRequeue:
        if (self.job_id is None) == (not self.part_ids):
            raise ValueError("a requeue names either a job_id or part_ids, not both or neither")
        return self


@register_message
class StaffCancelJob(_StaffAction):
    type: Literal["staff.cancel_job"] = "staff.cancel_job"
    job_id: Id
    reason: Line = ""


@register_message
class StaffCancelPlate(_StaffAction):
    type: Literal["staff.cancel_plate"] = "staff.cancel_plate"
    plate_id: Id
    reason: Line = ""


@register_message
class StaffCancelPart(_StaffAction):
    type: Literal["staff.cancel_part"] = "staff.cancel_part"
    plate_id: Id
    part_id: Id
    reason: Line = ""


@register_message
class StaffPause(_StaffAction):
    type: Literal["staff.pause"] = "staff.pause"
    printer_id: Id


@register_message
class StaffResume(_StaffAction):
    type: Literal["staff.resume"] = "staff.resume"
    printer_id: Id


@register_message
class StaffMaintenanceOn(_StaffAction):
    type: Literal["staff.maintenance_on"] = "staff.maintenance_on"
    printer_id: Id
    reason: Line = ""


@register_message
class StaffMaintenanceOff(_StaffAction):
    type: Literal["staff.maintenance_off"] = "staff.maintenance_off"
    printer_id: Id


StaffCommand = Annotated[
    StaffBedCleared
    | StaffSpoolLoaded
    | StaffPartFailed
    | StaffPartPassed
    | StaffPlateFailed
    | StaffPlatePassed
    | StaffRequeue
    | StaffCancelJob
    | StaffCancelPlate
    | StaffCancelPart
    | StaffPause
    | StaffResume
    | StaffMaintenanceOn
    | StaffMaintenanceOff,
    Field(discriminator="type"),
]
STAFF_COMMANDS: tuple[type[Message], ...] = (
    StaffBedCleared,
    StaffSpoolLoaded,
    StaffPartFailed,
    StaffPartPassed,
    StaffPlateFailed,
    StaffPlatePassed,
    StaffRequeue,
    StaffCancelJob,
    StaffCancelPlate,
    StaffCancelPart,
    StaffPause,
    StaffResume,
    StaffMaintenanceOn,
    StaffMaintenanceOff,
)


@register_message
class StaffReply(Message):
    """The controller's answer to one staff command."""

    direction = "controller -> staff (TUI)"
    type: Literal["staff.reply"] = "staff.reply"
    command_id: Id
    action: str = Field(pattern=r"^staff\.[a-z_]{1,40}$", description="the command's type")
    staff_user: Label
    accepted: bool
    reason: Line = Field(default="", description="why it was refused, or what it did")
    at: UtcDateTime

    @model_validator(mode="after")
    def _refusals_say_why(self) -> StaffReply:
        if not self.accepted and not self.reason:
            raise ValueError("a refused staff command needs a reason")
        return self
