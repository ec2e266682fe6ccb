"""Jobs from shops: receive, accept (creating one part per unit), reject, cancel, status.

A job is named by the shop's `client_ref`: submitting the same (shop, client_ref) again
returns the same job, whatever state it is in (a rejected one is re-evaluated, since the
shop may have fixed what was wrong). A job's state after acceptance follows its parts
(`refresh_job_state`): all printed -> done, one out of attempts -> failed, any printing or
printed -> printing, every open part on a plate -> planned, else accepted.

    outcome = accept_job(session, "acme", submit, estimate=PartEstimate(1800, 12.5))
    session.commit()
    publish(job_status(session, outcome.job.id))
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, func, select

from controller.db.tables import Job, Mesh, Part, Plate, Shop
from controller.db.types import utcnow
from controller.lifecycle.states import (
    OPEN_JOB_STATES,
    PARTS_WAITING,
    JobState,
    PartState,
)
from controller.lifecycle.transitions import Changes, LifecycleError
from protocol.errors import RejectionCode, truncate
from protocol.messages.jobs import JobStatus, JobSubmit, PartCounts

# A part that failed this many times is not retried automatically; staff may requeue it.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class PartEstimate:
    """What one part costs on a typical printer (from slicing.estimate_part)."""

    print_seconds: float
    filament_g: float


@dataclass
class JobOutcome:
    """The job an operation found or made, whether it was new, and what changed."""

    job: Job
    created: bool
    changes: Changes = field(default_factory=Changes)


def new_job_id() -> str:
    """A fresh job id in protocol's id grammar ('j' and 15 hex digits)."""
    return "j" + uuid.uuid4().hex[:15]


def part_id(job_id: str, index: int) -> str:
    """The id of the `index`-th (1-based) part of a job."""
    return f"{job_id}-{index:04d}"


def ensure_shop(session: Session, shop_id: str, *, name: str = "") -> Shop:
    """The shop row, created on first sight (provisioning may have made it already)."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        shop = Shop(id=shop_id, name=name or shop_id)
        session.add(shop)
        session.flush()
    return shop


def find_job(session: Session, shop_id: str, client_ref: str) -> Job | None:
    """The job a shop submitted under `client_ref`, if any."""
    query = select(Job).where(Job.shop_id == shop_id, Job.client_ref == client_ref)
    return session.exec(query).first()


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise LifecycleError(f"there is no job {job_id!r}", code=RejectionCode.UNKNOWN_JOB)
    return job


def receive_job(
    session: Session,
    shop_id: str,
    submit: JobSubmit,
    *,
    actor: str = "controller",
    now: datetime | None = None,
) -> JobOutcome:
    """Record a submit before it is validated (state `received`); same client_ref, same job."""
    existing = find_job(session, shop_id, submit.client_ref)
    if existing is not None:
        return JobOutcome(existing, created=False)
    at = now or utcnow()
    ensure_shop(session, shop_id)
    job = _new_job(shop_id, submit, at)
    changes = Changes()
    session.add(job)
    changes.created(session, job, actor=actor, details={"client_ref": submit.client_ref}, now=at)
    session.flush()
    return JobOutcome(job, created=True, changes=changes)


def accept_job(
    session: Session,
    shop_id: str,
    submit: JobSubmit,
    *,
    estimate: PartEstimate | None = None,
    actor: str = "controller",
    now: datetime | None = None,
) -> JobOutcome:
    """Accept a validated submit: the job and one queued part per unit, in this transaction.

    Idempotent by (shop, client_ref): an accepted (or later) job is returned unchanged;
    a received or rejected one is (re-)accepted with this submit's fields."""
    at = now or utcnow()
    if session.get(Mesh, submit.mesh_sha256) is None:
        raise LifecycleError(
            f"mesh {submit.mesh_sha256} was not stored; store it before "
            "accepting a job that uses it",
            code=RejectionCode.MESH_MISSING,
        )
    outcome = receive_job(session, shop_id, submit, actor=actor, now=at)
    job, changes = outcome.job, outcome.changes
    if job.state not in (JobState.RECEIVED, JobState.REJECTED):
        return outcome
    _apply_submit(job, submit)
    job.reason = None
    job.reason_code = None
    changes.move(
        session, job, JobState.ACCEPTED, actor=actor, now=at, details={"quantity": submit.quantity}
    )
    _create_parts(session, job, estimate or PartEstimate(0.0, 0.0), changes, actor, at)
    session.flush()
    return JobOutcome(job, created=outcome.created, changes=changes)


def reject_job(
    session: Session,
    shop_id: str,
    submit: JobSubmit,
    *,
    reason: str,
    code: RejectionCode | str = RejectionCode.INVALID_MESSAGE,
    actor: str = "controller",
    now: datetime | None = None,
) -> JobOutcome:
    """Refuse a submit with a reason a person can act on. A job already accepted under this
    client_ref is left as it is and returned (the resubmit is the same job)."""
    at = now or utcnow()
    outcome = receive_job(session, shop_id, submit, actor=actor, now=at)
    job, changes = outcome.job, outcome.changes
    if job.state == JobState.REJECTED:
        job.reason, job.reason_code = truncate(reason, 1000), str(code)
        job.updated_at = at
        changes.note(
            session,
            job,
            kind="job.rejected_again",
            actor=actor,
            now=at,
            details={"reason": job.reason, "code": job.reason_code},
        )
        return outcome
    if job.state != JobState.RECEIVED:
        return outcome
    _apply_submit(job, submit)
    job.reason = truncate(reason, 1000)
    job.reason_code = str(code)
    changes.move(
        session,
        job,
        JobState.REJECTED,
        actor=actor,
        now=at,
        details={"reason": job.reason, "code": job.reason_code},
    )
    session.flush()
    return JobOutcome(job, created=outcome.created, changes=changes)


def cancel_job(
    session: Session, job_id: str, *, actor: str, reason: str = "", now: datetime | None = None
) -> Changes:
    """Withdraw a job: waiting parts are dropped (their plates re-planned), printing parts get
    a cancel_part request for their printer. Printed parts stay printed."""
    from controller.lifecycle.plate_rules import cancel_part_on_plate

    at = now or utcnow()
    job = get_job(session, job_id)
    changes = Changes()
    if job.state in (JobState.DONE, JobState.CANCELLED, JobState.REJECTED):
        raise LifecycleError(
            f"job {job_id} is {job.state} and can no longer be cancelled",
            code=RejectionCode.JOB_FINISHED,
        )
    for part in _parts(session, job.id):
        if part.state in (PartState.PRINTED, PartState.CANCELLED):
            continue
        cancel_part_on_plate(session, part, changes, actor=actor, reason=reason, now=at)
    job.reason = truncate(reason or f"cancelled by {actor}", 1000)
    changes.move(
        session, job, JobState.CANCELLED, actor=actor, now=at, details={"reason": job.reason}
    )
    session.flush()
    return changes


def refresh_job_state(
    session: Session, job_id: str, changes: Changes, *, actor: str, now: datetime | None = None
) -> None:
    """Bring an open (or done/failed) job's state in line with its parts."""
    job = get_job(session, job_id)
    if job.state not in OPEN_JOB_STATES | {JobState.DONE, JobState.FAILED}:
        return
    session.flush()
    counts = part_counts(session, job.id)
    target, reason = _derived_state(job, counts)
    if target == job.state:
        return
    job.reason = reason
    changes.move(
        session, job, target, actor=actor, now=now, details={"parts": dict(sorted(counts.items()))}
    )


def _derived_state(job: Job, counts: Counter[str]) -> tuple[JobState, str | None]:
    live = sum(counts.values()) - counts[PartState.CANCELLED]
    if live > 0 and counts[PartState.PRINTED] == live:
        return JobState.DONE, None
    if counts[PartState.FAILED]:
        return JobState.FAILED, (
            f"{counts[PartState.FAILED]} part(s) failed {MAX_ATTEMPTS} "
            "times; staff can requeue them after checking the printer"
        )
    if counts[PartState.PRINTING] or counts[PartState.PRINTED]:
        return JobState.PRINTING, None
    if counts[PartState.QUEUED] == 0 and live > 0:
        return JobState.PLANNED, None
    return JobState.ACCEPTED, None


def job_status(session: Session, job_id: str, *, now: datetime | None = None) -> JobStatus:
    """The protocol status of a job as stored now (what the shop's status topic carries)."""
    job = get_job(session, job_id)
    counts = part_counts(session, job.id)
    parts = PartCounts(
        queued=sum(counts[state] for state in PARTS_WAITING) + counts[PartState.DISPATCHED],
        printing=counts[PartState.PRINTING],
        printed=counts[PartState.PRINTED],
        failed=counts[PartState.FAILED],
        cancelled=counts[PartState.CANCELLED],
    )
    reason = job.reason or ""
    if job.state in (JobState.REJECTED, JobState.FAILED) and not reason:
        reason = f"job {job.state}"
    return JobStatus(
        job_id=job.id,
        client_ref=job.client_ref,
        state=JobState(job.state),
        reason=truncate(reason, 500),
        code=_rejection_code(job.reason_code),
        parts=parts,
        updated_at=job.updated_at,
        estimated_completion=_estimated_completion(session, job),
    )


def part_counts(session: Session, job_id: str) -> Counter[str]:
    """How many of the job's parts are in each state (one grouped query)."""
    query = select(Part.state, func.count()).where(Part.job_id == job_id).group_by(col(Part.state))
    return Counter({state: count for state, count in session.exec(query)})


def _estimated_completion(session: Session, job: Job) -> datetime | None:
    if job.state not in OPEN_JOB_STATES:
        return None
    waiting = session.exec(
        select(func.count())
        .select_from(Part)
        .where(Part.job_id == job.id, Part.state == PartState.QUEUED)
    ).one()
    if waiting:
        return None
    query = (
        select(func.max(Plate.planned_end))
        .join(Part, col(Part.plate_id) == Plate.id)
        .where(Part.job_id == job.id)
    )
    value = session.exec(query).one()
    return value if isinstance(value, datetime) else None


def _rejection_code(value: str | None) -> RejectionCode | None:
    if value is None:
        return None
    try:
        return RejectionCode(value)
    except ValueError:
        return None


def _parts(session: Session, job_id: str) -> list[Part]:
    return list(session.exec(select(Part).where(Part.job_id == job_id).order_by(col(Part.index))))


def _new_job(shop_id: str, submit: JobSubmit, at: datetime) -> Job:
    job = Job(
        id=new_job_id(),
        shop_id=shop_id,
        client_ref=submit.client_ref,
        mesh_sha256=submit.mesh_sha256,
        mesh_format=submit.mesh_format.value,
        material=submit.material,
        colour=submit.colour,
        quantity=submit.quantity,
        ship_lat=submit.ship_to.lat,
        ship_lon=submit.ship_to.lon,
        state=JobState.RECEIVED.value,
        created_at=at,
        updated_at=at,
    )
    _apply_submit(job, submit)
    return job


def _apply_submit(job: Job, submit: JobSubmit) -> None:
    job.mesh_sha256 = submit.mesh_sha256
    job.mesh_format = submit.mesh_format.value
    job.material = submit.material
    job.colour = submit.colour
    job.quantity = submit.quantity
    job.ship_lat = submit.ship_to.lat
    job.ship_lon = submit.ship_to.lon
    job.due = submit.due
    job.priority = submit.priority.value
    job.quality = submit.quality.value
    job.scale = submit.scale
    job.notes = submit.notes


def _create_parts(
    session: Session, job: Job, estimate: PartEstimate, changes: Changes, actor: str, at: datetime
) -> None:
    for index in range(1, job.quantity + 1):
        part = Part(
            id=part_id(job.id, index),
            job_id=job.id,
            index=index,
            state=PartState.QUEUED.value,
            print_seconds_estimate=estimate.print_seconds,
            filament_g=estimate.filament_g,
        )
        session.add(part)
        changes.created(session, part, actor=actor, now=at)
