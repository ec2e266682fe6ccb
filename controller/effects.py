"""What follows a committed change: which statuses to publish, whether to re-plan.

Plain functions over a session and a lifecycle `Changes`, used by `Farm.apply` inside the
operation's transaction (statuses are read there, so they are exactly what was committed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session

from controller.db.tables import Job
from controller.lifecycle.jobs import job_status
from controller.lifecycle.states import PartState, PlateState
from controller.lifecycle.transitions import Changes
from protocol.messages.jobs import JobStatus

# State changes the controller's own pipeline makes (plan -> slice -> dispatch -> print):
# they follow a plan, so they need no new one.
_PIPELINE_STATES = frozenset(
    {
        PlateState.PLANNED,
        PlateState.SLICING,
        PlateState.SLICED,
        PlateState.DISPATCHED,
        PlateState.PRINTING,
        PartState.PLANNED,
        PartState.SLICED,
        PartState.DISPATCHED,
        PartState.PRINTING,
    }
)


@dataclass(frozen=True)
class ShopStatus:
    shop_id: str
    status: JobStatus


def job_statuses(session: Session, job_ids: Iterable[str]) -> list[ShopStatus]:
    """The current status of each job, with the shop whose topic carries it."""
    session.flush()
    result = []
    for job_id in sorted(job_ids):
        job = session.get(Job, job_id)
        if job is not None:
            result.append(ShopStatus(job.shop_id, job_status(session, job_id)))
    return result


def needs_replan(changes: Changes) -> bool:
    """True when the change is news to the scheduler: new or cancelled work, a failure,
    a freed or changed printer."""
    for event in changes.events:
        if event.entity_kind == "job" and event.from_state is None:
            return True
        if event.from_state == event.to_state:
            continue
        if event.entity_kind == "printer":
            return True
        if event.to_state not in _PIPELINE_STATES:
            return True
    return False
