"""The life cycles of jobs, parts, plates and printers: states and allowed transitions.

Each machine is an enum and a table `{from_state: {allowed to_states}}`; `transition()` in
`controller.lifecycle.transitions` is the only code that changes a state, and it checks these
tables. Jobs and printers use protocol's wire states as they are. Parts and plates have a few
finer states inside the controller (a part `sliced` or `dispatched`, a plate `slicing` or
`interrupted`); `wire_part_state` and `wire_plate_state` map them to protocol's.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from protocol.messages.printer import PrinterStatus
from protocol.states import JobState
from protocol.states import PartState as WirePartState
from protocol.states import PlateState as WirePlateState

__all__ = [
    "JOB_TRANSITIONS",
    "PART_TRANSITIONS",
    "PLATE_TRANSITIONS",
    "PRINTER_TRANSITIONS",
    "JobState",
    "PartState",
    "PlacementState",
    "PlateState",
    "PrinterStatus",
    "wire_part_state",
    "wire_plate_state",
]


class PartState(StrEnum):
    """One unit of a job's quantity, from the queue to printed (exactly once)."""

    QUEUED = "queued"
    PLANNED = "planned"  # on a plate that is not sliced yet
    SLICED = "sliced"  # on a sliced plate waiting for its printer
    DISPATCHED = "dispatched"  # its plate was sent to the agent
    PRINTING = "printing"
    PRINTED = "printed"
    # A failure is recorded as `failed` and the part goes straight back to `queued` with its
    # attempt counted; it stays `failed` only when it has used all its attempts.
    FAILED = "failed"
    CANCELLED = "cancelled"


class PlateState(StrEnum):
    """One build plate, from the plan until its bed is cleared."""

    PLANNED = "planned"
    SLICING = "slicing"
    SLICED = "sliced"
    DISPATCHED = "dispatched"  # claimed and sent; `acknowledged_at` once the agent has it
    PRINTING = "printing"
    FINISHED = "finished"  # printed; the printer waits for staff to clear the bed
    CLEARED = "cleared"  # the bed was cleared: the plate is done
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its printer stayed offline past the grace period
    CANCELLED = "cancelled"


class PlacementState(StrEnum):
    """How a part came out of one plate it was placed on (the `plate_parts` row)."""

    PLACED = "placed"
    PRINTED = "printed"
    PASSED = "passed"  # staff inspected and passed it
    FAILED = "failed"
    RETURNED = "returned"  # went back to the queue unprinted (plate cancelled, interrupted)
    CANCEL_REQUESTED = "cancel_requested"  # the agent was asked to skip this object
    CANCELLED = "cancelled"  # the agent confirmed it skipped it


_J = JobState
JOB_TRANSITIONS: Mapping[JobState, frozenset[JobState]] = {
    _J.RECEIVED: frozenset({_J.ACCEPTED, _J.REJECTED, _J.CANCELLED}),
    # a rejected submit may be fixed and sent again under the same client_ref
    _J.REJECTED: frozenset({_J.ACCEPTED}),
    _J.ACCEPTED: frozenset({_J.PLANNED, _J.PRINTING, _J.DONE, _J.FAILED, _J.CANCELLED}),
    _J.PLANNED: frozenset({_J.ACCEPTED, _J.PRINTING, _J.DONE, _J.FAILED, _J.CANCELLED}),
    _J.PRINTING: frozenset({_J.ACCEPTED, _J.PLANNED, _J.DONE, _J.FAILED, _J.CANCELLED}),
    # staff may fail a printed part after the job was reported done, or requeue a failed one
    _J.DONE: frozenset({_J.ACCEPTED, _J.PLANNED, _J.PRINTING}),
    _J.FAILED: frozenset({_J.ACCEPTED, _J.PLANNED, _J.PRINTING, _J.CANCELLED}),
    _J.CANCELLED: frozenset(),
}

_P = PartState
PART_TRANSITIONS: Mapping[PartState, frozenset[PartState]] = {
    # `printing`/`printed` straight from the queue: an interrupted plate turned out to be
    # printing all along (reclaimed), or staff passed a part of a failed plate
    _P.QUEUED: frozenset({_P.PLANNED, _P.PRINTING, _P.PRINTED, _P.CANCELLED}),
    # `failed` from planned: its plate could not be sliced
    _P.PLANNED: frozenset({_P.QUEUED, _P.SLICED, _P.PRINTING, _P.PRINTED, _P.FAILED, _P.CANCELLED}),
    _P.SLICED: frozenset({_P.QUEUED, _P.DISPATCHED, _P.PRINTED, _P.CANCELLED}),
    _P.DISPATCHED: frozenset({_P.QUEUED, _P.PRINTING, _P.PRINTED, _P.FAILED, _P.CANCELLED}),
    # `queued` from printing: its plate was cancelled or interrupted, not the part's fault
    _P.PRINTING: frozenset({_P.QUEUED, _P.PRINTED, _P.FAILED, _P.CANCELLED}),
    _P.PRINTED: frozenset({_P.FAILED}),
    _P.FAILED: frozenset({_P.QUEUED, _P.PRINTED, _P.CANCELLED}),
    _P.CANCELLED: frozenset({_P.QUEUED}),
}

_L = PlateState
PLATE_TRANSITIONS: Mapping[PlateState, frozenset[PlateState]] = {
    _L.PLANNED: frozenset({_L.SLICING, _L.CANCELLED}),
    _L.SLICING: frozenset({_L.SLICED, _L.PLANNED, _L.FAILED, _L.CANCELLED}),
    _L.SLICED: frozenset({_L.DISPATCHED, _L.CANCELLED}),
    _L.DISPATCHED: frozenset({_L.PRINTING, _L.FINISHED, _L.FAILED, _L.INTERRUPTED, _L.CANCELLED}),
    _L.PRINTING: frozenset({_L.FINISHED, _L.FAILED, _L.INTERRUPTED, _L.CANCELLED}),
    _L.FINISHED: frozenset({_L.CLEARED, _L.FAILED}),
    _L.CLEARED: frozenset({_L.FAILED}),
    _L.FAILED: frozenset(),
    # the agent kept printing through a long outage and reports the plate after all
    _L.INTERRUPTED: frozenset({_L.PRINTING, _L.FINISHED, _L.FAILED, _L.CANCELLED}),
    _L.CANCELLED: frozenset(),
}

_S = PrinterStatus
_ANY_PRINTER_STATE = frozenset(_S)
_ONLINE = frozenset(
    {
        _S.CONNECTING,
        _S.IDLE,
        _S.HEATING,
        _S.PRINTING,
        _S.PAUSED,
        _S.AWAITING_BED_CLEAR,
        _S.NEEDS_OPERATOR,
        _S.ERROR,
        _S.MAINTENANCE,
    }
)
# What an agent reports is a fact about the printer; the table still says which changes are
# expected, and an unexpected report is recorded as such in the event log.
PRINTER_TRANSITIONS: Mapping[PrinterStatus, frozenset[PrinterStatus]] = {
    _S.OFFLINE: _ONLINE,
    _S.CONNECTING: _ANY_PRINTER_STATE - {_S.CONNECTING},
    _S.IDLE: frozenset(
        {
            _S.HEATING,
            _S.PRINTING,
            _S.AWAITING_BED_CLEAR,
            _S.MAINTENANCE,
            _S.ERROR,
            _S.NEEDS_OPERATOR,
            _S.CONNECTING,
            _S.OFFLINE,
        }
    ),
    _S.HEATING: frozenset(
        {
            _S.IDLE,
            _S.PRINTING,
            _S.PAUSED,
            _S.AWAITING_BED_CLEAR,
            _S.ERROR,
            _S.NEEDS_OPERATOR,
            _S.CONNECTING,
            _S.OFFLINE,
        }
    ),
    _S.PRINTING: frozenset(
        {
            _S.HEATING,
            _S.PAUSED,
            _S.AWAITING_BED_CLEAR,
            _S.NEEDS_OPERATOR,
            _S.ERROR,
            _S.CONNECTING,
            _S.OFFLINE,
        }
    ),
    _S.PAUSED: frozenset(
        {
            _S.HEATING,
            _S.PRINTING,
            _S.AWAITING_BED_CLEAR,
            _S.NEEDS_OPERATOR,
            _S.ERROR,
            _S.CONNECTING,
            _S.OFFLINE,
        }
    ),
    _S.AWAITING_BED_CLEAR: frozenset(
        {_S.IDLE, _S.MAINTENANCE, _S.ERROR, _S.CONNECTING, _S.OFFLINE}
    ),
    _S.NEEDS_OPERATOR: frozenset(
        {
            _S.HEATING,
            _S.PRINTING,
            _S.PAUSED,
            _S.AWAITING_BED_CLEAR,
            _S.IDLE,
            _S.ERROR,
            _S.MAINTENANCE,
            _S.CONNECTING,
            _S.OFFLINE,
        }
    ),
    _S.ERROR: frozenset(
        {_S.IDLE, _S.AWAITING_BED_CLEAR, _S.MAINTENANCE, _S.CONNECTING, _S.OFFLINE}
    ),
    _S.MAINTENANCE: frozenset(
        {_S.IDLE, _S.AWAITING_BED_CLEAR, _S.ERROR, _S.CONNECTING, _S.OFFLINE}
    ),
}

# Parts not yet on a printer: a re-plan may move them, a cancel simply drops them.
PARTS_WAITING = frozenset({PartState.QUEUED, PartState.PLANNED, PartState.SLICED})
# Plates the scheduler must keep as they are (the program exists or is on its way).
LOCKED_PLATES = frozenset(
    {PlateState.SLICING, PlateState.SLICED, PlateState.DISPATCHED, PlateState.PRINTING}
)
# Plates physically on a printer, until staff clear the bed.
PLATES_ON_PRINTER = frozenset({PlateState.DISPATCHED, PlateState.PRINTING, PlateState.FINISHED})
FINAL_PLATE_STATES = frozenset({PlateState.CLEARED, PlateState.FAILED, PlateState.CANCELLED})
OPEN_JOB_STATES = frozenset({JobState.ACCEPTED, JobState.PLANNED, JobState.PRINTING})

_WIRE_PART: Mapping[PartState, WirePartState] = {
    _P.QUEUED: WirePartState.QUEUED,
    _P.PLANNED: WirePartState.PLANNED,
    _P.SLICED: WirePartState.PLANNED,
    _P.DISPATCHED: WirePartState.PLANNED,
    _P.PRINTING: WirePartState.PRINTING,
    _P.PRINTED: WirePartState.PRINTED,
    _P.FAILED: WirePartState.FAILED,
    _P.CANCELLED: WirePartState.CANCELLED,
}
_WIRE_PLATE: Mapping[PlateState, WirePlateState] = {
    _L.PLANNED: WirePlateState.PLANNED,
    _L.SLICING: WirePlateState.PLANNED,
    _L.SLICED: WirePlateState.SLICED,
    _L.DISPATCHED: WirePlateState.SENT,
    _L.PRINTING: WirePlateState.PRINTING,
    _L.FINISHED: WirePlateState.AWAITING_BED_CLEAR,
    _L.CLEARED: WirePlateState.DONE,
    _L.FAILED: WirePlateState.FAILED,
    _L.INTERRUPTED: WirePlateState.FAILED,
    _L.CANCELLED: WirePlateState.CANCELLED,
}


def wire_part_state(state: PartState | str) -> WirePartState:
    """The state protocol shows for a part in `state`."""
    return _WIRE_PART[PartState(state)]


def wire_plate_state(state: PlateState | str) -> WirePlateState:
    """The state protocol shows for a plate in `state`."""
    return _WIRE_PLATE[PlateState(state)]
