"""The life-cycle states of jobs, parts and plates as they appear on the wire.

The allowed transitions are the controller's to declare; this module names the states
so every part of the farm spells them the same way.
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """Where a job is. `rejected`, `done`, `failed` and `cancelled` are final."""

    RECEIVED = "received"  # stored, waiting for its mesh or for validation
    ACCEPTED = "accepted"  # validated: every part is queued for planning
    PLANNED = "planned"  # every open part is on a plate
    PRINTING = "printing"  # at least one part is printing or printed
    DONE = "done"  # every part printed
    REJECTED = "rejected"  # refused at submission; `reason` says why
    FAILED = "failed"  # cannot be completed; `reason` says why
    CANCELLED = "cancelled"  # withdrawn by the shop or by staff


FINAL_JOB_STATES = frozenset(
    {JobState.DONE, JobState.REJECTED, JobState.FAILED, JobState.CANCELLED}
)


class PartState(StrEnum):
    """One unit of a job's quantity. A failed part is requeued unless its job is failed."""

    QUEUED = "queued"
    PLANNED = "planned"  # placed on a plate that has not started
    PRINTING = "printing"
    PRINTED = "printed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PlateState(StrEnum):
    """One build plate, from planning until its bed is cleared."""

    PLANNED = "planned"
    SLICED = "sliced"
    SENT = "sent"  # G-code delivered to the agent
    PRINTING = "printing"
    AWAITING_BED_CLEAR = "awaiting_bed_clear"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_PLATE_STATES = frozenset({PlateState.DONE, PlateState.FAILED, PlateState.CANCELLED})
