"""The life cycle of jobs, parts, plates and printers, as plain functions over a Session.

Every state change goes through `transition()` (checked against the tables in
`controller.lifecycle.states`) and appends to the event log in the same transaction. Each
operation works inside the caller's transaction and returns what changed; the caller commits,
then publishes. For the service:

    from controller.db import unit_of_work
    from controller import lifecycle as lc

    with unit_of_work(engine) as session:               # one transaction per operation
        outcome = lc.accept_job(session, shop_id, submit, estimate=lc.PartEstimate(s, g))
    publish(lc.job_status(...))                           # for each id in outcome.changes.jobs

- intake: `record_mesh`, `receive_job`, `accept_job`, `reject_job`, `cancel_job`,
  `find_job`, `job_status` (a protocol `JobStatus`).
- fleet: `upsert_site`, `register_printer`, `record_printer_state` (retained PrinterState
  and the Last Will; stale reports ignored), `expired_grace_deadlines` + `interrupt_printer`
  / `interrupt_plate` (the offline timer), `printers_ready_for_dispatch` (the bed-clear gate).
- planning: `record_plan` (the scheduler's output; `controller.plan_instance` builds its
  input from the same tables).
- slicing: `mark_plate_slicing`, `mark_plate_sliced`, `mark_plate_slice_failed`.
- dispatch: `claim_plate_for_dispatch` (returns a `Dispatch` to send, or None).
- agents: `apply_printer_event` (de-duplicated by event id).
- staff: `apply_staff_command` (accepted/refused + reason; de-duplicated by command id).
- start-up: `recover` (what was in flight).

Operations return a `Changes` (or an outcome holding one): `changes.jobs` are the jobs whose
status to publish, `changes.requests` the `AgentRequest`s (cancel_part, cancel_plate, pause,
resume, set_maintenance) to send as protocol commands after the commit. A refused operation
raises `LifecycleError` (its `reason` is written for a person) and changes nothing.

Two controllers applying the same agent event or staff command at once: the second commit
fails on the processed-message ledger's primary key (IntegrityError); roll back and treat
the message as already applied. An accepted `staff.bed_cleared` is forwarded to the agent by
the service (`cmd.bed_cleared` naming `last_cleared_plate`); a printer state that still
shows a bed staff have cleared asks for it again (a `BED_CLEARED` request: the controller
may have died before forwarding it).
"""

from controller.lifecycle.jobs import (
    MAX_ATTEMPTS,
    JobOutcome,
    PartEstimate,
    accept_job,
    cancel_job,
    find_job,
    job_status,
    receive_job,
    reject_job,
)
from controller.lifecycle.meshes import MeshFacts, get_mesh, record_mesh
from controller.lifecycle.plans import PlanOutcome, record_plan
from controller.lifecycle.plates import (
    Dispatch,
    claim_plate_for_dispatch,
    mark_plate_slice_failed,
    mark_plate_sliced,
    mark_plate_slicing,
    placements,
)
from controller.lifecycle.printer_events import EventOutcome, apply_printer_event
from controller.lifecycle.printers import (
    DEFAULT_GRACE_SECONDS,
    expired_grace_deadlines,
    interrupt_plate,
    interrupt_printer,
    printer_offline,
    printer_online,
    printers_ready_for_dispatch,
    record_printer_state,
    register_printer,
    set_maintenance,
    upsert_site,
)
from controller.lifecycle.recovery import Recovery, dispatch_of, recover
from controller.lifecycle.staff import StaffOutcome, apply_staff_command, last_cleared_plate
from controller.lifecycle.states import JobState, PartState, PlacementState, PlateState
from controller.lifecycle.transitions import (
    AgentAction,
    AgentRequest,
    Changes,
    LifecycleError,
    NotFound,
    TransitionRefused,
    transition,
)

__all__ = [
    "DEFAULT_GRACE_SECONDS",
    "MAX_ATTEMPTS",
    "AgentAction",
    "AgentRequest",
    "Changes",
    "Dispatch",
    "EventOutcome",
    "JobOutcome",
    "JobState",
    "LifecycleError",
    "MeshFacts",
    "NotFound",
    "PartEstimate",
    "PartState",
    "PlacementState",
    "PlanOutcome",
    "PlateState",
    "Recovery",
    "StaffOutcome",
    "TransitionRefused",
    "accept_job",
    "apply_printer_event",
    "apply_staff_command",
    "cancel_job",
    "claim_plate_for_dispatch",
    "dispatch_of",
    "expired_grace_deadlines",
    "find_job",
    "get_mesh",
    "interrupt_plate",
    "interrupt_printer",
    "job_status",
    "last_cleared_plate",
    "mark_plate_slice_failed",
    "mark_plate_sliced",
    "mark_plate_slicing",
    "placements",
    "printer_offline",
    "printer_online",
    "printers_ready_for_dispatch",
    "receive_job",
    "record_mesh",
    "record_plan",
    "record_printer_state",
    "recover",
    "register_printer",
    "reject_job",
    "set_maintenance",
    "transition",
    "upsert_site",
]
