"""The one function that changes a state, and what an operation hands back to the service.

`transition(session, entity, to_state, actor=..., ...)` checks the entity's transition table
(`controller.lifecycle.states`), sets the new state and appends an `Event` in the same
session; a refused transition raises `TransitionRefused` and changes nothing. `note()` logs
something that happened without a state change (a spool loaded, a duplicate event).

Domain operations collect their events, the jobs whose status changed and the commands the
agents must get in a `Changes`, which they return: the service commits, then publishes job
statuses for `changes.jobs` and sends `changes.requests`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from controller.db.tables import Event, Job, Part, Plate, Printer
from controller.db.types import utcnow
from controller.lifecycle.states import (
    JOB_TRANSITIONS,
    PART_TRANSITIONS,
    PLATE_TRANSITIONS,
    PRINTER_TRANSITIONS,
    JobState,
    PartState,
    PlateState,
    PrinterStatus,
)

Entity = Job | Part | Plate | Printer


@dataclass(frozen=True)
class _Machine:
    kind: str
    states: type[StrEnum]
    table: Mapping[Any, frozenset[Any]]


_MACHINES: dict[type, _Machine] = {
    Job: _Machine("job", JobState, JOB_TRANSITIONS),
    Part: _Machine("part", PartState, PART_TRANSITIONS),
    Plate: _Machine("plate", PlateState, PLATE_TRANSITIONS),
    Printer: _Machine("printer", PrinterStatus, PRINTER_TRANSITIONS),
}


class LifecycleError(Exception):
    """An operation the farm's rules do not allow; `reason` is written for a person."""

    def __init__(self, reason: str, code: str = "refused") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TransitionRefused(LifecycleError):
    """The state machine has no such transition; nothing was changed."""

    def __init__(self, kind: str, entity_id: str, from_state: str, to_state: str) -> None:
        allowed = (
            ", ".join(
                sorted(_MACHINES_BY_KIND[kind].table[_MACHINES_BY_KIND[kind].states(from_state)])
            )
            or "nothing (final)"
        )
        super().__init__(
            f"{kind} {entity_id} is {from_state} and cannot become {to_state} "
            f"(from {from_state} it may become: {allowed})",
            code="transition_refused",
        )
        self.kind = kind
        self.entity_id = entity_id
        self.from_state = from_state
        self.to_state = to_state


class NotFound(LifecycleError):
    def __init__(self, kind: str, entity_id: str) -> None:
        super().__init__(f"there is no {kind} {entity_id!r}", code="not_found")


_MACHINES_BY_KIND = {machine.kind: machine for machine in _MACHINES.values()}


def machine_kind(entity: Entity) -> str:
    """'job', 'part', 'plate' or 'printer'."""
    return _MACHINES[type(entity)].kind


def can_transition(entity: Entity, to_state: str) -> bool:
    """Whether the entity's table allows going from its current state to `to_state`."""
    machine = _MACHINES[type(entity)]
    return machine.states(to_state) in machine.table[machine.states(entity.state)]


def transition(
    session: Session,
    entity: Entity,
    to_state: str,
    *,
    actor: str,
    kind: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Event:
    """Move `entity` to `to_state` if its table allows it; append and return the event.

    Raises TransitionRefused (nothing changed, no event) otherwise. The caller commits."""
    machine = _MACHINES[type(entity)]
    from_state = machine.states(entity.state)
    target = machine.states(to_state)
    if target not in machine.table[from_state]:
        raise TransitionRefused(machine.kind, entity.id, from_state.value, target.value)
    at = now or utcnow()
    entity.state = target.value
    _touch(entity, at)
    session.add(entity)
    return _append(
        session,
        machine.kind,
        entity.id,
        from_state.value,
        target.value,
        kind=kind or f"{machine.kind}.{target.value}",
        actor=actor,
        details=details,
        at=at,
    )


def note(
    session: Session,
    entity: Entity,
    *,
    kind: str,
    actor: str,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Event:
    """Append an event about `entity` that does not change its state."""
    machine = _MACHINES[type(entity)]
    return _append(
        session,
        machine.kind,
        entity.id,
        entity.state,
        entity.state,
        kind=kind,
        actor=actor,
        details=details,
        at=now or utcnow(),
    )


def record_creation(
    session: Session,
    entity: Entity,
    *,
    actor: str,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Event:
    """Append the first event of a new entity (no from_state)."""
    machine = _MACHINES[type(entity)]
    return _append(
        session,
        machine.kind,
        entity.id,
        None,
        machine.states(entity.state).value,
        kind=f"{machine.kind}.created",
        actor=actor,
        details=details,
        at=now or utcnow(),
    )


def _append(
    session: Session,
    entity_kind: str,
    entity_id: str,
    from_state: str | None,
    to_state: str,
    *,
    kind: str,
    actor: str,
    details: dict[str, Any] | None,
    at: datetime,
) -> Event:
    """The one place an event row is written to the append-only log."""
    event = Event(
        at=at,
        entity_kind=entity_kind,
        entity_id=entity_id,
        from_state=from_state,
        to_state=to_state,
        kind=kind,
        details=details or {},
        actor=actor,
    )
    session.add(event)
    return event


def _touch(entity: Entity, at: datetime) -> None:
    if isinstance(entity, Job | Plate):
        entity.updated_at = at
    if isinstance(entity, Plate):
        entity.version += 1


class AgentAction(StrEnum):
    """What the service must tell an agent after an operation (protocol's `cmd.*`)."""

    CANCEL_PLATE = "cancel_plate"
    CANCEL_PART = "cancel_part"
    PAUSE = "pause"
    RESUME = "resume"
    SET_MAINTENANCE = "set_maintenance"
    BED_CLEARED = "bed_cleared"  # staff took `plate_id` off the bed


@dataclass(frozen=True)
class AgentRequest:
    """One command for one printer's agent; the service turns it into a PrinterCommand."""

    action: AgentAction
    site_id: str
    printer_id: str
    plate_id: str | None = None
    part_id: str | None = None
    object_label: str | None = None
    on: bool | None = None  # for SET_MAINTENANCE
    reason: str = ""


@dataclass
class Changes:
    """What one operation did: events written, jobs/plates/printers touched, agent commands."""

    events: list[Event] = field(default_factory=list)
    jobs: set[str] = field(default_factory=set)
    plates: set[str] = field(default_factory=set)
    printers: set[str] = field(default_factory=set)
    requests: list[AgentRequest] = field(default_factory=list)

    def move(
        self,
        session: Session,
        entity: Entity,
        to_state: str,
        *,
        actor: str,
        kind: str | None = None,
        details: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> Event:
        """`transition()` and remember what it touched."""
        event = transition(
            session, entity, to_state, actor=actor, kind=kind, details=details, now=now
        )
        self._touched(entity)
        self.events.append(event)
        return event

    def note(
        self,
        session: Session,
        entity: Entity,
        *,
        kind: str,
        actor: str,
        details: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> Event:
        event = note(session, entity, kind=kind, actor=actor, details=details, now=now)
        self._touched(entity)
        self.events.append(event)
        return event

    def created(
        self,
        session: Session,
        entity: Entity,
        *,
        actor: str,
        details: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> Event:
        event = record_creation(session, entity, actor=actor, details=details, now=now)
        self._touched(entity)
        self.events.append(event)
        return event

    def merge(self, other: Changes) -> None:
        self.events.extend(other.events)
        self.jobs |= other.jobs
        self.plates |= other.plates
        self.printers |= other.printers
        self.requests.extend(other.requests)

    def _touched(self, entity: Entity) -> None:
        if isinstance(entity, Job):
            self.jobs.add(entity.id)
        elif isinstance(entity, Part):
            self.jobs.add(entity.job_id)
        elif isinstance(entity, Plate):
            self.plates.add(entity.id)
        else:
            self.printers.add(entity.id)
